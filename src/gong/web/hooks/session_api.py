"""``POST /robot/sendBySession?session=…``: a robot answers a callback later, through the
sessionWebhook its callback carried (DingTalk's asynchronous reply).

Served by a lean ASGI handler like ``/robot/send``. The body is the same as ``/robot/send``'s;
there is no token, signature or keyword check (the session itself is the credential, valid for
90 minutes), but the robot's rate limit applies. Answers are DingTalk's envelope; an unknown or
expired session is ``{"errcode":300001,"errmsg":"session 不存在"}``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

import orjson

from gong.domain.admission import admit
from gong.domain.errors import NotFound
from gong.domain.models import RobotView
from gong.domain.ports import BackendUnavailable
from gong.protocol.errors import Errors, RobotError, render, render_ok
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.web.hooks.clientip import ClientIP
from gong.web.hooks.deadline import Deadlines
from gong.web.hooks.robot_api import (
    BodyTooLarge,
    ClientGone,
    Receive,
    Scope,
    Send,
    is_json,
    read_body,
    send_json,
)

__all__ = ["SessionSend"]

log = logging.getLogger(__name__)

_SESSION = re.compile(r"[0-9a-f]{32}")


def _session_of(query_string: bytes) -> str:
    for key, value in parse_qsl(query_string.decode("latin-1")):
        if key == "session":
            return value
    return ""


class SessionSend:
    """The ASGI handler of ``/robot/sendBySession``."""

    def __init__(self, runtime: Runtime, deadlines: Deadlines | None = None) -> None:
        self.runtime = runtime
        self.deadlines = deadlines or Deadlines(runtime.settings.body_timeout)
        self.dialect = runtime.settings.errmsg_dialect
        self.client_ip = ClientIP(runtime.settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        close = False
        try:
            body = await self._handle(scope, receive)
        except RobotError as error:
            body = render(error, self.dialect)
            close = error.error is Errors.BODY_TIMEOUT
        except ClientGone:
            return
        except BackendUnavailable as exc:
            log.warning("sendBySession answered 系统繁忙: %s", exc)
            body = render(RobotError(Errors.SYSTEM_BUSY), self.dialect)
        except Exception:
            log.exception("sendBySession failed")
            body = render(RobotError(Errors.SYSTEM_BUSY), self.dialect)
        await send_json(send, body, close=close)

    async def _view(self, session: str) -> RobotView:
        if not _SESSION.fullmatch(session):
            raise RobotError(Errors.SESSION_UNKNOWN)
        runtime = self.runtime
        found = await runtime.outgoing.find_session(session, runtime.clock.now_ms())
        if found is None:
            raise RobotError(Errors.SESSION_UNKNOWN)
        try:
            robot = await runtime.robots.get(found.robot_id)
        except NotFound:
            raise RobotError(Errors.SESSION_UNKNOWN) from None
        view = await runtime.directory.get(robot.access_token)
        if view is None:
            raise RobotError(Errors.SESSION_UNKNOWN)
        return view

    async def _handle(self, scope: Scope, receive: Receive) -> bytes:
        if scope["method"] != "POST":
            raise RobotError(Errors.NOT_POST)
        content_type = declared = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                declared = int(value) if value.isdigit() else None
        try:
            raw = await read_body(receive, MAX_BODY_BYTES, declared, self.deadlines)
        except BodyTooLarge:
            raw = None
        view = await self._view(_session_of(scope["query_string"]))
        try:
            admit(view.group, view.robot)
            if raw is None:
                raise RobotError(Errors.TOO_LARGE)
            if not is_json(content_type):
                raise RobotError(Errors.BAD_CONTENT_TYPE)
            try:
                decoded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise RobotError(Errors.JSON_MISSING) from None
            message = parse_message(decoded)
            await self.runtime.hub.accept_from_robot(view, message, raw.decode("utf-8"))
        except RobotError as error:
            self.runtime.hub.refuse(view, error, self.client_ip(scope))
            raise
        return render_ok()
