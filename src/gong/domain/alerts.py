"""Alert groups as the hub keeps them: which alerts a message shows, their state, their owners.

An alert integration (Alertmanager, Grafana, a template whose output says it is an alert) hands
the hub, beside its message, the :class:`AlertFacts` of the notification: its group key and, per
alert, a fingerprint, whether it fires, when it started and ended, and its labels. The hub keeps
them with the message (``alert_marks``), so that:

- a later *resolved* notification for alerts a message showed firing updates that message in
  place (:class:`AlertState`, published live) and posts only a short resolved line
  (:func:`resolved_line`) instead of the whole group again;
- the members named by the robot's ``mention_labels`` (a mobile, userId or name in a label's
  value) are @-mentioned (:func:`owner_at`).

Pure: no I/O. Storage matches fingerprints; this module decides what the results mean.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from gong.domain.markdown import literal
from gong.domain.timetext import duration, format_local
from gong.protocol.limits import MAX_AT_TARGETS
from gong.protocol.messages import (
    ActionCardMessage,
    At,
    MarkdownMessage,
    Message,
    TextMessage,
)


class Member(Protocol):
    """A group member as owners are matched (:class:`gong.domain.models.Member` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def mobile(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...


__all__ = [
    "AlertFacts",
    "AlertItem",
    "AlertState",
    "Owners",
    "fingerprint_of",
    "owner_at",
    "resolved_line",
    "with_owners",
]

AlertStateName = Literal["firing", "resolved"]


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A stable fingerprint for an alert that came without one: a hash of its sorted labels."""
    canonical = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One alert of a notification."""

    fingerprint: str
    firing: bool
    #: Unix ms, or None when the source did not say.
    starts_at: int | None = None
    ends_at: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """The alerts a message shows, as the hub needs them (not how they are written)."""

    items: tuple[AlertItem, ...]
    #: Alertmanager's ``groupKey`` (the group's identity across notifications), if sent.
    group_key: str | None = None
    #: The message's title (``[FIRING:3] HighCPU``), for the resolved line.
    title: str = ""

    @property
    def firing(self) -> int:
        return sum(1 for a in self.items if a.firing)

    @property
    def resolved(self) -> int:
        return len(self.items) - self.firing

    def state(self) -> AlertState:
        """The state of a message that shows these alerts, as first posted."""
        starts = [a.starts_at for a in self.items if a.starts_at is not None]
        return AlertState.of(self.firing, self.resolved, None, min(starts, default=None))


@dataclass(frozen=True, slots=True)
class AlertState:
    """A message's alert state: ``firing`` while any of its alerts fires, else ``resolved``.

    ``resolved_at`` (unix ms) is when its last firing alert resolved, None while any fires or
    when it was posted already resolved; ``fired_at`` when its earliest alert started (None
    when the source did not say), so readers can tell how long it lasted.
    """

    state: AlertStateName
    resolved_at: int | None
    firing: int
    resolved: int
    fired_at: int | None = None

    @classmethod
    def of(
        cls, firing: int, resolved: int, resolved_at: int | None, fired_at: int | None = None
    ) -> AlertState:
        if firing:
            return cls("firing", None, firing, resolved, fired_at)
        return cls("resolved", resolved_at, 0, resolved, fired_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "resolved_at": self.resolved_at,
            "firing": self.firing,
            "resolved": self.resolved,
            "fired_at": self.fired_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertState:
        return cls(
            state="resolved" if data.get("state") == "resolved" else "firing",
            resolved_at=data.get("resolved_at"),
            firing=int(data.get("firing") or 0),
            resolved=int(data.get("resolved") or 0),
            fired_at=data.get("fired_at"),
        )


# -- owners -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Owners:
    """Who the alert labels name: members to @, and values that name nobody (shown as text)."""

    mobiles: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.mobiles or self.user_ids or self.unknown)


def owner_at(
    facts: AlertFacts,
    labels: Sequence[str],
    members: Iterable[Member],
) -> Owners:
    """The members named by ``labels`` of the firing alerts (all alerts when none fires).

    A value names a member when it equals their mobile, userId or name (a name shared by
    several members names none of them). Values may list several owners, separated by commas,
    semicolons or spaces. The member is mentioned by mobile when they have one, else userId.
    """
    if not labels:
        return Owners()
    by_mobile: dict[str, Member] = {}
    by_user_id: dict[str, Member] = {}
    by_name: dict[str, Member | None] = {}
    for m in members:
        if m.mobile:
            by_mobile[m.mobile] = m
        if m.user_id:
            by_user_id[m.user_id] = m
        by_name[m.name] = None if m.name in by_name else m
    alerts = [a for a in facts.items if a.firing] or list(facts.items)
    mobiles: list[str] = []
    user_ids: list[str] = []
    unknown: list[str] = []
    seen: set[int] = set()
    for alert in alerts:
        for label in labels:
            value = alert.labels.get(label, "")
            for raw in value.replace(",", " ").replace(";", " ").replace("，", " ").split():
                name = raw.lstrip("@")
                member = by_mobile.get(name) or by_user_id.get(name) or by_name.get(name)
                if member is None:
                    if name not in unknown:
                        unknown.append(name)
                    continue
                if member.id in seen:
                    continue
                seen.add(member.id)
                if member.mobile:
                    mobiles.append(member.mobile)
                elif member.user_id:
                    user_ids.append(member.user_id)
    return Owners(tuple(mobiles), tuple(user_ids), tuple(unknown))


def with_owners(message: Message, owners: Owners) -> Message:
    """``message`` with the owners added to its ``at`` (kept within DingTalk's 50 targets) and
    written into its text (``@mobile``), so DingTalk highlights and notifies them; values that
    name nobody are listed as plain text."""
    if not owners:
        return message
    at = message.at or At()
    mobiles = list(dict.fromkeys([*at.atMobiles, *owners.mobiles]))
    user_ids = list(dict.fromkeys([*at.atUserIds, *owners.user_ids]))
    room = MAX_AT_TARGETS
    mobiles = mobiles[:room]
    user_ids = user_ids[: max(0, room - len(mobiles))]
    named = [f"@{v}" for v in (*owners.mobiles, *owners.user_ids) if v in (*mobiles, *user_ids)]
    line = "Owner: " + " ".join(named) if named else ""
    if owners.unknown:
        plain = ", ".join(owners.unknown)
        line = f"{line} · {plain}" if line else f"Owner: {plain}"
    updated = message.model_copy(
        update={"at": at.model_copy(update={"atMobiles": mobiles, "atUserIds": user_ids})}
    )
    return _with_line(updated, line)


def _with_line(message: Message, line: str) -> Message:
    """``message`` with ``line`` as the last paragraph of its text (kinds that have text)."""
    if isinstance(message, TextMessage):
        text = message.text.model_copy(update={"content": f"{message.text.content}\n{line}"})
        return message.model_copy(update={"text": text})
    if isinstance(message, MarkdownMessage):
        md = message.markdown.model_copy(update={"text": f"{message.markdown.text}\n\n{line}"})
        return message.model_copy(update={"markdown": md})
    if isinstance(message, ActionCardMessage):
        card = message.actionCard.model_copy(
            update={"text": f"{message.actionCard.text}\n\n{line}"}
        )
        return message.model_copy(update={"actionCard": card})
    return message


# -- the resolved line ------------------------------------------------------------------------


def resolved_line(
    facts: AlertFacts,
    fired_at: int | None,
    now_ms: int,
    tz: ZoneInfo,
    original_url: str | None,
) -> dict[str, Any]:
    """The short markdown message posted when alerts shown firing resolve.

    ``fired_at`` is when the earliest matched alert started (None if unknown); the line says
    when it resolved, after how long, and links the original message when Gong has a public URL.
    """
    ends = [a.ends_at for a in facts.items if not a.firing and a.ends_at]
    resolved_at = max(ends) if ends else now_ms
    name = (
        (facts.title or "alerts").split("] ", 1)[-1]
        if facts.title.startswith("[")
        else (facts.title or "alerts")
    )
    count = facts.resolved
    head = f"✅ Resolved: {name}" if count <= 1 else f"✅ {count} alerts resolved: {name}"
    lines = [f"#### {literal(head)}"]
    when = f"Resolved at {format_local(resolved_at, tz)}"
    if fired_at is not None and resolved_at >= fired_at:
        when += f" after {duration((resolved_at - fired_at) / 1000)}"
    lines.append(when)
    if original_url:
        lines.append(f"[Original alert]({original_url})")
    title = f"[RESOLVED:{count}] {name}"
    return {"msgtype": "markdown", "markdown": {"title": title, "text": "\n\n".join(lines)}}
