"""What ``Robot`` and ``AsyncRobot`` share: the result, the wire and the common client state.

- :class:`SendResult`, the answer of a successful send;
- the webhook URL, stripped of any stale ``timestamp``/``sign`` and signed afresh per request;
- the robot API's answer mapped to a result or to the exception of its family
  (:mod:`gong.sdk.errors`);
- ``_Base``: preparing a message (``@`` mentions, ``msgUuid``, the size limit) and the retry
  policy, plus the helpers for messages a :class:`~gong.sdk.pacer.Pacer` holds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from gong import __version__
from gong.clock import Clock, SystemClock
from gong.protocol.errors import Errors
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import Message, encode
from gong.protocol.signing import signed_query
from gong.sdk.errors import (
    HTTPStatusError,
    MessageTooLargeError,
    NetworkError,
    RobotSendError,
    TransportError,
    error_for,
)
from gong.sdk.messages import with_mentions
from gong.sdk.pacer import Batch, Pacer

__all__ = ["DEFAULT_RETRIES", "DEFAULT_TIMEOUT", "RETRY_BACKOFF", "SendResult"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
#: First pause before a retry, in seconds; doubled for each further retry.
RETRY_BACKOFF = 0.5

_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": f"gong-sdk/{__version__}",
}


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


# -- held messages (the pacer's digest mode) --------------------------------------------------


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
