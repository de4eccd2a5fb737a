"""Per-request bookkeeping: a request id in the logs and in ``X-Request-ID``, a latency
histogram, and the optional access log (``GONG_ACCESS_LOG``).

:class:`Observed` wraps everything served by the framework (API, pages); the lean handlers
(``/robot/send``, ``/robot/sendBySession``, ``/events``) keep their own ids and metrics, and
:class:`AccessLogged` adds the access log line to them when it is on — when it is off they run
unwrapped, so the robot API's hot path pays nothing for it.

The access log records the path without its query string: query strings carry secrets
(``access_token``, ``sign``, ``session``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gong.logs import new_request_id, request_id
from gong.metrics import Metrics
from gong.web.hooks.robot_api import Receive, Scope, Send

__all__ = ["AccessLogged", "Observed", "log_access", "offered_request_id"]

access = logging.getLogger("gong.access")

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The status logged when the client left before an answer was started (as nginx logs it).
CLIENT_CLOSED = 499


def log_access(scope: Scope, status: int, seconds: float) -> None:
    """One access log line: method, path (never the query string), status and time."""
    method: str = scope["method"]
    path: str = scope["path"]
    access.info(
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        seconds * 1000,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        },
    )


def offered_request_id(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return bytes(value)
    return None


class Observed:
    """Wraps an ASGI app with request ids, timing and (optionally) the access log."""

    def __init__(self, app: Any, metrics: Metrics, *, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(offered_request_id(scope))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path: str = scope["path"]
            route = "api" if path.startswith("/api/") else "page"
            self.metrics.request_seconds.labels(route).observe(seconds)
            if self.access_log:
                log_access(scope, status, seconds)
            request_id.reset(token)


class AccessLogged:
    """Wraps a lean handler with the access log line, under the request id it answered with."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = CLIENT_CLOSED
        rid: str | None = None

        async def send_seen(message: MutableMapping[str, Any]) -> None:
            nonlocal status, rid
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        rid = bytes(value).decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            token = request_id.set(rid) if rid is not None else None
            try:
                log_access(scope, status, time.perf_counter() - started)
            finally:
                if token is not None:
                    request_id.reset(token)
