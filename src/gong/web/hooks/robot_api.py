"""``POST /robot/send?access_token=…``: DingTalk's custom-robot API, served by a lean ASGI handler.

This is the hot path, so it skips the framework: no routing, no dependency injection, no request
object; it reads the scope, the query string and the body itself and answers with precomputed
bytes. The checks run in DingTalk's order (see ``gong.protocol.errors``); every refusal of a known
robot is recorded with its reason. The answer ``{"errcode":0,"errmsg":"ok"}`` is sent only after
the message is committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from gong.domain.admission import admit
from gong.domain.models import RobotKind, RobotView
from gong.domain.ports import BackendUnavailable
from gong.domain.sending import send_custom
from gong.logs import new_request_id, request_id
from gong.protocol.errors import Errors, RobotError, render, render_ok
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.web.hooks.clientip import ClientIP
from gong.web.hooks.deadline import BodyTimeout, Deadlines

__all__ = [
    "INTEGRATION_STATUS",
    "BodyTooLarge",
    "ClientGone",
    "KindHandler",
    "RobotSend",
    "integration_status",
    "read_body",
    "send_json",
]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: How much of a refused oversized body is read and dropped before answering.
MAX_DRAIN = 16 * 1024 * 1024

_JSON_HEADERS = [(b"content-type", b"application/json")]
_WANTED = frozenset(("access_token", "timestamp", "sign"))
_WANTED_BYTES = frozenset(k.encode() for k in _WANTED)

#: HTTP status of a refusal answered to an integration sender; senders such as GitHub and GitLab
#: show a delivery as failed only when the status is not 2xx. The JSON envelope stays the same.
INTEGRATION_STATUS = {
    "payload_invalid": 400,
    "source_signature": 403,
    "ip": 403,
    "robot_disabled": 403,
    "group_dissolved": 410,
    "body_timeout": 408,
    "rate_limited": 429,
    "system_busy": 503,
}

#: A robot kind's reader of ``/robot/send``: (view, scope, receive, params, ip) → response body.
KindHandler = Callable[[RobotView, Scope, Receive, dict[str, str], str], Awaitable[bytes]]


def integration_status(error: RobotError) -> int:
    """The HTTP status an integration robot answers ``error`` with."""
    return INTEGRATION_STATUS.get(error.error.name, 400)


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


async def send_json(
    send: Send,
    body: bytes,
    status: int = 200,
    request_id: str | None = None,
    *,
    close: bool = False,
) -> None:
    """The answer; ``close`` ends the connection after it (the body was not read to its end)."""
    headers = [*_JSON_HEADERS, (b"content-length", b"%d" % len(body))]
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, budget: int = MAX_DRAIN) -> None:
    """Read and drop the rest of a refused body, so the client sees the answer (closing on a
    client that is still sending makes its TCP stack discard our answer)."""
    while budget > 0:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
        budget -= len(message.get("body", b""))


async def read_body(
    receive: Receive, limit: int, declared: int | None, deadlines: Deadlines
) -> bytes:
    """The whole request body; past ``limit`` bytes it is drained and refused.

    Raises:
        RobotError: ``body_timeout``, the body did not arrive within ``deadlines.seconds``.
    """
    try:
        with deadlines.reading():
            if declared is not None and declared > limit:
                await _drain(receive)
                raise BodyTooLarge
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                more = message.get("more_body", False)
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        if more:
                            await _drain(receive)
                        raise BodyTooLarge
                    chunks.append(chunk)
                if not more:
                    break
    except BodyTimeout:
        raise RobotError(Errors.BODY_TIMEOUT) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def query_params(query_string: bytes) -> dict[str, str]:
    """``access_token``, ``timestamp`` and ``sign``, decoded once; the last of repeats wins.

    Only the three wanted keys are decoded, so a query string with thousands of other
    parameters costs a split, not thousands of decodes.
    """
    found: dict[str, str] = {}
    if not query_string:
        return found
    for pair in query_string.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key in _WANTED_BYTES:
            found[key.decode()] = _decode(value)
        elif b"%" in key or b"+" in key:
            name = _decode(key)
            if name in _WANTED:
                found[name] = _decode(value)
    return found


def _decode(value: bytes) -> str:
    """A query value decoded once, as a form: ``+`` is a space, ``%XX`` a byte, then UTF-8."""
    if b"+" in value:
        value = value.replace(b"+", b" ")
    if b"%" in value:
        value = unquote_to_bytes(value)
    return value.decode("utf-8", "replace")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def is_json(content_type: bytes | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


class RobotSend:
    """The ASGI handler of ``/robot/send``."""

    def __init__(self, runtime: Runtime, deadlines: Deadlines | None = None) -> None:
        self.runtime = runtime
        #: The body-read deadline, shared with the integration handlers.
        self.deadlines = deadlines or Deadlines(runtime.settings.body_timeout)
        self.directory = runtime.directory
        self.hub = runtime.hub
        self.clock = runtime.clock
        self.dialect = runtime.settings.errmsg_dialect
        self.client_ip = ClientIP(runtime.settings.trusted_proxies)
        self.metrics = runtime.metrics
        #: Body readers for integration kinds, keyed by kind (see gong.web.hooks.integrations).
        self.kinds: dict[RobotKind, KindHandler] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        rid = new_request_id(_header(scope, b"x-request-id"))
        token = request_id.set(rid)
        status, errcode, reason, close = 200, 0, "ok", False
        try:
            if scope["method"] == "HEAD" and await self._integration_head(scope):
                await send_json(send, b"", request_id=rid)
                return
            body = await self._handle(scope, receive)
        except RobotError as error:
            body = render(error, self.dialect)
            status, errcode, reason = error.status, error.errcode(self.dialect), error.error.name
            close = error.error is Errors.BODY_TIMEOUT
        except ClientGone:
            return
        except BackendUnavailable as exc:
            log.warning("robot send answered 系统繁忙: %s", exc)
            body = render(RobotError(Errors.SYSTEM_BUSY), self.dialect)
            errcode, reason = Errors.SYSTEM_BUSY.code, "backend_unavailable"
        except Exception:
            log.exception("robot send failed")
            body = render(RobotError(Errors.SYSTEM_BUSY), self.dialect)
            errcode, reason = Errors.SYSTEM_BUSY.code, "internal"
        finally:
            request_id.reset(token)
        await send_json(send, body, status, rid, close=close)
        self.metrics.robot_call(errcode, reason, time.perf_counter() - started)

    async def _integration_head(self, scope: Scope) -> bool:
        """True for ``HEAD`` on an integration robot's URL (Trello checks it before registering)."""
        token = query_params(scope["query_string"]).get("access_token")
        view = await self.directory.get(token) if token else None
        return view is not None and view.robot.kind in self.kinds

    async def _handle(self, scope: Scope, receive: Receive) -> bytes:
        if scope["method"] != "POST":
            raise RobotError(Errors.NOT_POST)
        params = query_params(scope["query_string"])
        token = params.get("access_token")
        if not token:
            raise RobotError(Errors.TOKEN_MISSING)
        view = await self.directory.get(token)
        if view is None:
            unknown = RobotError(Errors.TOKEN_UNKNOWN)
            await self.hub.refuse_unknown_token(token, self.client_ip(scope), unknown)
            raise unknown
        ip = self.client_ip(scope)
        kind = self.kinds.get(view.robot.kind)
        try:
            admit(view.group, view.robot)
            if kind is not None:
                return await kind(view, scope, receive, params, ip)
            return await self._custom(view, scope, receive, params, ip)
        except RobotError as error:
            self.hub.refuse(
                view, error, ip, timestamp=params.get("timestamp"), sign=params.get("sign")
            )
            if kind is not None:
                error.status = integration_status(error)
            raise
        except ClientGone:
            raise
        except Exception:
            if kind is None:
                raise
            log.exception("%s robot %d failed", view.robot.kind, view.robot.id)
            busy = RobotError(Errors.SYSTEM_BUSY)
            busy.status = integration_status(busy)
            raise busy from None

    async def _custom(
        self, view: RobotView, scope: Scope, receive: Receive, params: dict[str, str], ip: str
    ) -> bytes:
        content_type = declared = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                declared = int(value) if value.isdigit() else None
        try:
            raw = await read_body(receive, MAX_BODY_BYTES, declared, self.deadlines)
        except BodyTooLarge:
            raise RobotError(Errors.TOO_LARGE) from None
        if not is_json(content_type):
            raise RobotError(Errors.BAD_CONTENT_TYPE)
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise RobotError(Errors.JSON_MISSING) from None
        message = parse_message(decoded)
        await send_custom(
            self.hub,
            view,
            message,
            raw.decode("utf-8"),
            ip=ip,
            timestamp=params.get("timestamp"),
            signature=params.get("sign"),
        )
        return render_ok()
