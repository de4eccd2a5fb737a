"""The in-process limiter: a sliding log of accepted messages per key, and a block.

Semantics (DingTalk's): at most ``limit`` accepted messages in any ``window_s`` seconds; the
first message over the limit is refused and blocks the key for ``block_s`` seconds; calls during
the block are refused and do not extend it. Right for one process; several processes need the
Redis limiter.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from gong.domain.models import RateLimit
from gong.domain.ports import Decision

__all__ = ["MemoryLimiter"]


@dataclass(slots=True)
class _State:
    accepted: deque[int] = field(default_factory=deque)
    blocked_until: int = 0


class MemoryLimiter:
    def __init__(self) -> None:
        self._states: dict[str, _State] = {}

    async def acquire(self, key: str, limit: RateLimit, now_ms: int) -> Decision:
        return self.acquire_now(key, limit, now_ms)

    def acquire_now(self, key: str, limit: RateLimit, now_ms: int) -> Decision:
        if limit.unlimited:
            return Decision(True)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State()
        if state.blocked_until > now_ms:
            return Decision(False, blocked_until=state.blocked_until, count=len(state.accepted))
        accepted = state.accepted
        horizon = now_ms - limit.window_s * 1000
        while accepted and accepted[0] <= horizon:
            accepted.popleft()
        if len(accepted) >= limit.limit:
            if limit.block_s:
                state.blocked_until = now_ms + limit.block_s * 1000
                accepted.clear()
                return Decision(False, blocked_until=state.blocked_until, count=limit.limit)
            return Decision(
                False, blocked_until=accepted[0] + limit.window_s * 1000, count=len(accepted)
            )
        accepted.append(now_ms)
        return Decision(True, count=len(accepted))

    async def reset(self, key: str) -> None:
        self._states.pop(key, None)
