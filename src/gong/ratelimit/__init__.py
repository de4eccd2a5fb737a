"""Per-robot rate limiting: the :class:`~gong.domain.ports.Limiter` protocol's backends."""

from gong.ratelimit.memory import MemoryLimiter

__all__ = ["MemoryLimiter"]
