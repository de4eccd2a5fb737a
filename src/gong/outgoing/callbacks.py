"""Calling outgoing robots: when a person's message @-mentions a robot that has an outgoing URL,
POST DingTalk's callback JSON to it and post what it answers into the group as the robot.

Each callback runs in the background (the person's post is answered at once). An attempt has
``outgoing_timeout_seconds`` (5 s); network errors, timeouts and HTTP 5xx are retried with
exponential backoff, at most ``outgoing_attempts`` (3) attempts in all; HTTP 3xx/4xx, a refused
target and a malformed answer are final. Every callback is recorded (robot, message, attempts,
outcome, HTTP status, error, duration); a failure also posts a note into the conversation that
only the sender sees. The answer goes through the hub as the robot's own message: the robot's
rate limit applies, it is stored durably, relayed if the robot relays, and appears live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import httpx
import orjson

from gong.clock import Clock
from gong.config import Settings
from gong.domain.mentions import resolve
from gong.domain.models import OutgoingCall, Robot, RobotSession
from gong.domain.posting import PersonPost
from gong.domain.service import Hub
from gong.outgoing.guard import Guard, GuardedTransport, TargetRefused
from gong.protocol.errors import RobotError
from gong.protocol.limits import MAX_OUTGOING_ANSWER
from gong.protocol.messages import Message
from gong.protocol.outgoing import (
    SESSION_TTL_MS,
    AnswerInvalid,
    OpaqueIds,
    callback_body,
    callback_headers,
    parse_answer,
    strip_mention,
)
from gong.redact import redact
from gong.storage.directory import Directory
from gong.storage.outgoing import OutgoingStore

__all__ = ["Callbacks"]

log = logging.getLogger(__name__)


class _Final(Exception):
    """An attempt failed in a way a retry will not fix."""

    def __init__(self, error: str, http_status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.http_status = http_status


class _Retry(Exception):
    """An attempt failed in a way a retry may fix (network, timeout, HTTP 5xx)."""

    def __init__(self, error: str, http_status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.http_status = http_status


class Callbacks:
    """The outgoing callbacks of one process (started by the runtime)."""

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        hub: Hub,
        directory: Directory,
        store: OutgoingStore,
        key: Callable[[], Awaitable[str]],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.hub = hub
        self.directory = directory
        self.store = store
        self.guard = Guard(settings)
        self._key = key
        self._ids: OpaqueIds | None = None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[OutgoingCall | None]] = set()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport or GuardedTransport(self.guard),
                follow_redirects=False,
                trust_env=False,
                timeout=self.settings.outgoing_timeout_seconds,
            )
        return self._client

    async def ids(self) -> OpaqueIds:
        if self._ids is None:
            self._ids = OpaqueIds((await self._key()).encode())
        return self._ids

    def start(
        self, post: PersonPost, robots: list[Robot]
    ) -> list[asyncio.Task[OutgoingCall | None]]:
        """Call back, in the background, each of ``robots`` that is enabled and has an
        outgoing URL; returns the tasks (each ends with the call's record)."""
        started: list[asyncio.Task[OutgoingCall | None]] = []
        for robot in robots:
            if not robot.enabled or robot.outgoing is None:
                continue
            task = asyncio.create_task(self._run(robot, post), name=f"gong-outgoing-{robot.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    async def idle(self, limit_s: float = 30.0) -> None:
        """Wait until every callback started so far has ended (tests, the CLI)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=limit_s)

    async def close(self, grace: float = 2.0) -> None:
        """Let running callbacks finish for ``grace`` seconds, then cancel the rest."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self, robot: Robot, post: PersonPost) -> OutgoingCall | None:
        try:
            return await self._call(robot, post)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outgoing callback of robot %d failed unexpectedly", robot.id)
            return None

    async def _call(self, robot: Robot, post: PersonPost) -> OutgoingCall:
        outgoing = robot.outgoing
        assert outgoing is not None
        started = time.monotonic()
        ids = await self.ids()
        session = RobotSession(
            session=secrets.token_hex(16),
            robot_id=robot.id,
            group_id=post.group.id,
            message_id=post.message_id,
            created_at=post.created_at,
            expires_at=post.created_at + SESSION_TTL_MS,
        )
        await self.store.create_session(session)
        body = orjson.dumps(self._body(robot, post, ids, session))
        attempts = 0
        http_status: int | None = None
        error = ""
        state = "failed"
        answer_id: int | None = None
        while True:
            attempts += 1
            try:
                http_status, raw = await self._attempt(outgoing.url, outgoing.token, robot, body)
                message, payload = parse_answer(raw)
            except _Retry as exc:
                http_status, error = exc.http_status, exc.error
                if attempts < self.settings.outgoing_attempts:
                    await asyncio.sleep(
                        self.settings.outgoing_backoff_seconds * 2 ** (attempts - 1)
                    )
                    continue
                error = f"{error} ({attempts} attempts)"
            except _Final as exc:
                http_status, error = exc.http_status, exc.error
            except AnswerInvalid as exc:
                error = str(exc)
            else:
                error = ""  # an earlier attempt's failure was retried away
                if message is None:
                    state = "no_answer"
                else:
                    try:
                        answer_id = await self._post_answer(robot, message, payload)
                        state = "answered"
                    except _Final as exc:
                        error = exc.error
                    except RobotError as exc:
                        dialect = self.hub.dialect
                        error = (
                            f"the answer was refused: {exc.errcode(dialect)} {exc.errmsg(dialect)}"
                        )
            break
        # The error is stored, logged and shown to the sender: never a URL's token in it.
        error = redact(error)
        duration = int((time.monotonic() - started) * 1000)
        call = await self.store.record_call(
            robot_id=robot.id,
            group_id=post.group.id,
            message_id=post.message_id,
            sender_user_id=post.user.id,
            state=state,
            attempts=attempts,
            http_status=http_status,
            error=error,
            duration_ms=duration,
            answer_message_id=answer_id,
            created_at=post.created_at,
        )
        if state == "failed":
            log.warning("outgoing callback of robot %d failed: %s", robot.id, error)
            await self.hub.post_system_note(
                post.group.id,
                f"{robot.name} did not answer: {error}",
                visible_to_user_id=post.user.id,
            )
        return call

    def _body(
        self, robot: Robot, post: PersonPost, ids: OpaqueIds, session: RobotSession
    ) -> dict[str, object]:
        resolved = resolve(
            post.message,
            {m.mobile: m for m in post.members if m.mobile},
            {m.user_id: m for m in post.members if m.user_id},
        )
        by_id = {m.id: m for m in post.members}
        at_users: list[dict[str, str]] = [{"dingtalkId": ids.robot(robot.id)}]
        for mention in resolved.mentions:
            entry = {"dingtalkId": ids.member(mention.member_id)}
            member = by_id.get(mention.member_id)
            if member is not None and member.user_id:
                entry["staffId"] = member.user_id
            at_users.append(entry)
        return callback_body(
            content=strip_mention(post.message.body_text(), robot.name),
            msg_id=ids.message(post.message_id),
            create_at=post.created_at,
            conversation_id=ids.conversation(post.group.id),
            conversation_title=post.group.name,
            sender_id=ids.user(post.user.id),
            sender_nick=post.member.name if post.member is not None else post.user.username,
            sender_staff_id=(post.member.user_id or "") if post.member is not None else "",
            chatbot_user_id=ids.robot(robot.id),
            at_users=at_users,
            is_admin=post.user.is_admin,
            session_webhook=(
                f"{self.settings.base_url}/robot/sendBySession?session={session.session}"
            ),
            session_expires_at=session.expires_at,
        )

    async def _attempt(self, url: str, token: str, robot: Robot, body: bytes) -> tuple[int, bytes]:
        """One POST; returns the status and the answer of a 2xx."""
        headers = callback_headers(token, robot.secret, self.clock.now_ms())
        limit = self.settings.outgoing_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                async with self._http().stream(
                    "POST", url, content=body, headers=headers
                ) as response:
                    status = response.status_code
                    if status >= 500:
                        raise _Retry(f"HTTP {status}", status)
                    if not 200 <= status < 300:
                        raise _Final(f"HTTP {status}", status)
                    raw = bytearray()
                    async for chunk in response.aiter_bytes():
                        raw.extend(chunk)
                        if len(raw) > MAX_OUTGOING_ANSWER:
                            raise _Final(
                                f"the answer is larger than {MAX_OUTGOING_ANSWER} bytes", status
                            )
                    return status, bytes(raw)
        except TargetRefused as exc:
            raise _Final(exc.message) from None
        except TimeoutError:
            raise _Retry(f"no answer within {limit:g} s") from None
        except httpx.TimeoutException:
            raise _Retry(f"no answer within {limit:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry(f"cannot connect: {exc or type(exc).__name__}") from None

    async def _post_answer(self, robot: Robot, message: Message, payload: str) -> int | None:
        view = await self.directory.get(robot.access_token)
        if view is None or not view.robot.enabled or view.group.dissolved:
            raise _Final("the robot was disabled or deleted before its answer arrived")
        result = await self.hub.accept_from_robot(view, message, payload)
        return result.message_id
