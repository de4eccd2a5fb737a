"""When to send what: the relay's pacing plan, and digests of stored messages. No I/O.

The fold itself (messages → markdown digests under 20 000 bytes) lives in
:mod:`gong.protocol.digest`, shared with the SDK; this module decides, for a backlog of queued
messages and an upstream's recent sends, whether to send the oldest one as it is, fold the
backlog into a digest, or wait.

The plan, for an upstream allowing ``limit`` sends per ``window``:

- nothing free (or paused): wait until a slot frees;
- a small backlog that fits in the free slots with a reserve (a quarter of the limit) to spare:
  send the oldest message as it is — at low volume every message goes out alone, at once;
- otherwise fold: spread the free slots evenly until the window refills (one digest every
  ``time until refill / free slots``), each digest taking as much of the backlog as fits.
  A burst of 1 000 messages thus goes out as a handful of digests a few seconds apart, and the
  messages still arriving afterwards find a slot left for them within the same window.

Whatever happens, no ``window`` ever holds more than ``limit`` sends: every send takes a slot
from the pacer first.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gong.protocol.digest import DEFAULT_TITLE, UUID_RESERVE, Digest, DigestEntry, fold_one
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import encode, parse_message
from gong.protocol.pacing import PaceState

__all__ = [
    "Action",
    "Plan",
    "digest_of",
    "entry_of",
    "fits_alone",
    "plan",
    "reserve_for",
    "title_for",
]


class Action(enum.StrEnum):
    WAIT = "wait"
    SINGLE = "single"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Plan:
    action: Action
    #: For ``WAIT``: when to look again (ms).
    at: int


def reserve_for(limit: int) -> int:
    """Slots kept back from single sends so a burst can still be folded in the same window."""
    return max(1, limit // 4)


def plan(pending: int, pace: PaceState, limit: int, window_ms: int, now: int) -> Plan:
    """What to do with ``pending`` queued messages, given the upstream's pace at ``now``."""
    if pending <= 0:
        raise ValueError("nothing to plan for")
    if pace.free <= 0:
        return Plan(Action.WAIT, max(now + 1, pace.next_free_at))
    if limit <= 0 or window_ms <= 0:  # an unpaced upstream
        return Plan(Action.SINGLE, now)
    if pending <= pace.free - reserve_for(limit):
        return Plan(Action.SINGLE, now)
    if pace.last_at is not None:
        # Spread the free slots until the window refills: the earliest t with
        # t - last >= (refill - t) / free.
        refill = pace.refill_at if pace.refill_at is not None else now + window_ms
        earliest = -(-(pace.free * pace.last_at + refill) // (pace.free + 1))
        if now < earliest:
            return Plan(Action.WAIT, earliest)
    return Plan(Action.SINGLE if pending == 1 else Action.DIGEST, now)


def entry_of(content: dict[str, Any], at_ms: int) -> DigestEntry:
    """The digest entry of a stored message (its canonical DingTalk JSON)."""
    return DigestEntry.of(parse_message(content), at_ms=at_ms)


def title_for(keyword: str = "") -> str:
    """The digest title template, starting with ``keyword`` when the upstream needs one."""
    return f"{keyword} {DEFAULT_TITLE}" if keyword else DEFAULT_TITLE


def fits_alone(content: dict[str, Any]) -> bool:
    """Whether the message, sent as it is with a msgUuid, stays under the body limit."""
    return len(encode({**content, "msgUuid": "x" * UUID_RESERVE})) < MAX_BODY_BYTES


def digest_of(entries: Sequence[DigestEntry], keyword: str = "") -> Digest:
    """The first digest of ``entries``, titled for the upstream."""
    return fold_one(entries, title=title_for(keyword))
