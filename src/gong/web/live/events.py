"""``GET /events``: the web app's live feed (Server-Sent Events), served by a lean ASGI handler.

One stream per open page carries the new messages of every group the signed-in user sees. Each
event is ``event: message``, ``id: <message id>``, ``data: <JSON with the rendered HTML>``.
A change to a shown message (an alert resolved, a repeat counted by the quiet window) is
``event: message_update`` with ``data: {"id", "group_id", "alert", "repeat", "html"}``, ``html``
being the message's new status (``_message_status.html``); a recalled message is
``event: message_recalled`` with ``data: {"id", "group_id"}`` (the page shows a placeholder in
its place). A message the account is to be told of (``gong.domain.notify``: an @ of them, or
a group they hear every message of) is ``event: notify`` with ``data: {"message_id",
"group_id", "group", "sender", "text", "reason", "url"}`` (the page raises a desktop
notification). None of these has an ``id:`` line, so the reader's resume point stays at the
newest message.

Resume without gaps or duplicates: the handler subscribes to the groups' channels *first*, then
sends the stored messages after ``Last-Event-ID`` (or ``?after=``, the newest id the page was
rendered with), then the live ones, skipping live events it already sent from the database.
More than :data:`MAX_BACKLOG` missed messages get a single ``event: reset`` (the page reloads).

A ``: ping`` comment goes out every ``sse_heartbeat_seconds`` so proxies keep the connection;
the stream ends when the reader leaves, when its subscription is dropped for falling behind
(the browser reconnects and resumes), or when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from jinja2 import Environment

from gong import i18n
from gong.domain.ports import Subscription
from gong.domain.service import group_channel, user_channel
from gong.web.hooks.robot_api import Receive, Scope, Send
from gong.web.notifications import NOTIFY_PREFIX
from gong.web.render import message_status
from gong.web.site import Web

__all__ = ["MAX_BACKLOG", "EventStream", "UpdateFrames"]

log = logging.getLogger(__name__)

#: The most missed messages a reconnecting reader is sent; past it, the page reloads.
MAX_BACKLOG = 500

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]
_RETRY = b"retry: 2000\n\n"
_PING = b": ping\n\n"
_RESET = b"event: reset\ndata: {}\n\n"


def _frame(message_id: int, data: bytes) -> bytes:
    return b"id: %d\nevent: message\ndata: %s\n\n" % (message_id, data)


class UpdateFrames:
    """Renders each ``message_update`` (and ``message_recalled``) event once per process into
    its SSE frame.

    Like :class:`gong.web.site.Frames` for new messages: every reader of a group gets the same
    published bytes, so the frame is cached by them.
    """

    def __init__(self, env: Environment, size: int = 256) -> None:
        self._template = env.get_template("_message_status.html")
        self._cache: OrderedDict[tuple[str, bytes], tuple[bytes, int | None] | None] = OrderedDict()
        self._size = size

    def render(self, event: dict[str, Any]) -> bytes:
        """The frame of a decoded ``message_update`` event."""
        message_id = int(event["id"])
        status = message_status(message_id, event.get("alert"), event.get("repeat", 1))
        payload = {
            "id": message_id,
            "group_id": int(event["group_id"]),
            "alert": event.get("alert"),
            "repeat": status.repeat,
            "html": self._template.render(s=status).strip(),
        }
        return b"event: message_update\ndata: %s\n\n" % orjson.dumps(payload)

    def from_event(self, event: bytes) -> tuple[bytes, int | None] | None:
        """``(frame, the only account that may read it or None)`` of a published
        ``message_update`` event; None for any other event."""
        key = (i18n.current(), event)
        try:
            found = self._cache[key]
        except KeyError:
            pass
        else:
            self._cache.move_to_end(key)
            return found
        try:
            decoded = orjson.loads(event)
            found = None
            if isinstance(decoded, dict) and decoded.get("type") == "message_update":
                only_for = decoded.get("visible_to_user_id")
                found = (self.render(decoded), int(only_for) if only_for is not None else None)
            elif isinstance(decoded, dict) and decoded.get("type") == "message_recalled":
                # Published on the channel of those who may read it (a note: its account's).
                recalled = {"id": int(decoded["id"]), "group_id": int(decoded["group_id"])}
                found = (b"event: message_recalled\ndata: %s\n\n" % orjson.dumps(recalled), None)
        except Exception as exc:  # one bad event must not end anybody's stream
            log.warning("could not render a live update: %s", exc)
            found = None
        self._cache[key] = found
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found


def _notify_frame(event: bytes, user_id: int) -> bytes | None:
    """``event: notify`` of a published notification for ``user_id`` (None: not theirs, or not
    readable). Each is for one account: rendered for its reader, never cached."""
    try:
        decoded = orjson.loads(event)
        if int(decoded["user_id"]) != user_id:
            return None
        keys = ("message_id", "group_id", "group", "sender", "text", "reason", "url")
        return b"event: notify\ndata: %s\n\n" % orjson.dumps({k: decoded[k] for k in keys})
    except Exception as exc:  # one bad event must not end anybody's stream
        log.warning("could not render a notification: %s", exc)
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _last_id(scope: Scope) -> int:
    """The newest id the reader has: ``Last-Event-ID`` or ``?after=``, whichever is larger."""
    found = 0
    for name, value in scope.get("headers", ()):
        if name == b"last-event-id" and value.isdigit() and len(value) < 19:
            found = int(value)
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
        if key == "after" and value.isdigit() and len(value) < 19:
            found = max(found, int(value))
    return found


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EventStream:
    """The ASGI handler of ``/events``."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self.broker = web.runtime.broker
        self.heartbeat = web.runtime.settings.sse_heartbeat_seconds
        self.updates = UpdateFrames(web.env)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            await _plain(send, 405, b'{"error":{"code":"method_not_allowed","message":"GET only"}}')
            return
        session = self.web.sessions.load_from_headers(scope.get("headers", []))
        user = await self.web.user_for(session)
        if user is None:
            await _plain(send, 401, b'{"error":{"code":"unauthorized","message":"sign in first"}}')
            return
        i18n.set_language(
            i18n.negotiate(
                user.preferences.language,
                accept_language=_header(scope, b"accept-language"),
                default=self.web.runtime.settings.default_language,
            )
        )
        group_ids = await self.web.inbox.group_ids_of(user)
        subscription = await self.broker.subscribe(
            *[group_channel(g) for g in group_ids], user_channel(user.id)
        )
        live = self.web.runtime.metrics.live_connections
        live.inc()
        try:
            await self._stream(scope, receive, send, group_ids, subscription, user.id)
        finally:
            live.dec()
            await subscription.close()

    async def _stream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        group_ids: list[int],
        subscription: Subscription,
        user_id: int,
    ) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        lock = asyncio.Lock()

        async def write(chunk: bytes) -> None:
            async with lock:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        await write(_RETRY)
        sent: set[int] = set()
        after = _last_id(scope)
        if after:
            backlog = await self.web.inbox.messages_after(
                group_ids, after, MAX_BACKLOG + 1, user_id
            )
            if len(backlog) > MAX_BACKLOG:
                await write(_RESET)
                await self._finish(send, lock)
                return
            for message in backlog:
                message_id, data = self.web.frames.data(message)
                await write(_frame(message_id, data))
                sent.add(message_id)
        pump = asyncio.ensure_future(self._pump(subscription, write, sent, user_id))
        incoming = asyncio.ensure_future(receive())
        stopping = self.web.stopping
        gone = False
        try:
            while True:
                waiting: set[asyncio.Future[Any]] = {pump, incoming, stopping}
                done, _ = await asyncio.wait(
                    waiting,
                    timeout=self.heartbeat,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not done:
                    await write(_PING)
                    continue
                if incoming in done:
                    if incoming.result()["type"] == "http.disconnect":
                        gone = True
                        break
                    incoming = asyncio.ensure_future(receive())
                    continue
                break  # the subscription ended, or the server is stopping
        finally:
            for task in (pump, incoming):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if not gone:
            await self._finish(send, lock)

    async def _pump(
        self,
        subscription: Subscription,
        write: Callable[[bytes], Awaitable[None]],
        sent: set[int],
        user_id: int,
    ) -> None:
        frames = self.web.frames
        events: AsyncIterator[bytes] = aiter(subscription)
        async for event in events:
            if event.startswith(NOTIFY_PREFIX):
                notify = _notify_frame(event, user_id)
                if notify is not None:
                    await write(notify)
                continue
            found = frames.from_event(event)
            if found is None:
                update = self.updates.from_event(event)
                if update is not None and update[1] in (None, user_id):
                    await write(update[0])
                continue
            message_id, data, only_for = found
            if only_for is not None and only_for != user_id:  # never another account's note
                continue
            if message_id in sent:  # already sent from the database on resume
                sent.discard(message_id)
                continue
            await write(_frame(message_id, data))

    @staticmethod
    async def _finish(send: Send, lock: asyncio.Lock) -> None:
        async with lock:
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
