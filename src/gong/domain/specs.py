"""What a caller asks of the administration services: a new robot, a change to one.

Specs carry the caller's values as given; the services (:mod:`gong.domain.robot_admin`) check
and clean them. ``None`` in a patch means "keep what the robot has".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gong.domain.models import (
    DEFAULT_RATE_LIMIT,
    Outgoing,
    Overflow,
    RateLimit,
    RobotKind,
    Upstream,
    UpstreamFit,
)

__all__ = ["RobotPatch", "RobotSpec"]


@dataclass(frozen=True, slots=True)
class RobotSpec:
    """A robot to create in group ``group_id``."""

    group_id: int
    name: str
    kind: RobotKind = RobotKind.CUSTOM
    keywords: Sequence[str] = ()
    signing: bool = False
    ip_allow: Sequence[str] = ()
    rate_limit: RateLimit = DEFAULT_RATE_LIMIT
    overflow: Overflow = Overflow.REJECT
    avatar_url: str = ""
    #: The kind's own settings (see :mod:`gong.integrations.config`).
    settings: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    #: Where the robot relays what it accepts.
    upstream: Upstream | None = None
    #: Where the robot is called back when a person @-mentions it.
    outgoing: Outgoing | None = None
    #: The quiet window in seconds (0: off).
    dedupe_window_s: int = 0
    #: Alert labels whose values name members to @-mention (alert kinds).
    mention_labels: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class RobotPatch:
    """A change to a robot; unset (``None``) fields keep their value.

    ``settings`` changes only the keys it names, and a key given as ``None`` is removed.
    ``clear_upstream`` / ``clear_outgoing`` remove the relay / callback target (relay
    deliveries still queued then fail).
    """

    name: str | None = None
    keywords: Sequence[str] | None = None
    signing: bool | None = None
    ip_allow: Sequence[str] | None = None
    rate_limit: RateLimit | None = None
    overflow: Overflow | None = None
    avatar_url: str | None = None
    enabled: bool | None = None
    settings: Mapping[str, Any] | None = None
    upstream: Upstream | None = None
    clear_upstream: bool = False
    outgoing: Outgoing | None = None
    clear_outgoing: bool = False
    #: How the relay sends a message too large for one upstream message (needs an upstream).
    upstream_fit: UpstreamFit | None = None
    dedupe_window_s: int | None = None
    mention_labels: Sequence[str] | None = None
