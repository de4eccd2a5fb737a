"""The domain's records. Plain dataclasses: storage fills them, everything else reads them."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any

from gong.domain.alerts import AlertFacts
from gong.protocol.limits import (
    DEFAULT_UPSTREAM_BLOCK,
    DEFAULT_UPSTREAM_LIMIT,
    DEFAULT_UPSTREAM_WINDOW,
    DINGTALK_RATE_BLOCK,
    DINGTALK_RATE_LIMIT,
    DINGTALK_RATE_WINDOW,
)
from gong.protocol.security import Security, parse_networks

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "Delivery",
    "DeliveryState",
    "Group",
    "HeldMessage",
    "IgnoreReason",
    "IgnoredEvent",
    "Member",
    "Mention",
    "NewMessage",
    "Outgoing",
    "OutgoingCall",
    "Overflow",
    "RateLimit",
    "Refusal",
    "Robot",
    "RobotKind",
    "RobotSession",
    "RobotView",
    "SenderType",
    "StoredMessage",
    "Upstream",
    "UpstreamFit",
    "UpstreamSend",
]


class RobotKind(enum.StrEnum):
    """How ``/robot/send`` reads a robot's body."""

    CUSTOM = "custom"
    GITHUB = "github"
    GITLAB = "gitlab"
    JIRA = "jira"
    TRAVIS = "travis"
    TRELLO = "trello"
    CODEUP = "codeup"
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    TEMPLATE = "template"
    GITEA = "gitea"
    JENKINS = "jenkins"
    SENTRY = "sentry"
    HARBOR = "harbor"
    UPTIME_KUMA = "uptime-kuma"


class Overflow(enum.StrEnum):
    """What happens to messages past a robot's rate limit."""

    REJECT = "reject"
    DIGEST = "digest"


class UpstreamFit(enum.StrEnum):
    """How the relay sends a message too large for one DingTalk message (20 000 bytes)."""

    #: One message: the part that fits, then a link to the whole message in Gong.
    SUMMARY = "summary"
    #: Several messages, each a part of the whole, numbered.
    SPLIT = "split"


class SenderType(enum.StrEnum):
    ROBOT = "robot"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` accepted messages in any ``window_s`` seconds, then a ``block_s`` block.

    ``limit == 0`` or ``window_s == 0`` means unlimited; ``block_s == 0`` refuses only the excess.
    """

    limit: int = DINGTALK_RATE_LIMIT
    window_s: int = DINGTALK_RATE_WINDOW
    block_s: int = DINGTALK_RATE_BLOCK

    @property
    def unlimited(self) -> bool:
        return self.limit == 0 or self.window_s == 0


DEFAULT_RATE_LIMIT = RateLimit()


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where a relayed robot forwards what it accepts: a DingTalk (or Gong) webhook.

    Stored under ``upstream`` in the robot's settings column. ``limit`` sends in any
    ``window_s`` seconds (19 per 60 s by default: one below DingTalk's 20, so a send delayed on
    the network cannot tip the upstream over); ``block_s`` is how long to pause after a throttle
    answer; ``keyword`` is put in every digest's title for upstreams secured by keywords;
    ``fit`` says how a message larger than one upstream message is sent.
    """

    url: str
    secret: str | None = None
    limit: int = DEFAULT_UPSTREAM_LIMIT
    window_s: int = DEFAULT_UPSTREAM_WINDOW
    block_s: int = DEFAULT_UPSTREAM_BLOCK
    keyword: str = ""
    fit: UpstreamFit = UpstreamFit.SUMMARY

    @property
    def key(self) -> str:
        """Identifies the upstream for pacing: robots sharing a webhook share its limit."""
        base, _, query = self.url.partition("?")
        kept = sorted(
            p for p in query.split("&") if p.split("=", 1)[0] not in ("timestamp", "sign")
        )
        return hashlib.sha256(f"{base}?{'&'.join(kept)}".encode()).hexdigest()[:32]

    @property
    def window_ms(self) -> int:
        return self.window_s * 1000

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Upstream | None:
        data = settings.get("upstream")
        if not isinstance(data, dict) or not data.get("url"):
            return None
        return cls(
            url=str(data["url"]),
            secret=data.get("secret") or None,
            limit=int(data.get("limit", 19)),
            window_s=int(data.get("window_s", 60)),
            block_s=int(data.get("block_s", 600)),
            keyword=str(data.get("keyword") or ""),
            fit=UpstreamFit(data.get("fit") or UpstreamFit.SUMMARY),
        )

    def to_settings(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "secret": self.secret,
            "limit": self.limit,
            "window_s": self.window_s,
            "block_s": self.block_s,
            "keyword": self.keyword,
            "fit": str(self.fit),
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Where a robot is called back when a person @-mentions it (DingTalk's Outgoing mechanism).

    Stored under ``outgoing`` in the robot's settings column. ``token`` is sent in the ``token``
    header of every callback; it is a secret, shown only to admins.
    """

    url: str
    token: str

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Outgoing | None:
        data = settings.get("outgoing")
        if not isinstance(data, dict) or not data.get("url"):
            return None
        return cls(url=str(data["url"]), token=str(data.get("token") or ""))

    def to_settings(self) -> dict[str, Any]:
        return {"url": self.url, "token": self.token}


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    dissolved: bool
    created_at: int
    #: The IANA time zone times are written in (``Asia/Shanghai``); None: the server's.
    timezone: str | None = None
    #: Keep messages this many days / this many of the newest; None: keep them all.
    retention_days: int | None = None
    retention_count: int | None = None


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    group_id: int
    name: str
    mobile: str | None
    user_id: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Robot:
    id: int
    group_id: int
    name: str
    kind: RobotKind
    access_token: str
    secret: str | None
    keywords: tuple[str, ...]
    ip_allow: tuple[str, ...]
    enabled: bool
    rate_limit: RateLimit
    overflow: Overflow
    avatar_url: str
    #: The kind's own settings (an integration's filters, a template, …), checked by the
    #: integration's rules; never ``upstream`` or ``outgoing``, which have fields of their own.
    settings: dict[str, Any]
    created_at: int
    updated_at: int
    #: The relay target, if the robot forwards its messages.
    upstream: Upstream | None = None
    #: The callback target, if the robot answers @-mentions.
    outgoing: Outgoing | None = None
    #: The quiet window: a message identical to one this robot posted less than this many
    #: seconds ago is counted on the earlier one instead of posted again (0: off).
    dedupe_window_s: int = 0
    #: Alert labels whose values name members (mobile, userId or name) to @-mention.
    mention_labels: tuple[str, ...] = ()

    @property
    def security(self) -> Security:
        return Security(
            keywords=self.keywords, secret=self.secret, networks=parse_networks(self.ip_allow)
        )

    @property
    def stored_settings(self) -> dict[str, Any]:
        """The settings as one JSON document, as storage keeps them."""
        stored = dict(self.settings)
        if self.upstream is not None:
            stored["upstream"] = self.upstream.to_settings()
        if self.outgoing is not None:
            stored["outgoing"] = self.outgoing.to_settings()
        if self.dedupe_window_s:
            stored["dedupe_window"] = self.dedupe_window_s
        if self.mention_labels:
            stored["mention_labels"] = list(self.mention_labels)
        return stored

    @staticmethod
    def split_settings(stored: dict[str, Any]) -> dict[str, Any]:
        """The inverse of :attr:`stored_settings`, as :class:`Robot` keyword arguments: the
        kind's settings, the upstream, the outgoing target, the quiet window and the mention
        labels (parsed once, when a row is read)."""
        own = {k: v for k, v in stored.items() if k not in _OWN_FIELDS}
        labels = stored.get("mention_labels")
        return {
            "settings": own,
            "upstream": Upstream.from_settings(stored),
            "outgoing": Outgoing.from_settings(stored),
            "dedupe_window_s": int(stored.get("dedupe_window") or 0),
            "mention_labels": tuple(str(x) for x in labels) if isinstance(labels, list) else (),
        }


#: Settings keys that are fields of :class:`Robot` rather than the kind's own settings.
_OWN_FIELDS = frozenset({"upstream", "outgoing", "dedupe_window", "mention_labels"})


@dataclass(frozen=True, slots=True)
class RobotView:
    """What the send path needs about a robot, resolved once and cached."""

    robot: Robot
    group: Group
    security: Security
    members_by_mobile: dict[str, Member] = field(default_factory=dict)
    members_by_user_id: dict[str, Member] = field(default_factory=dict)

    @property
    def members(self) -> list[Member]:
        """The group's members (each has a mobile or a userId, so both maps hold them all)."""
        found = {m.id: m for m in self.members_by_mobile.values()}
        found.update((m.id, m) for m in self.members_by_user_id.values())
        return list(found.values())


@dataclass(frozen=True, slots=True)
class Mention:
    """A resolved @: which member, through which key, and whether the text names them."""

    member_id: int
    name: str
    via: str  # "mobile" or "userId"
    value: str
    in_text: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "name": self.name,
            "via": self.via,
            "value": self.value,
            "in_text": self.in_text,
        }


@dataclass(slots=True)
class NewMessage:
    """A message on its way into storage."""

    group_id: int
    sender_type: SenderType
    sender_name: str
    msgtype: str
    payload: str  # the message as sent, JSON text
    content: dict[str, Any]  # canonical DingTalk-shaped message
    created_at: int
    robot_id: int | None = None
    sender_user_id: int | None = None
    mentions: list[Mention] = field(default_factory=list)
    at_all: bool = False
    unresolved: list[str] = field(default_factory=list)
    msg_uuid: str | None = None
    dedup_until: int | None = None
    #: Also put it in the relay outbox (the robot has an upstream), in the same transaction.
    relay: bool = False
    #: Over the robot's limit with the ``digest`` overflow policy: keep it for the next summary
    #: instead of posting it.
    held: bool = False
    #: This is an overflow summary of these held messages (marked in the same transaction).
    summary_of: list[int] = field(default_factory=list)
    #: Only this account sees the message (a note about its own post); None: the whole group.
    visible_to_user_id: int | None = None
    #: The alert group the message shows (alert integrations): kept so a later resolved
    #: notification updates this message in place.
    alert_facts: AlertFacts | None = None
    #: The alerts' state as first posted (``AlertState.to_json()``), stored with the message.
    alert: dict[str, Any] | None = None
    #: Alerts earlier messages showed firing that this one resolves: (mark id, resolved at).
    resolves: tuple[tuple[int, int], ...] = ()
    #: The quiet window: count it on an identical message this robot posted since then
    #: (unix ms) instead of posting it; None: always post.
    quiet_since: int | None = None
    #: The identity of the content for the quiet window (a hash of its canonical JSON).
    content_key: str | None = None
    #: A new message was posted once (repeats are counted on the stored message).
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """A message accepted past the limit of a ``digest`` robot, waiting for its summary."""

    id: int
    robot_id: int
    group_id: int
    sender_name: str
    content: dict[str, Any]
    created_at: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    group_id: int
    robot_id: int | None
    sender_type: SenderType
    sender_user_id: int | None
    sender_name: str
    msgtype: str
    payload: Any  # the body as sent, decoded: an object, or any JSON value for template robots
    content: dict[str, Any]
    mentions: list[dict[str, Any]]
    at_all: bool
    unresolved: list[str]
    msg_uuid: str | None
    created_at: int
    #: Only this account sees the message; None: the whole group.
    visible_to_user_id: int | None = None
    #: For alert messages: ``{"state", "resolved_at", "firing", "resolved"}``; else None.
    alert: dict[str, Any] | None = None
    #: How many times it was posted: more than 1 when the quiet window counted repeats.
    repeat: int = 1
    #: When it was recalled (unix ms) and by whom; its content is gone. None: not recalled.
    recalled_at: int | None = None
    recalled_by: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    id: int
    robot_id: int
    errcode: int
    errmsg: str
    reason: str
    ip: str
    created_at: int
    #: What most likely went wrong (``gong.domain.hints.HintCode``) and its parameters.
    hint: str | None = None
    hint_params: dict[str, Any] = field(default_factory=dict)


class IgnoreReason(enum.StrEnum):
    """Why an integration robot acknowledged an event and did not show it."""

    #: Gong has no message for this kind of event (``show_unknown`` posts a short one).
    UNKNOWN = "unknown"
    #: Gong knows the event's kind but not this action or state (``show_unknown`` posts a
    #: short one), or the payload says there is nothing to show.
    NOT_HANDLED = "not_handled"
    #: Gong has a message for it but shows it only when the robot opts in
    #: (``include_events``): successful CI runs, stars, forks, emoji.
    OPT_IN = "opt_in"
    #: The robot's ``only_events`` or ``exclude_events`` leaves it out.
    FILTERED = "filtered"


@dataclass(frozen=True, slots=True)
class IgnoredEvent:
    """An event an integration robot received and did not show: how often, when, and why."""

    event: str
    reason: IgnoreReason
    count: int
    first_at: int
    last_at: int
    #: The last such delivery's reason in words ("is not in this robot's only_events").
    detail: str


class DeliveryState(enum.StrEnum):
    """Where a relayed message stands."""

    PENDING = "pending"  # queued, or in a send not yet acknowledged
    SENT = "sent"  # delivered upstream as it was
    DIGESTED = "digested"  # delivered upstream folded into a digest
    FAILED = "failed"  # given up: a permanent error, too many attempts, or no upstream


@dataclass(frozen=True, slots=True)
class UpstreamSend:
    """One request to the upstream: a message as it was, or a digest of several."""

    id: int
    robot_id: int
    kind: str  # "single" or "digest"
    msg_uuid: str
    content: dict[str, Any]
    items: int
    state: str  # pending, sent, failed
    attempts: int
    next_attempt_at: int
    last_attempt_at: int | None
    errcode: int | None
    errmsg: str | None
    created_at: int
    sent_at: int | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """The relay record of one accepted message of a relayed robot."""

    id: int
    robot_id: int
    message_id: int | None
    held_id: int | None
    state: DeliveryState
    content: dict[str, Any]
    created_at: int
    updated_at: int
    title: str = ""
    send: UpstreamSend | None = None
    #: A repeat the quiet window counted on message ``message_id`` (the original): never sent
    #: alone, only counted in a digest.
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class RobotSession:
    """A sessionWebhook: lets the robot answer into the group until ``expires_at``."""

    session: str
    robot_id: int
    group_id: int
    message_id: int
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class OutgoingCall:
    """The record of one outgoing callback: every attempt of it and how it ended."""

    id: int
    robot_id: int
    group_id: int
    message_id: int
    sender_user_id: int | None
    state: str  # "answered", "no_answer" ({"msgtype":"empty"}) or "failed"
    attempts: int
    http_status: int | None
    error: str
    duration_ms: int
    answer_message_id: int | None
    created_at: int
