"""Client-side pacing: at most ``limit`` sends per ``window`` seconds to each webhook.

DingTalk accepts 20 messages a minute per robot and blocks the robot for 10 minutes on the 21st,
dropping everything sent meanwhile. A :class:`Pacer` keeps a sender under that line. One pacer
may serve several robots (it keys its count by webhook) and several threads. Past the limit it
does what ``mode`` says:

``"wait"``
    sleep until a slot frees, then send (the default);
``"raise"``
    raise :class:`~gong.sdk.errors.PacerFullError` with ``retry_after``;
``"digest"``
    hold the message and answer ``queued``; when a slot frees, everything held is folded into
    one markdown digest (:mod:`gong.protocol.digest`) and sent. ``Robot`` sends held messages
    on its next send, on ``flush()`` and on ``close()``; ``AsyncRobot`` also by itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from gong.protocol.digest import DEFAULT_TITLE, DigestEntry, fold_one
from gong.protocol.limits import DINGTALK_RATE_LIMIT, DINGTALK_RATE_WINDOW
from gong.protocol.messages import Message
from gong.protocol.pacing import SendLog

__all__ = ["Batch", "Mode", "Pacer"]

Mode = Literal["wait", "raise", "digest"]


@dataclass(frozen=True, slots=True)
class Batch:
    """What to send for held messages: ``message`` stands for ``originals`` (a digest, or the
    single original itself)."""

    message: Message
    originals: tuple[Message, ...]


class Pacer:
    """A sliding-window count of sends per webhook, with a policy for the excess."""

    def __init__(
        self,
        limit: int = DINGTALK_RATE_LIMIT,
        window: float = float(DINGTALK_RATE_WINDOW),
        *,
        mode: Mode = "wait",
        digest_title: str = DEFAULT_TITLE,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a pacer needs limit >= 1 and window > 0")
        if mode not in ("wait", "raise", "digest"):
            raise ValueError(f"unknown pacer mode {mode!r}")
        self.limit = limit
        self.window_ms = int(window * 1000)
        self.mode: Mode = mode
        self.digest_title = digest_title
        self._logs: dict[str, SendLog] = {}
        self._held: dict[str, list[tuple[Message, int]]] = {}
        self._lock = threading.Lock()

    def _log(self, key: str) -> SendLog:
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = SendLog()
        return log

    def reserve(self, key: str, now_ms: int) -> int:
        """Take a slot for ``key`` now: 0 when taken, else milliseconds until one frees."""
        with self._lock:
            log = self._log(key)
            if log.take(self.limit, self.window_ms, now_ms):
                return 0
            return max(1, log.state(self.limit, self.window_ms, now_ms).next_free_at - now_ms)

    def wait_ms(self, key: str, now_ms: int) -> int:
        """Milliseconds until a slot for ``key`` is free (0: free now); takes nothing."""
        with self._lock:
            state = self._log(key).state(self.limit, self.window_ms, now_ms)
            return max(0, state.next_free_at - now_ms)

    def hold(self, key: str, message: Message, now_ms: int) -> None:
        """Keep ``message`` for the next digest of ``key``."""
        with self._lock:
            self._held.setdefault(key, []).append((message, now_ms))

    def held(self, key: str) -> int:
        """How many messages wait for ``key``."""
        with self._lock:
            return len(self._held.get(key, ()))

    def take_batch(self, key: str, now_ms: int) -> Batch | None:
        """If messages are held and a slot is free, take the slot and the next batch to send."""
        with self._lock:
            held = self._held.get(key)
            if not held:
                return None
            if not self._log(key).take(self.limit, self.window_ms, now_ms):
                return None
            if len(held) == 1:
                message, _ = held.pop()
                return Batch(message, (message,))
            entries = [DigestEntry.of(m, at_ms=at) for m, at in held]
            digest = fold_one(entries, title=self.digest_title)
            taken, self._held[key] = held[: digest.count], held[digest.count :]
            return Batch(digest.message, tuple(m for m, _ in taken))

    def give_back(self, key: str, batch: Batch, now_ms: int) -> None:
        """Put a batch whose send failed back at the front of what ``key`` holds."""
        with self._lock:
            self._held[key] = [(m, now_ms) for m in batch.originals] + self._held.get(key, [])
