"""``Robot`` and ``AsyncRobot``: send robot messages to Gong or to DingTalk, correctly.

What they get right for you, each a mistake people make by hand:

- a fresh ``timestamp`` and ``sign`` for every request (never one computed at start-up), the
  Base64 URL-encoded exactly once, and any stale ``timestamp``/``sign`` already in the webhook
  URL dropped;
- ``@mobile`` / ``@userId`` written into the text when ``atMobiles`` / ``atUserIds`` name someone
  the text does not (DingTalk notifies only then);
- compact UTF-8 JSON, checked against the 20 000-byte limit before sending;
- success only when ``errcode`` is 0, whatever the HTTP status; any other answer raises the
  exception of its family (:mod:`gong.sdk.errors`);
- a ``msgUuid`` on every message, so the retries it makes (system busy, network errors; never
  anything else) cannot post a message twice;
- timeouts, and an optional client-side :class:`~gong.sdk.pacer.Pacer`.

Both accept an httpx transport (``httpx.MockTransport``, ``httpx.ASGITransport``) for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit

import httpx

from gong import __version__
from gong.clock import Clock, SystemClock
from gong.protocol.errors import Errors
from gong.protocol.messages import (
    MAX_AT_TARGETS,
    MAX_BODY_BYTES,
    ActionCard,
    ActionCardButton,
    ActionCardMessage,
    At,
    FeedCard,
    FeedCardLink,
    FeedCardMessage,
    Link,
    LinkMessage,
    Markdown,
    MarkdownMessage,
    Message,
    Text,
    TextMessage,
    encode,
)
from gong.protocol.signing import signed_query
from gong.sdk.errors import (
    HTTPStatusError,
    MessageTooLargeError,
    NetworkError,
    PacerFullError,
    RobotSendError,
    TransportError,
    error_for,
)
from gong.sdk.pacer import Batch, Pacer

__all__ = ["AsyncRobot", "Robot", "SendResult", "with_mentions"]

log = logging.getLogger("gong.sdk")

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
#: First pause before a retry, in seconds; doubled for each further retry.
RETRY_BACKOFF = 0.5

_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": f"gong-sdk/{__version__}",
}

ButtonSpec = ActionCardButton | tuple[str, str]
FeedLinkSpec = FeedCardLink | tuple[str, str] | tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class SendResult:
    """A successful answer (``errcode`` 0), or a message the pacer queued for a digest."""

    errcode: int
    errmsg: str
    msg_uuid: str | None
    raw: str
    #: Held by the pacer (mode "digest"); it goes out folded into a later digest.
    queued: bool = False
    #: How many of the caller's messages this send carried (more than 1 for a digest).
    covers: int = 1

    @property
    def ok(self) -> bool:
        return self.errcode == 0


# -- building messages ------------------------------------------------------------------------


def _at(mobiles: Sequence[str], user_ids: Sequence[str], at_all: bool) -> At | None:
    if not (mobiles or user_ids or at_all):
        return None
    return At(atMobiles=list(mobiles), atUserIds=list(user_ids), isAtAll=at_all)


def _button(spec: ButtonSpec) -> ActionCardButton:
    if isinstance(spec, ActionCardButton):
        return spec
    title, url = spec
    return ActionCardButton(title=title, actionURL=url)


def _feed_link(spec: FeedLinkSpec) -> FeedCardLink:
    if isinstance(spec, FeedCardLink):
        return spec
    title, url, *pic = spec
    return FeedCardLink(title=title, messageURL=url, picURL=pic[0] if pic else "")


def _action_card(
    title: str,
    text: str,
    buttons: Sequence[ButtonSpec],
    btn_orientation: Literal["0", "1"],
    hide_avatar: bool,
) -> ActionCard:
    made = [_button(b) for b in buttons]
    if not made:
        raise ValueError("an actionCard needs at least one button")
    flags = {"btnOrientation": btn_orientation, "hideAvatar": "1" if hide_avatar else "0"}
    if len(made) == 1:
        return ActionCard.model_validate(
            {
                "title": title,
                "text": text,
                "singleTitle": made[0].title,
                "singleURL": made[0].actionURL,
                **flags,
            }
        )
    return ActionCard.model_validate(
        {"title": title, "text": text, "btns": [b.model_dump() for b in made], **flags}
    )


def with_mentions(message: Message) -> Message:
    """The message with ``@target`` added to its text for every @-target the text lacks."""
    at = message.mentions()
    targets = [*at.atMobiles, *at.atUserIds][:MAX_AT_TARGETS]
    body = message.body_text()
    missing = [t for t in dict.fromkeys(targets) if f"@{t}" not in body]
    if not missing:
        return message
    suffix = " ".join(f"@{t}" for t in missing)
    if isinstance(message, TextMessage):
        return message.model_copy(update={"text": Text(content=f"{body}\n{suffix}")})
    if isinstance(message, MarkdownMessage):
        markdown = Markdown(title=message.markdown.title, text=f"{body}\n\n{suffix}")
        return message.model_copy(update={"markdown": markdown})
    if isinstance(message, ActionCardMessage):
        card = message.actionCard.model_copy(update={"text": f"{body}\n\n{suffix}"})
        return message.model_copy(update={"actionCard": card})
    return message


# -- the wire ---------------------------------------------------------------------------------


class _Webhook:
    """A webhook URL without any ``timestamp``/``sign``, signed afresh for each request."""

    def __init__(self, url: str, secret: str | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            # Not the URL itself: its query string holds the access_token.
            raise ValueError(
                f"not an http(s) webhook URL (scheme {parts.scheme!r}, host {parts.hostname!r})"
            )
        base, _, query = url.partition("?")
        kept = [
            p for p in query.split("&") if p and p.split("=", 1)[0] not in ("timestamp", "sign")
        ]
        self.key = base + ("?" + "&".join(kept) if kept else "")
        self.secret = secret or None

    def url(self, now_ms: int) -> str:
        if self.secret is None:
            return self.key
        return self.key + ("&" if "?" in self.key else "?") + signed_query(self.secret, now_ms)


def _answer(response: httpx.Response, msg_uuid: str | None) -> SendResult:
    raw = response.text
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and "errcode" in data:
        try:
            errcode = int(data["errcode"])
        except (TypeError, ValueError):
            raise TransportError(f"errcode is not a number: {raw[:200]!r}", None, raw) from None
        errmsg = str(data.get("errmsg", ""))
        if errcode == 0:
            return SendResult(0, errmsg, msg_uuid, raw)
        raise error_for(errcode, errmsg, raw)
    if response.status_code != 200:
        raise HTTPStatusError(response.status_code, raw)
    raise TransportError(f"not a robot API answer: {raw[:200]!r}", None, raw)


class _Base:
    def __init__(
        self,
        webhook: str,
        secret: str | None,
        *,
        timeout: float,
        retries: int,
        pacer: Pacer | None,
        auto_at: bool,
        auto_uuid: bool,
        clock: Clock | None,
    ) -> None:
        self._webhook = _Webhook(webhook, secret)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.pacer = pacer
        self.auto_at = auto_at
        self.auto_uuid = auto_uuid
        self.clock: Clock = clock or SystemClock()

    @property
    def webhook(self) -> str:
        """The webhook URL, without signature parameters."""
        return self._webhook.key

    def _prepare(self, message: Message) -> tuple[Message, bytes]:
        if self.auto_at:
            message = with_mentions(message)
        if self.auto_uuid and message.msgUuid is None:
            message = message.model_copy(update={"msgUuid": uuid.uuid4().hex})
        body = encode(message)
        if len(body) > MAX_BODY_BYTES:
            raise MessageTooLargeError(
                f"the body is {len(body)} bytes; the robot API accepts at most {MAX_BODY_BYTES}",
                Errors.TOO_LARGE.code,
            )
        return message, body

    def _retry_pause(self, error: RobotSendError, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt``, or None to give up."""
        if not error.retryable or attempt > self.retries:
            return None
        return float(RETRY_BACKOFF * 2 ** (attempt - 1))

    @staticmethod
    def _queued() -> SendResult:
        return SendResult(0, "queued", None, "", queued=True, covers=0)


def _network_error(exc: httpx.TransportError) -> NetworkError:
    return NetworkError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _text(
    content: str,
    mobiles: Sequence[str],
    user_ids: Sequence[str],
    at_all: bool,
    msg_uuid: str | None,
) -> TextMessage:
    return TextMessage(
        text=Text(content=content), at=_at(mobiles, user_ids, at_all), msgUuid=msg_uuid
    )


def _link(title: str, text: str, url: str, pic: str, msg_uuid: str | None) -> LinkMessage:
    return LinkMessage(
        link=Link(title=title, text=text, messageUrl=url, picUrl=pic), msgUuid=msg_uuid
    )


def _markdown(
    title: str,
    text: str,
    mobiles: Sequence[str],
    user_ids: Sequence[str],
    at_all: bool,
    msg_uuid: str | None,
) -> MarkdownMessage:
    return MarkdownMessage(
        markdown=Markdown(title=title, text=text),
        at=_at(mobiles, user_ids, at_all),
        msgUuid=msg_uuid,
    )


def _card(
    title: str,
    text: str,
    buttons: Sequence[ButtonSpec],
    orientation: Literal["0", "1"],
    hide_avatar: bool,
    mobiles: Sequence[str],
    user_ids: Sequence[str],
    at_all: bool,
    msg_uuid: str | None,
) -> ActionCardMessage:
    return ActionCardMessage(
        actionCard=_action_card(title, text, buttons, orientation, hide_avatar),
        at=_at(mobiles, user_ids, at_all),
        msgUuid=msg_uuid,
    )


def _feed(links: Sequence[FeedLinkSpec], msg_uuid: str | None) -> FeedCardMessage:
    return FeedCardMessage(
        feedCard=FeedCard(links=[_feed_link(x) for x in links]), msgUuid=msg_uuid
    )


# -- the clients ------------------------------------------------------------------------------


class Robot(_Base):
    """A robot webhook, for blocking code.

    Args:
        webhook: ``https://oapi.dingtalk.com/robot/send?access_token=…`` or a Gong robot's URL.
        secret: the robot's ``SEC…`` signing secret, if it signs.
        timeout: seconds for each HTTP request.
        retries: how many times to retry a system-busy answer or a network error.
        pacer: a client-side limit; see :class:`~gong.sdk.pacer.Pacer`.
        auto_at: write missing ``@mobile`` / ``@userId`` into the text.
        auto_uuid: give every message a ``msgUuid`` (what makes retries safe).
        transport: an httpx transport, for tests.
        clock, sleep: time as a seam, for tests.
    """

    def __init__(
        self,
        webhook: str,
        secret: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        pacer: Pacer | None = None,
        auto_at: bool = True,
        auto_uuid: bool = True,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            webhook,
            secret,
            timeout=timeout,
            retries=retries,
            pacer=pacer,
            auto_at=auto_at,
            auto_uuid=auto_uuid,
            clock=clock,
        )
        self._client = httpx.Client(transport=transport, timeout=timeout, headers=_HEADERS)
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(flush=kind is None)

    def close(self, *, flush: bool = True) -> None:
        """Send what the pacer holds (waiting for slots), then close the connection pool."""
        try:
            if flush:
                self.flush(wait=True)
        finally:
            self._client.close()

    # The message types ------------------------------------------------------------------------

    def send_text(
        self,
        content: str,
        *,
        at_mobiles: Sequence[str] = (),
        at_user_ids: Sequence[str] = (),
        at_all: bool = False,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return self.send(_text(content, at_mobiles, at_user_ids, at_all, msg_uuid))

    def send_link(
        self,
        title: str,
        text: str,
        message_url: str,
        pic_url: str = "",
        *,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return self.send(_link(title, text, message_url, pic_url, msg_uuid))

    def send_markdown(
        self,
        title: str,
        text: str,
        *,
        at_mobiles: Sequence[str] = (),
        at_user_ids: Sequence[str] = (),
        at_all: bool = False,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return self.send(_markdown(title, text, at_mobiles, at_user_ids, at_all, msg_uuid))

    def send_action_card(
        self,
        title: str,
        text: str,
        buttons: Sequence[ButtonSpec],
        *,
        btn_orientation: Literal["0", "1"] = "0",
        hide_avatar: bool = False,
        at_mobiles: Sequence[str] = (),
        at_user_ids: Sequence[str] = (),
        at_all: bool = False,
        msg_uuid: str | None = None,
    ) -> SendResult:
        """One button makes a single-button card (``singleTitle``/``singleURL``)."""
        return self.send(
            _card(
                title,
                text,
                buttons,
                btn_orientation,
                hide_avatar,
                at_mobiles,
                at_user_ids,
                at_all,
                msg_uuid,
            )
        )

    def send_feed_card(
        self, links: Sequence[FeedLinkSpec], *, msg_uuid: str | None = None
    ) -> SendResult:
        """``links``: ``FeedCardLink`` or ``(title, url[, picture url])``."""
        return self.send(_feed(links, msg_uuid))

    # Sending ----------------------------------------------------------------------------------

    def send(self, message: Message) -> SendResult:
        """Send one message (any model of :mod:`gong.protocol.messages`).

        Raises:
            RobotSendError: a subclass naming the cause; see :mod:`gong.sdk.errors`.
        """
        pacer = self.pacer
        if pacer is None:
            return self._post(message)
        key = self._webhook.key
        if pacer.mode == "digest":
            self._flush_ready()
            if pacer.held(key) == 0 and pacer.reserve(key, self.clock.now_ms()) == 0:
                return self._post(message)
            pacer.hold(key, message, self.clock.now_ms())
            return self._queued()
        while (wait := pacer.reserve(key, self.clock.now_ms())) > 0:
            if pacer.mode == "raise":
                raise PacerFullError(wait / 1000)
            self._sleep(wait / 1000)
        return self._post(message)

    def flush(self, *, wait: bool = False) -> list[SendResult]:
        """Send what the pacer holds as far as slots are free (with ``wait``: all of it)."""
        results: list[SendResult] = []
        if self.pacer is None:
            return results
        key = self._webhook.key
        while True:
            results += self._flush_ready()
            if not wait or self.pacer.held(key) == 0:
                return results
            self._sleep(max(1, self.pacer.wait_ms(key, self.clock.now_ms())) / 1000)

    def _flush_ready(self) -> list[SendResult]:
        results: list[SendResult] = []
        assert self.pacer is not None
        key = self._webhook.key
        while (batch := self.pacer.take_batch(key, self.clock.now_ms())) is not None:
            try:
                result = self._post(batch.message)
            except RobotSendError as exc:
                _unsent(self.pacer, key, batch, exc, self.clock.now_ms())
                raise
            results.append(_covering(result, batch))
        return results

    def _post(self, message: Message) -> SendResult:
        message, body = self._prepare(message)
        attempt = 0
        while True:
            try:
                return self._attempt(body, message.msgUuid)
            except RobotSendError as exc:
                attempt += 1
                pause = self._retry_pause(exc, attempt)
                if pause is None:
                    raise
                log.info("send failed (%s); retry %d in %.1f s", exc, attempt, pause)
                self._sleep(pause)

    def _attempt(self, body: bytes, msg_uuid: str | None) -> SendResult:
        try:
            response = self._client.post(self._webhook.url(self.clock.now_ms()), content=body)
        except httpx.TransportError as exc:
            raise _network_error(exc) from exc
        return _answer(response, msg_uuid)


class AsyncRobot(_Base):
    """A robot webhook, for asyncio code; the same API as :class:`Robot`, awaited.

    With a pacer in mode ``"digest"`` it also sends held messages by itself once a slot frees
    (errors of that background send are logged; held messages stay held for the next try).
    """

    def __init__(
        self,
        webhook: str,
        secret: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        pacer: Pacer | None = None,
        auto_at: bool = True,
        auto_uuid: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            webhook,
            secret,
            timeout=timeout,
            retries=retries,
            pacer=pacer,
            auto_at=auto_at,
            auto_uuid=auto_uuid,
            clock=clock,
        )
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout, headers=_HEADERS)
        self._sleep = sleep
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose(flush=kind is None)

    async def aclose(self, *, flush: bool = True) -> None:
        """Send what the pacer holds (waiting for slots), then close the connection pool."""
        try:
            if self._flusher is not None:
                self._flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._flusher
                self._flusher = None
            if flush:
                await self.flush(wait=True)
        finally:
            await self._client.aclose()

    async def send_text(
        self,
        content: str,
        *,
        at_mobiles: Sequence[str] = (),
        at_user_ids: Sequence[str] = (),
        at_all: bool = False,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return await self.send(_text(content, at_mobiles, at_user_ids, at_all, msg_uuid))

    async def send_link(
        self,
        title: str,
        text: str,
        message_url: str,
        pic_url: str = "",
        *,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return await self.send(_link(title, text, message_url, pic_url, msg_uuid))

    async def send_markdown(
        self,
        title: str,
        text: str,
        *,
        at_mobiles: Sequence[str] = (),
        at_user_ids: Sequence[str] = (),
        at_all: bool = False,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return await self.send(_markdown(title, text, at_mobiles, at_user_ids, at_all, msg_uuid))

    async def send_action_card(
        self,
        title: str,
        text: str,
        buttons: Sequence[ButtonSpec],
        *,
        btn_orientation: Literal["0", "1"] = "0",
        hide_avatar: bool = False,
        at_mobiles: Sequence[str] = (),
        at_user_ids: Sequence[str] = (),
        at_all: bool = False,
        msg_uuid: str | None = None,
    ) -> SendResult:
        return await self.send(
            _card(
                title,
                text,
                buttons,
                btn_orientation,
                hide_avatar,
                at_mobiles,
                at_user_ids,
                at_all,
                msg_uuid,
            )
        )

    async def send_feed_card(
        self, links: Sequence[FeedLinkSpec], *, msg_uuid: str | None = None
    ) -> SendResult:
        return await self.send(_feed(links, msg_uuid))

    async def send(self, message: Message) -> SendResult:
        """Send one message; raises a :class:`~gong.sdk.errors.RobotSendError` subclass."""
        pacer = self.pacer
        if pacer is None:
            return await self._post(message)
        key = self._webhook.key
        if pacer.mode == "digest":
            async with self._lock:
                await self._flush_ready()
                if pacer.held(key) == 0 and pacer.reserve(key, self.clock.now_ms()) == 0:
                    direct = True
                else:
                    pacer.hold(key, message, self.clock.now_ms())
                    direct = False
            if direct:
                return await self._post(message)
            self._schedule_flush()
            return self._queued()
        while (wait := pacer.reserve(key, self.clock.now_ms())) > 0:
            if pacer.mode == "raise":
                raise PacerFullError(wait / 1000)
            await self._sleep(wait / 1000)
        return await self._post(message)

    async def flush(self, *, wait: bool = False) -> list[SendResult]:
        """Send what the pacer holds as far as slots are free (with ``wait``: all of it)."""
        results: list[SendResult] = []
        if self.pacer is None:
            return results
        key = self._webhook.key
        while True:
            async with self._lock:
                results += await self._flush_ready()
            if not wait or self.pacer.held(key) == 0:
                return results
            await self._sleep(max(1, self.pacer.wait_ms(key, self.clock.now_ms())) / 1000)

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._auto_flush(), name="gong-sdk-flush")

    async def _auto_flush(self) -> None:
        assert self.pacer is not None
        key = self._webhook.key
        while self.pacer.held(key):
            await self._sleep(max(1, self.pacer.wait_ms(key, self.clock.now_ms())) / 1000)
            try:
                async with self._lock:
                    await self._flush_ready()
            except RobotSendError as exc:
                log.warning("sending held messages failed: %s", exc)
                return

    async def _flush_ready(self) -> list[SendResult]:
        results: list[SendResult] = []
        assert self.pacer is not None
        key = self._webhook.key
        while (batch := self.pacer.take_batch(key, self.clock.now_ms())) is not None:
            try:
                result = await self._post(batch.message)
            except RobotSendError as exc:
                _unsent(self.pacer, key, batch, exc, self.clock.now_ms())
                raise
            results.append(_covering(result, batch))
        return results

    async def _post(self, message: Message) -> SendResult:
        message, body = self._prepare(message)
        attempt = 0
        while True:
            try:
                return await self._attempt(body, message.msgUuid)
            except RobotSendError as exc:
                attempt += 1
                pause = self._retry_pause(exc, attempt)
                if pause is None:
                    raise
                log.info("send failed (%s); retry %d in %.1f s", exc, attempt, pause)
                await self._sleep(pause)

    async def _attempt(self, body: bytes, msg_uuid: str | None) -> SendResult:
        try:
            response = await self._client.post(self._webhook.url(self.clock.now_ms()), content=body)
        except httpx.TransportError as exc:
            raise _network_error(exc) from exc
        return _answer(response, msg_uuid)


def _covering(result: SendResult, batch: Batch) -> SendResult:
    return SendResult(
        result.errcode, result.errmsg, result.msg_uuid, result.raw, covers=len(batch.originals)
    )


def _unsent(pacer: Pacer, key: str, batch: Batch, error: RobotSendError, now_ms: int) -> None:
    """After a failed send of held messages: keep them when a retry may work, else hand them to
    the caller on the exception (``error.unsent``)."""
    if error.retryable:
        pacer.give_back(key, batch, now_ms)
    else:
        error.unsent = batch.originals
