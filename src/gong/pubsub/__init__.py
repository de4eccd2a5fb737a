"""Live fan-out: the :class:`~gong.domain.ports.Broker` protocol's backends."""

from gong.pubsub.memory import MemoryBroker

__all__ = ["MemoryBroker"]
