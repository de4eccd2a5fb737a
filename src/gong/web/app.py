"""The Gong ASGI application: ``/robot/send`` on a lean handler, everything else on FastAPI."""

from __future__ import annotations

import gc
import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match

import gong
from gong.clock import Clock
from gong.config import Settings
from gong.domain.errors import GongError
from gong.domain.ports import Broker, Limiter
from gong.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gong.runtime import Runtime
from gong.storage.changefeed import ChangeFeed
from gong.web.api.deps import NotAuthenticated
from gong.web.api.previews import router as previews_router
from gong.web.api.routes import router as api_router
from gong.web.errors import error_response as _error
from gong.web.hooks.deadline import BodyDeadline, Deadlines
from gong.web.hooks.integrations import register_integrations
from gong.web.hooks.robot_api import Receive, RobotSend, Scope, Send
from gong.web.hooks.session_api import SessionSend
from gong.web.live.events import EventStream
from gong.web.notifications import Notifications, open_notifications
from gong.web.observe import AccessLogged, ASGIApp, Observed
from gong.web.pages import install as install_pages
from gong.web.site import Web, open_web

__all__ = ["GongApp", "create_app"]

log = logging.getLogger(__name__)


def build_api() -> FastAPI:
    api = FastAPI(
        title="Gong",
        version=gong.__version__,
        summary="Self-hosted group robots, wire-compatible with DingTalk's custom robot.",
        description=(
            "Management API. Authenticate with `Authorization: Bearer <admin token>`. "
            "The robot API (`POST /robot/send?access_token=…`) follows DingTalk's protocol "
            "and is documented in docs/robot-api.md."
        ),
        docs_url="/api/docs",
        redoc_url=None,
    )
    # Pages, scripts, styles and API answers go compressed to clients that accept it (a page of
    # 30 messages, the app's script and its styles shrink to about a fifth). The robot API and
    # the live feed are served by lean handlers before this app and are never compressed.
    api.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)

    @api.exception_handler(GongError)
    async def _gong_error(_request: Request, exc: GongError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @api.exception_handler(NotAuthenticated)
    async def _unauthenticated(_request: Request, _exc: NotAuthenticated) -> JSONResponse:
        return _error(401, "unauthorized", "a valid admin token is required (Bearer)")

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _error(422, "invalid", f"{where}: {first['msg']}", details=details)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            408: "request_timeout",
        }.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # One path may have several routes (one per method): allow all of them.
            headers["Allow"] = ", ".join(sorted(_methods_for(api, request.scope)))
        return _error(exc.status_code, code, str(exc.detail), headers=headers)

    @api.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return _error(500, "internal", "internal error; see the server log")

    @api.get("/healthz", tags=["operations"], include_in_schema=True)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @api.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (see gong.metrics for the list)."""
        runtime: Runtime = request.app.state.runtime
        return Response(await runtime.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    @api.get(
        "/readyz",
        tags=["operations"],
        responses={503: {"description": "The database or Redis cannot be reached"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """The database (and Redis, when configured) answer: route traffic here."""
        runtime: Runtime = request.app.state.runtime
        checks = await runtime.readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **checks},
            status_code=200 if ready else 503,
        )

    api.include_router(api_router)
    api.include_router(previews_router)
    return api


def _methods_for(api: FastAPI, scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in api.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        route_methods = getattr(route, "methods", None)
        if match is not Match.NONE and route_methods:
            methods |= set(route_methods)
    return methods


class GongApp:
    """The ASGI app. Owns the runtime's lifecycle (ASGI lifespan, or ``startup``/``shutdown``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        limiter: Limiter | None = None,
        broker: Broker | None = None,
    ) -> None:
        self.settings = settings
        self._overrides: dict[str, Any] = {"clock": clock, "limiter": limiter, "broker": broker}
        self.api = build_api()
        install_pages(self.api)
        self._runtime: Runtime | None = None
        self._robot_send: RobotSend | None = None
        self._session_send: SessionSend | None = None
        self._feed: ChangeFeed | None = None
        self._events: EventStream | None = None
        self._framework: Observed | None = None
        #: The lean handlers by path (``/robot/send``, …), wrapped with the access log if it is on.
        self._lean: dict[str, ASGIApp] = {}
        self.web: Web | None = None
        #: The notifier and Web Push (started with the server).
        self.notifications: Notifications | None = None
        #: The admin token created at this start, if one was (shown once, never stored).
        self.new_admin_token: str | None = None
        #: Move what startup built out of the collector's sight (``gc.freeze``): it lives as
        #: long as the process. Set by the server entry point, not for apps built in tests.
        self.freeze_after_startup = False

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("Gong has not started")
        return self._runtime

    async def startup(self) -> None:
        runtime = await Runtime.open(self.settings, **self._overrides)
        self._runtime = runtime
        self.api.state.runtime = runtime
        # One body-read deadline (one timer) for every endpoint that reads a body.
        deadlines = Deadlines(self.settings.body_timeout)
        self._robot_send = RobotSend(runtime, deadlines)
        self._session_send = SessionSend(runtime, deadlines)
        if runtime.redis is None and self._overrides["broker"] is None:
            # No shared broker: publish what other processes (the CLI) store.
            self._feed = ChangeFeed(runtime.engine, runtime.broker, clock=runtime.clock)
            runtime.hub.on_stored = self._feed.stored_here
            await self._feed.start()
        register_integrations(self._robot_send, runtime)
        self.web = await open_web(runtime)
        self.api.state.web = self.web
        self.notifications = await open_notifications(self.web)
        self.api.state.notifications = self.notifications
        self._events = EventStream(self.web)
        self._framework = Observed(
            BodyDeadline(self.api, deadlines), runtime.metrics, access_log=self.settings.access_log
        )
        lean: dict[str, ASGIApp] = {
            "/robot/send": self._robot_send,
            "/robot/sendBySession": self._session_send,
            "/events": self._events,
        }
        if self.settings.access_log:
            lean = {path: AccessLogged(handler) for path, handler in lean.items()}
        self._lean = lean
        self.new_admin_token = await runtime.tokens.first()
        if self.new_admin_token:
            print(f"Gong admin token (shown once): {self.new_admin_token}", flush=True)
        if self.freeze_after_startup:
            gc.collect()
            gc.freeze()

    async def shutdown(self) -> None:
        if self.notifications is not None:
            await self.notifications.stop()
            self.notifications = None
        if self._feed is not None:
            await self._feed.stop()
            self._feed = None
        if self.web is not None:
            self.web.stop()  # open event streams end now
            self.web.unwatch_signals()
        if self._runtime is not None:
            await self._runtime.close()
            self._runtime = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        lean = self._lean.get(scope["path"]) if kind == "http" else None
        if lean is not None:
            await lean(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif self._framework is not None:
            await self._framework(scope, receive, send)
        else:
            await self.api(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: MutableMapping[str, Any] = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                if self.web is not None:
                    self.web.watch_signals()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    limiter: Limiter | None = None,
    broker: Broker | None = None,
) -> GongApp:
    """Build the ASGI app; nothing starts until its lifespan (or ``startup()``) runs."""
    return GongApp(settings or Settings.load(), clock=clock, limiter=limiter, broker=broker)
