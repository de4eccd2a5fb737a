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

Repeats counted by the quiet window (deliveries with ``repeat`` set, carrying the original
message's id) are never sent alone: they are counted on their original's entry in the next
digest (``repeated ×N``), and when nothing else is queued they go out as one digest once the
oldest has waited the robot's quiet window (``repeats_due_at``). So the upstream gets one copy of
a message plus a count.

A single message too large for one upstream message is sent as the upstream's ``fit`` says
(:func:`fit_upstream`): one summary pointing at the whole message in Gong, or numbered parts
(:mod:`gong.protocol.oversized`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gong.domain.models import Delivery, UpstreamFit
from gong.protocol.digest import DEFAULT_TITLE, UUID_RESERVE, Digest, DigestEntry, fold_one
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import encode, parse_message
from gong.protocol.oversized import Pointer, split, summarise
from gong.protocol.pacing import PaceState

__all__ = [
    "Action",
    "Fold",
    "Pending",
    "Plan",
    "digest_of",
    "entry_of",
    "fit_upstream",
    "fits_alone",
    "fold_pending",
    "oversize_pointer",
    "pending_entries",
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


def plan(
    pending: int,
    pace: PaceState,
    limit: int,
    window_ms: int,
    now: int,
    *,
    repeats_due_at: int | None = None,
) -> Plan:
    """What to do with ``pending`` queued messages, given the upstream's pace at ``now``.

    ``repeats_due_at`` is when the oldest queued repeat has waited its quiet window (None: no
    repeat queued). Repeats alone wait until then and go out as a digest; once due, they turn
    the next send into a digest, so they are never held back behind a trickle of singles.
    """
    if pending <= 0 and repeats_due_at is None:
        raise ValueError("nothing to plan for")
    if pending <= 0 and repeats_due_at is not None and now < repeats_due_at:
        return Plan(Action.WAIT, repeats_due_at)
    repeats_due = repeats_due_at is not None and repeats_due_at <= now
    if pace.free <= 0:
        return Plan(Action.WAIT, max(now + 1, pace.next_free_at))
    if pending <= 0:
        return Plan(Action.DIGEST, now)
    alone = Action.DIGEST if repeats_due else Action.SINGLE
    if limit <= 0 or window_ms <= 0:  # an unpaced upstream
        return Plan(alone, now)
    if pending <= pace.free - reserve_for(limit):
        return Plan(alone, now)
    if pace.last_at is not None:
        # Spread the free slots until the window refills: the earliest t with
        # t - last >= (refill - t) / free.
        refill = pace.refill_at if pace.refill_at is not None else now + window_ms
        earliest = -(-(pace.free * pace.last_at + refill) // (pace.free + 1))
        if now < earliest:
            return Plan(Action.WAIT, earliest)
    return Plan(alone if pending == 1 else Action.DIGEST, now)


def entry_of(
    content: dict[str, Any], at_ms: int | None, *, full_url: str | None = None
) -> DigestEntry:
    """The digest entry of a stored message (its canonical DingTalk JSON)."""
    return DigestEntry.of(parse_message(content), at_ms=at_ms, full_url=full_url)


def title_for(keyword: str = "") -> str:
    """The digest title template, starting with ``keyword`` when the upstream needs one."""
    return f"{keyword} {DEFAULT_TITLE}" if keyword else DEFAULT_TITLE


def fits_alone(content: dict[str, Any]) -> bool:
    """Whether the message, sent as it is with a msgUuid, stays under the body limit."""
    return len(encode({**content, "msgUuid": "x" * UUID_RESERVE})) < MAX_BODY_BYTES


def digest_of(
    entries: Sequence[DigestEntry], keyword: str = "", *, tz: dt.tzinfo | None = None
) -> Digest:
    """The first digest of ``entries``, titled for the upstream, its times on ``tz``."""
    return fold_one(entries, title=title_for(keyword), tz=tz)


@dataclass(frozen=True, slots=True)
class Pending:
    """One digest entry and the queued deliveries it stands for: a message, its repeats."""

    entry: DigestEntry
    deliveries: tuple[int, ...]


def pending_entries(
    queued: Sequence[Delivery], full_url: Callable[[int], str | None] = lambda _: None
) -> list[Pending]:
    """The digest entries of queued deliveries, in order: each message once, with the repeats
    the quiet window counted on it (``repeats``, ``last_at_ms``), whether its own delivery is
    among them or went upstream before. ``full_url`` links a message id to Gong's copy."""
    entries: dict[tuple[str, int], DigestEntry] = {}
    carried: dict[tuple[str, int], list[int]] = {}
    for delivery in queued:
        mid = delivery.message_id
        key = ("message", mid) if mid is not None else ("delivery", delivery.id)
        entry = entries.get(key)
        if entry is None:
            link = full_url(mid) if mid is not None else None
            # A repeat whose original went before is listed by its count and last time.
            at_ms = None if delivery.repeat else delivery.created_at
            entry = entry_of(delivery.content, at_ms, full_url=link)
            carried[key] = []
        if delivery.repeat:
            entry = dataclasses.replace(
                entry, repeats=entry.repeats + 1, last_at_ms=delivery.created_at
            )
        entries[key] = entry
        carried[key].append(delivery.id)
    return [Pending(entries[key], tuple(carried[key])) for key in entries]


@dataclass(frozen=True, slots=True)
class Fold:
    """The next digest of a queue and the deliveries it carries."""

    digest: Digest
    deliveries: list[int]


def fold_pending(
    queued: Sequence[Delivery],
    *,
    keyword: str = "",
    tz: dt.tzinfo | None = None,
    full_url: Callable[[int], str | None] = lambda _: None,
) -> Fold:
    """The next digest of the queued deliveries (oldest first), repeats counted on their
    message's entry."""
    pending = pending_entries(queued, full_url)
    digest = digest_of([p.entry for p in pending], keyword, tz=tz)
    return Fold(digest, [d for p in pending[: digest.count] for d in p.deliveries])


def _kilobytes(size: int) -> str:
    return f"{size / 1000:.0f} KB" if size >= 10_000 else f"{size / 1000:.1f} KB"


def oversize_pointer(
    size: int,
    *,
    alerts: int | None = None,
    url: str | None = None,
    group: str = "",
    group_id: int | None = None,
    message_id: int | None = None,
) -> Pointer:
    """Where a summarised message is read whole: ``Full message (40 alerts, 61 KB) in Gong``
    and its URL, or, without a public URL, the group and the message id in words."""
    facts = [f"{alerts} alerts"] if alerts else []
    facts.append(_kilobytes(size))
    note = f"Full message ({', '.join(facts)}) in Gong"
    if url is not None:
        return Pointer(note, url)
    where = []
    if group_id is not None:
        where.append(f"group {group} (id {group_id})" if group else f"group {group_id}")
    if message_id is not None:
        where.append(f"message {message_id}")
    return Pointer(f"{note}: {', '.join(where)}" if where else note)


def fit_upstream(
    content: dict[str, Any], fit: UpstreamFit, pointer: Pointer, keyword: str = ""
) -> list[dict[str, Any]]:
    """A message too large for one upstream message, as the upstream's ``fit`` says: one
    summary pointing at the whole (``summary``), or numbered parts, in order (``split``)."""
    message = parse_message(content)
    if fit is UpstreamFit.SPLIT:
        return [part.to_wire() for part in split(message, keyword=keyword)]
    return [summarise(message, pointer, keyword=keyword).to_wire()]
