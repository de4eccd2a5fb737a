"""The web app's running parts, built once at start from the :class:`~gong.runtime.Runtime`:
accounts, the inbox, sessions, the sign-in lockout, templates, and the signal that the server is
stopping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import orjson
from jinja2 import Environment

from gong import i18n
from gong.domain.errors import NotFound
from gong.domain.models import StoredMessage
from gong.domain.users import User
from gong.runtime import Runtime
from gong.storage.accounts import Accounts
from gong.storage.inbox import Inbox
from gong.web.auth.lockout import SignInLockout, open_lockout
from gong.web.auth.sessions import Session, Sessions
from gong.web.render import environment, message_view, preview

__all__ = ["SECURITY_HEADERS", "Frames", "Web", "open_web"]

log = logging.getLogger(__name__)

#: Sent with every page: no inline script or style, images from anywhere over http(s) only,
#: nothing may frame the app.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Frames:
    """Renders each message once per process into the JSON its live readers receive.

    Every open event stream of a group gets the same published bytes, so the rendered frame is
    cached by those bytes: a thousand readers cost one render.
    """

    def __init__(self, env: Environment, size: int = 512) -> None:
        self._template = env.get_template("_message.html")
        # Keyed by (language, event bytes): a frame is rendered once per language it is read in.
        self._cache: OrderedDict[tuple[str, bytes], tuple[int, bytes, int | None] | None] = (
            OrderedDict()
        )
        self._size = size

    def html(self, message: StoredMessage | dict[str, Any]) -> str:
        return self._template.render(m=message_view(message))

    def data(self, message: StoredMessage | dict[str, Any]) -> tuple[int, bytes]:
        """``(message id, JSON for the SSE data line)``."""
        view = message_view(message)
        payload = {
            "id": view.id,
            "group_id": view.group_id,
            "msgtype": view.msgtype,
            "sender": {
                "type": view.sender_type,
                "name": view.sender_name,
                "user_id": view.sender_user_id,
            },
            "created_at": view.created_at,
            "mentions": view.mentions,
            "at_all": view.at_all,
            "preview": preview(message),
            "html": self._template.render(m=view),
        }
        return view.id, orjson.dumps(payload)

    def from_event(self, event: bytes) -> tuple[int, bytes, int | None] | None:
        """``(message id, frame data, the only account that may read it or None)`` of a
        published event, or None for events readers do not need."""
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
            if decoded.get("type") == "message":
                only_for = decoded.get("visible_to_user_id")
                found = (*self.data(decoded), int(only_for) if only_for is not None else None)
        except Exception as exc:  # one bad event must not end anybody's stream
            log.warning("could not render a live event: %s", exc)
            found = None
        self._cache[key] = found
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found


@dataclass(slots=True)
class Web:
    runtime: Runtime
    accounts: Accounts
    inbox: Inbox
    sessions: Sessions
    lockout: SignInLockout
    env: Environment
    frames: Frames
    stopping: asyncio.Future[None]
    _restore: dict[int, Any] = field(default_factory=dict)

    async def user_for(self, session: Session | None) -> User | None:
        """The signed-in user of a session, if the session is still valid for them."""
        if session is None or session.user_id is None:
            return None
        try:
            user = await self.accounts.get_user(session.user_id)
        except NotFound:  # the account was deleted
            return None
        return user if self.sessions.valid_for(session, user) else None

    def stop(self) -> None:
        """Tell every open event stream to finish (the server is going down)."""
        if not self.stopping.done():
            self.stopping.set_result(None)

    def watch_signals(self) -> None:
        """End event streams as soon as the server is told to stop, not after its grace period.

        Servers wait for open responses before they shut the app down, and an event stream is
        open until its reader leaves; so chain onto SIGTERM/SIGINT (only from the main thread).
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(number: int, frame: FrameType | None, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.stop)
                previous(number, frame)

            self._restore[sig] = previous
            signal.signal(sig, handler)

    def unwatch_signals(self) -> None:
        for sig, previous in self._restore.items():
            with contextlib.suppress(ValueError):
                signal.signal(sig, previous)
        self._restore.clear()


async def open_web(runtime: Runtime) -> Web:
    """Build the web app's parts; the session key comes from settings or the database."""
    settings = runtime.settings
    accounts = Accounts(runtime.engine, runtime.clock)
    key = settings.secret_key or await accounts.secret("session_key")
    env = environment()
    return Web(
        runtime=runtime,
        accounts=accounts,
        inbox=Inbox(runtime.engine),
        sessions=Sessions(
            key,
            max_age_s=settings.session_days * 86_400,
            secure=settings.base_url.startswith("https://"),
        ),
        lockout=await open_lockout(runtime, accounts),
        env=env,
        frames=Frames(env),
        stopping=asyncio.get_running_loop().create_future(),
    )
