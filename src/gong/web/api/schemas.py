"""Request and response bodies of the management API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from gong.config import Settings
from gong.domain.models import (
    Delivery,
    DeliveryState,
    Group,
    Member,
    Outgoing,
    OutgoingCall,
    Overflow,
    RateLimit,
    Refusal,
    Robot,
    RobotKind,
    StoredMessage,
    Upstream,
    UpstreamSend,
)

__all__ = [
    "DeliveryOut",
    "DeliveryPage",
    "ErrorBody",
    "GroupIn",
    "GroupOut",
    "GroupPatch",
    "IntegrationSettingsIn",
    "MemberIn",
    "MemberOut",
    "MessageOut",
    "MessagePage",
    "OutgoingCallOut",
    "OutgoingIn",
    "OutgoingOut",
    "PreviewOut",
    "RateLimitIn",
    "RefusalOut",
    "RobotIn",
    "RobotOut",
    "RobotPatch",
    "RobotPreviewIn",
    "SendOut",
    "TemplatePreviewIn",
    "UpstreamIn",
    "UpstreamOut",
    "robot_out",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: A name: 1 to 200 characters, not only spaces.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
#: A keyword: 1 to 64 characters, not only spaces.
Keyword = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]
#: An IPv4 address or CIDR range, e.g. ``203.0.113.7`` or ``203.0.113.0/24``.
IPv4Entry = Annotated[
    str, Field(pattern=r"^\s*\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?\s*$", max_length=40)
]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class GroupIn(_In):
    name: Name


class GroupPatch(_In):
    name: Name | None = None
    dissolved: StrictBool | None = None


class GroupOut(BaseModel):
    id: int
    name: str
    dissolved: bool
    created_at: int

    @classmethod
    def of(cls, group: Group) -> GroupOut:
        return cls(
            id=group.id, name=group.name, dissolved=group.dissolved, created_at=group.created_at
        )


class MemberIn(_In):
    name: Name
    mobile: str | None = Field(default=None, max_length=32)
    userId: str | None = Field(default=None, max_length=100)


class MemberOut(BaseModel):
    id: int
    group_id: int
    name: str
    mobile: str | None
    userId: str | None
    created_at: int

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(
            id=member.id,
            group_id=member.group_id,
            name=member.name,
            mobile=member.mobile,
            userId=member.user_id,
            created_at=member.created_at,
        )


class RateLimitIn(_In):
    limit: StrictInt = Field(
        default=20, ge=0, le=1_000_000, description="Messages per window; 0 = unlimited."
    )
    window_s: StrictInt = Field(default=60, ge=0, le=86_400, description="Window in seconds.")
    block_s: StrictInt = Field(
        default=600, ge=0, le=86_400, description="Block after the limit, in seconds."
    )

    def to_domain(self) -> RateLimit:
        return RateLimit(self.limit, self.window_s, self.block_s)


class IntegrationSettingsIn(_In):
    """Integration robot settings (docs/integrations/README.md); in a PATCH, null removes one."""

    source_secret: str | None = Field(
        default=None,
        max_length=256,
        description="The secret the source signs with or sends (GitHub, GitLab, Codeup, JIRA, "
        "Trello, Grafana, Alertmanager, template). Not for travis.",
    )
    only_events: list[str] | None = Field(
        default=None, max_length=50, description="Show only these events (names, families, globs)."
    )
    exclude_events: list[str] | None = Field(
        default=None, max_length=50, description="Never show these events."
    )
    template: str | None = Field(
        default=None, max_length=64_000, description="template robots: the Jinja2 template."
    )
    event_field: str | None = Field(
        default=None,
        max_length=200,
        description="template robots: dotted path of the payload field that names the event.",
    )
    travis_public_key: str | None = Field(
        default=None,
        max_length=10_000,
        description="travis robots: PEM public key to verify with (default: Travis CI's keys).",
    )
    travis_verify: bool | None = Field(
        default=None, description="travis robots: check the Signature header (default true)."
    )
    trello_callback_url: str | None = Field(
        default=None,
        max_length=2_000,
        description="trello robots: the callback URL as registered with Trello, when it is not "
        "the robot's webhook URL.",
    )
    grafana_signature_header: str | None = Field(
        default=None, max_length=100, description="grafana robots: the HMAC header name."
    )
    grafana_timestamp_header: str | None = Field(
        default=None, max_length=100, description="grafana robots: the timestamp header name."
    )

    def given(self) -> dict[str, Any]:
        """The settings the request names (a null one means: remove it)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class UpstreamIn(_In):
    """A relay target: every message the robot accepts is also forwarded there."""

    url: str = Field(
        max_length=2000,
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
        description="The upstream webhook, e.g. `https://oapi.dingtalk.com/robot/send?"
        "access_token=…` (or another Gong robot's).",
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f]*$",
        description="The upstream robot's `SEC…` signing secret.",
    )
    limit: StrictInt = Field(
        default=19, ge=0, le=1000, description="Sends per window; 0 = unpaced. DingTalk allows 20."
    )
    window_s: StrictInt = Field(default=60, ge=1, le=3600, description="Window length in seconds.")
    block_s: StrictInt = Field(
        default=600, ge=0, le=86400, description="Pause after a throttle answer, in seconds."
    )
    keyword: str = Field(
        default="",
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Put in every digest title (keyword security).",
    )

    def to_domain(self) -> Upstream:
        return Upstream(
            url=self.url,
            secret=self.secret,
            limit=self.limit,
            window_s=self.window_s,
            block_s=self.block_s,
            keyword=self.keyword,
        )


class UpstreamOut(BaseModel):
    url: str
    secret: str | None
    limit: int
    window_s: int
    block_s: int
    keyword: str


class OutgoingIn(_In):
    """Call this URL when a person @-mentions the robot (DingTalk's Outgoing mechanism)."""

    url: str = Field(
        max_length=2000,
        pattern=r"^https?://[^\x00-\x20\x7f]+$",
        description="The robot's service, e.g. `https://bot.internal/dingtalk`. Loopback and "
        "private addresses are refused unless `GONG_OUTGOING_ALLOW_PRIVATE=1`.",
    )
    token: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f]+$",
        description="Sent in the `token` header of every callback, for the service to check.",
    )

    def to_domain(self) -> Outgoing:
        return Outgoing(url=self.url, token=self.token)


class OutgoingOut(BaseModel):
    url: str
    token: str


class OutgoingCallOut(BaseModel):
    """One outgoing callback: how it ended, after how many attempts."""

    id: int
    robot_id: int
    group_id: int
    message_id: int = Field(description="The person's message that @-mentioned the robot.")
    sender_user_id: int | None
    state: str = Field(description="`answered`, `no_answer` (`empty` or no body) or `failed`.")
    attempts: int
    http_status: int | None = Field(description="The last attempt's HTTP status (null: none).")
    error: str = Field(description="Why it failed, in words (empty when it did not).")
    duration_ms: int
    answer_message_id: int | None = Field(description="The robot's answer, posted in the group.")
    created_at: int

    @classmethod
    def of(cls, call: OutgoingCall) -> OutgoingCallOut:
        return cls(**call.to_json())


class RobotIn(_In):
    name: Name
    kind: RobotKind = RobotKind.CUSTOM
    keywords: list[Keyword] = Field(default_factory=list, max_length=10)
    signing: StrictBool = False
    ip_allow: list[IPv4Entry] = Field(default_factory=list, max_length=100)
    rate_limit: RateLimitIn = Field(default_factory=RateLimitIn)
    overflow: Overflow = Overflow.REJECT
    avatar_url: str = Field(default="", max_length=1000)
    enabled: StrictBool = True
    settings: IntegrationSettingsIn | None = None
    upstream: UpstreamIn | None = Field(default=None, description="Relay to this webhook.")
    outgoing: OutgoingIn | None = Field(
        default=None, description="Call this service when a person @-mentions the robot."
    )


class RobotPatch(_In):
    name: Name | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=10)
    signing: StrictBool | None = None
    ip_allow: list[IPv4Entry] | None = Field(default=None, max_length=100)
    rate_limit: RateLimitIn | None = None
    overflow: Overflow | None = None
    avatar_url: str | None = Field(default=None, max_length=1000)
    enabled: StrictBool | None = None
    settings: IntegrationSettingsIn | None = None
    upstream: UpstreamIn | None = Field(
        default=None, description="Relay to this webhook; `null` stops relaying."
    )
    outgoing: OutgoingIn | None = Field(
        default=None, description="The outgoing callback; `null` stops calling back."
    )


class RateLimitOut(BaseModel):
    limit: int
    window_s: int
    block_s: int


class RobotOut(BaseModel):
    id: int
    group_id: int
    name: str
    kind: RobotKind
    enabled: bool
    webhook: str
    access_token: str
    secret: str | None
    keywords: list[str]
    ip_allow: list[str]
    rate_limit: RateLimitOut
    overflow: Overflow
    avatar_url: str
    settings: dict[str, Any]
    upstream: UpstreamOut | None = None
    outgoing: OutgoingOut | None = None
    created_at: int
    updated_at: int
    stats: dict[str, int] | None = Field(
        default=None, description="Calls `accepted` and `refused` (shown for one robot)."
    )
    held: int | None = Field(
        default=None,
        description="Messages accepted past the limit and waiting for an overflow summary "
        "(`digest` policy; shown for one robot).",
    )
    deliveries: dict[str, int] | None = Field(
        default=None, description="Relay delivery records per state (robots with an upstream)."
    )


def robot_out(
    robot: Robot,
    settings: Settings,
    stats: dict[str, int] | None = None,
    deliveries: dict[str, int] | None = None,
    *,
    held: int | None = None,
) -> RobotOut:
    upstream = robot.upstream
    outgoing = robot.outgoing
    return RobotOut(
        id=robot.id,
        group_id=robot.group_id,
        name=robot.name,
        kind=robot.kind,
        enabled=robot.enabled,
        webhook=settings.webhook_url(robot.access_token),
        access_token=robot.access_token,
        secret=robot.secret,
        keywords=list(robot.keywords),
        ip_allow=list(robot.ip_allow),
        rate_limit=RateLimitOut(
            limit=robot.rate_limit.limit,
            window_s=robot.rate_limit.window_s,
            block_s=robot.rate_limit.block_s,
        ),
        overflow=robot.overflow,
        avatar_url=robot.avatar_url,
        settings={k: v for k, v in robot.settings.items() if k not in ("upstream", "outgoing")},
        upstream=None if upstream is None else UpstreamOut(**upstream.to_settings()),
        outgoing=None if outgoing is None else OutgoingOut(**outgoing.to_settings()),
        created_at=robot.created_at,
        updated_at=robot.updated_at,
        stats=stats,
        held=held,
        deliveries=deliveries,
    )


class TemplatePreviewIn(_In):
    template: str = Field(max_length=64_000, description="The Jinja2 template.")
    payload: Any = Field(description="The JSON payload to render, as a sender would post it.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers the template may read."
    )


class RobotPreviewIn(_In):
    payload: Any = Field(description="A saved payload, as the robot's source posts it.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="The source's headers that name the event, e.g. X-GitHub-Event.",
    )


class PreviewOut(BaseModel):
    message: dict[str, Any] | None = Field(
        description="The DingTalk message that would be posted; null when the event is ignored."
    )
    ignored: str | None = Field(default=None, description="Why nothing would be posted.")
    bytes: int = Field(description="Size of the message's JSON; DingTalk's limit is 20000.")


class MessageOut(BaseModel):
    id: int
    group_id: int
    robot_id: int | None
    sender: dict[str, Any]
    msgtype: str
    payload: Any = Field(
        description="The body as the sender posted it: DingTalk JSON for custom robots, the "
        "source's JSON (any JSON value for template robots) for integration robots."
    )
    content: dict[str, Any]
    mentions: list[dict[str, Any]]
    at_all: bool
    unresolved: list[str]
    msgUuid: str | None
    created_at: int

    @classmethod
    def of(cls, message: StoredMessage) -> MessageOut:
        return cls.model_validate(message.to_json())


class MessagePage(BaseModel):
    messages: list[MessageOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


class RefusalOut(BaseModel):
    id: int
    robot_id: int
    errcode: int
    errmsg: str
    reason: str
    ip: str
    created_at: int

    @classmethod
    def of(cls, refusal: Refusal) -> RefusalOut:
        return cls.model_validate(refusal.to_json())


class SendOut(BaseModel):
    """One request to the upstream: the message as it was (`single`) or a `digest`."""

    id: int
    kind: str
    msgUuid: str
    items: int = Field(description="Messages this send carries.")
    state: str = Field(description="pending, sent or failed")
    attempts: int
    next_attempt_at: int | None
    last_attempt_at: int | None
    errcode: int | None = Field(description="The upstream's last errcode (null: no answer).")
    errmsg: str | None
    created_at: int
    sent_at: int | None

    @classmethod
    def of(cls, send: UpstreamSend) -> SendOut:
        return cls.model_validate(send.to_json())


class DeliveryOut(BaseModel):
    """The relay record of one accepted message."""

    id: int
    robot_id: int
    message_id: int | None = Field(description="The message in the group (null while held).")
    held_id: int | None = Field(description="The held overflow message, for `digest` robots.")
    state: DeliveryState
    msgtype: str | None
    title: str
    created_at: int
    updated_at: int
    send: SendOut | None = Field(description="The upstream send carrying it, once planned.")

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls.model_validate(delivery.to_json())


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    counts: dict[str, int] = Field(description="All of the robot's delivery records per state.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
