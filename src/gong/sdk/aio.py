"""``AsyncRobot``: the robot client for asyncio code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Literal, Self

import httpx

from gong.clock import Clock
from gong.protocol.messages import Message
from gong.sdk.base import (
    _HEADERS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    SendResult,
    _answer,
    _Base,
    _covering,
    _network_error,
    _unsent,
)
from gong.sdk.errors import PacerFullError, RobotSendError
from gong.sdk.messages import ButtonSpec, FeedLinkSpec, _card, _feed, _link, _markdown, _text
from gong.sdk.pacer import Pacer

__all__ = ["AsyncRobot"]

log = logging.getLogger("gong.sdk")


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
