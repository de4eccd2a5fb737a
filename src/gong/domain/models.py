"""The domain's records. Plain dataclasses: storage fills them, everything else reads them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gong.protocol.security import Security, parse_networks

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "Group",
    "Member",
    "Mention",
    "NewMessage",
    "Overflow",
    "RateLimit",
    "Refusal",
    "Robot",
    "RobotKind",
    "RobotView",
    "SenderType",
    "StoredMessage",
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


class Overflow(enum.StrEnum):
    """What happens to messages past a robot's rate limit."""

    REJECT = "reject"
    DIGEST = "digest"


class SenderType(enum.StrEnum):
    ROBOT = "robot"
    USER = "user"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` accepted messages in any ``window_s`` seconds, then a ``block_s`` block.

    ``limit == 0`` or ``window_s == 0`` means unlimited; ``block_s == 0`` refuses only the excess.
    """

    limit: int = 20
    window_s: int = 60
    block_s: int = 600

    @property
    def unlimited(self) -> bool:
        return self.limit == 0 or self.window_s == 0


DEFAULT_RATE_LIMIT = RateLimit()


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    dissolved: bool
    created_at: int


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
    settings: dict[str, Any]
    created_at: int
    updated_at: int

    @property
    def security(self) -> Security:
        return Security(
            keywords=self.keywords, secret=self.secret, networks=parse_networks(self.ip_allow)
        )


@dataclass(frozen=True, slots=True)
class RobotView:
    """What the send path needs about a robot, resolved once and cached."""

    robot: Robot
    group: Group
    security: Security
    members_by_mobile: dict[str, Member] = field(default_factory=dict)
    members_by_user_id: dict[str, Member] = field(default_factory=dict)


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group_id": self.group_id,
            "robot_id": self.robot_id,
            "sender": {
                "type": str(self.sender_type),
                "name": self.sender_name,
                "user_id": self.sender_user_id,
            },
            "msgtype": self.msgtype,
            "payload": self.payload,
            "content": self.content,
            "mentions": self.mentions,
            "at_all": self.at_all,
            "unresolved": self.unresolved,
            "msgUuid": self.msg_uuid,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    id: int
    robot_id: int
    errcode: int
    errmsg: str
    reason: str
    ip: str
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "robot_id": self.robot_id,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
            "reason": self.reason,
            "ip": self.ip,
            "created_at": self.created_at,
        }
