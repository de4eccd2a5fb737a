"""``Robot``: the robot client for blocking code."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
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

__all__ = ["Robot"]

log = logging.getLogger("gong.sdk")


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
