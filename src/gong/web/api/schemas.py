"""Request and response bodies of the management API.

The OpenAPI document is generated from these models and states what the API accepts: every rule
the server checks on a request body is a constraint here (patterns from
:mod:`gong.web.api.patterns`). The models enforce some; the rules that the domain checks with
its own wording are stated for the schema only (:func:`checked`, ``json_schema_extra``), and
``tests/fuzz/test_patterns.py`` holds the two to each other. A request the schema allows is
refused only for the data it meets (404, 409, and 422 for a relay loop or a dissolved group) or
for what no JSON Schema can state — a Jinja2 template that does not compile or render, a PEM key
that does not load, a host that is not a valid IDNA name or does not resolve to an allowed
address; the descriptions name those (docs/management-api.md lists them).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
)

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
from gong.integrations.config import allowed_settings
from gong.protocol.messages import MAX_MSG_UUID
from gong.web.api import patterns

__all__ = [
    "PERSON_MESSAGE",
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


def _whole_number(value: Any) -> Any:
    """``60.0`` is the integer 60 in JSON (and in JSON Schema's ``integer``): take it as such."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A JSON integer: no string or boolean, and ``60.0`` counts as 60.
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]


def checked(pattern: str) -> dict[str, JsonValue]:
    """A rule the server checks itself (with its own wording when it refuses), stated for the
    schema: the ``pattern`` in an ``allOf``, beside any the model enforces."""
    return {"allOf": [{"pattern": pattern}]}


#: Not only spaces, for long texts that the server checks itself (as a ``pattern`` beside a
#: large ``maxLength`` it would cost test generators seconds per operation).
NOT_BLANK: dict[str, JsonValue] = {"not": {"type": "string", "pattern": patterns.BLANK}}
#: The form the model itself enforces for a URL (its wording when it refuses).
_URL_FORM = r"^https?://[^\x00-\x20\x7f]+$"
#: A name: 1 to 200 characters, not only spaces.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK)]
#: A keyword: 1 to 64 characters, not only spaces.
Keyword = Annotated[str, Field(min_length=1, max_length=64, pattern=patterns.NOT_BLANK)]
#: An IPv4 address or CIDR range, e.g. ``203.0.113.7`` or ``203.0.113.0/24``.
IPv4Entry = Annotated[str, Field(pattern=patterns.IPV4_ENTRY, max_length=40)]
#: A list of event names (``only_events``, ``exclude_events``).
EventNames = Annotated[
    list[Annotated[str, Field(json_schema_extra=checked(patterns.EVENT_NAME))]],
    Field(max_length=50),
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
    """A member needs a mobile or a userId (not only spaces); either is unique in its group."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": [key],
                    "properties": {key: {"type": "string", "pattern": patterns.NOT_BLANK}},
                }
                for key in ("mobile", "userId")
            ]
        }
    )

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
    limit: WholeNumber = Field(
        default=20, ge=0, le=1_000_000, description="Messages per window; 0 = unlimited."
    )
    window_s: WholeNumber = Field(default=60, ge=0, le=86_400, description="Window in seconds.")
    block_s: WholeNumber = Field(
        default=600, ge=0, le=86_400, description="Block after the limit, in seconds."
    )

    def to_domain(self) -> RateLimit:
        return RateLimit(self.limit, self.window_s, self.block_s)


class IntegrationSettingsIn(_In):
    """Integration robot settings (docs/integrations/README.md); in a PATCH, null removes one.

    Which settings a robot takes depends on its kind: a robot's own kind when it is created
    (the schema of ``RobotIn`` says which), the stored robot's when it is changed (a setting its
    kind does not take is a 409).
    """

    source_secret: str | None = Field(
        default=None,
        max_length=256,
        json_schema_extra=checked(patterns.SOURCE_SECRET),
        description="The secret the source signs with or sends (GitHub, GitLab, Codeup, JIRA, "
        "Trello, Grafana, Alertmanager, template). Not for travis. Printable characters, no "
        "spaces at its ends (unassigned, private-use and format characters are refused too).",
    )
    only_events: EventNames | None = Field(
        default=None,
        description="Show only these events (names, families, globs; 1 to 100 characters, no "
        "spaces).",
    )
    exclude_events: EventNames | None = Field(default=None, description="Never show these events.")
    template: str | None = Field(
        default=None,
        max_length=64_000,
        json_schema_extra=NOT_BLANK,
        description="template robots (required there): the Jinja2 template; it must compile.",
    )
    event_field: str | None = Field(
        default=None,
        max_length=200,
        json_schema_extra=checked(patterns.NOT_BLANK),
        description="template robots: dotted path of the payload field that names the event.",
    )
    travis_public_key: str | None = Field(
        default=None,
        max_length=10_000,
        json_schema_extra=NOT_BLANK,
        description="travis robots: PEM public key to verify with (default: Travis CI's keys); "
        "it must load as an RSA public key.",
    )
    travis_verify: StrictBool | None = Field(
        default=None, description="travis robots: check the Signature header (default true)."
    )
    trello_callback_url: str | None = Field(
        default=None,
        max_length=2_000,
        json_schema_extra=checked(patterns.TRELLO_URL),
        description="trello robots: the callback URL as registered with Trello, when it is not "
        "the robot's webhook URL.",
    )
    grafana_signature_header: str | None = Field(
        default=None,
        max_length=100,
        json_schema_extra=checked(patterns.HEADER_NAME),
        description="grafana robots: the HMAC header name.",
    )
    grafana_timestamp_header: str | None = Field(
        default=None,
        max_length=100,
        json_schema_extra=checked(patterns.HEADER_NAME),
        description="grafana robots: the timestamp header name.",
    )

    def given(self) -> dict[str, Any]:
        """The settings the request names (a null one means: remove it)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class UpstreamIn(_In):
    """A relay target: every message the robot accepts is also forwarded there."""

    url: str = Field(
        max_length=2000,
        pattern=_URL_FORM,
        json_schema_extra=checked(patterns.UPSTREAM_URL),
        description="The upstream webhook, e.g. `https://oapi.dingtalk.com/robot/send?"
        "access_token=…` (or another Gong robot's; not the robot's own, and not one that relays "
        "back to it). Its host must resolve, and only to addresses Gong may send to (loopback "
        "and private ones unless `GONG_OUTGOING_ALLOW_PRIVATE=1`).",
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f]*$",
        json_schema_extra=checked(patterns.SECRET),
        description="The upstream robot's `SEC…` signing secret (empty: none).",
    )
    limit: WholeNumber = Field(
        default=19, ge=0, le=1000, description="Sends per window; 0 = unpaced. DingTalk allows 20."
    )
    window_s: WholeNumber = Field(
        default=60, ge=1, le=3600, description="Window length in seconds."
    )
    block_s: WholeNumber = Field(
        default=600, ge=0, le=86400, description="Pause after a throttle answer, in seconds."
    )
    keyword: str = Field(
        default="",
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        json_schema_extra=checked(patterns.ONE_LINE),
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
        pattern=_URL_FORM,
        json_schema_extra=checked(patterns.OUTGOING_URL),
        description="The robot's service, e.g. `https://bot.internal/dingtalk`. Its host must be "
        "a valid (IDNA) name or address that resolves, and only to addresses Gong may call: "
        "loopback and private ones are refused unless `GONG_OUTGOING_ALLOW_PRIVATE=1`.",
    )
    token: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f]+$",
        json_schema_extra=checked(patterns.TOKEN),
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


def _kind_rules() -> list[JsonValue]:
    """One branch per robot kind, for ``RobotIn``'s schema: what a robot of that kind needs and
    takes (:func:`gong.domain.robots.check_settings`,
    :func:`gong.integrations.config.check_robot_settings`).

    A custom robot (the default kind) needs a security setting — keywords, signing or an IP
    allow list — and takes no integration setting; an integration robot takes no keywords and
    no signing, and only its kind's settings; a template robot needs its template.
    """
    branches: list[JsonValue] = []
    for kind in RobotKind:
        taken = allowed_settings(kind)
        settings: dict[str, Any] = {
            "properties": {
                key: {"type": "null"}
                for key in sorted(IntegrationSettingsIn.model_fields)
                if key not in taken
            }
        }
        branch: dict[str, Any] = {"properties": {"kind": {"const": kind.value}}}
        if kind is RobotKind.CUSTOM:
            branch["anyOf"] = [
                {"required": ["keywords"], "properties": {"keywords": {"minItems": 1}}},
                {"required": ["signing"], "properties": {"signing": {"const": True}}},
                {"required": ["ip_allow"], "properties": {"ip_allow": {"minItems": 1}}},
            ]
        else:
            branch["required"] = ["kind"]
            branch["properties"].update(keywords={"maxItems": 0}, signing={"const": False})
        if kind is RobotKind.TEMPLATE:
            branch["required"] = ["kind", "settings"]
            settings.update(type="object", required=["template"])
            settings["properties"]["template"] = {"type": "string"}
        branch["properties"]["settings"] = settings
        branches.append(branch)
    return branches


class RobotIn(_In):
    """A new robot. What its kind needs and takes is part of the schema (one ``anyOf`` branch
    per kind): a custom robot needs keywords, signing or an IP allow list, as on DingTalk."""

    model_config = ConfigDict(json_schema_extra={"anyOf": _kind_rules()})

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
    """Changes to a robot; fields left out keep their value.

    What fits depends on the stored robot, so it is checked against it and a change that does
    not fit is a 409: keywords and signing on an integration robot, a setting its kind does not
    take, a custom robot left without any security setting, a template robot without a template.
    """

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


def _as_delivered(value: Any) -> Any:
    """A payload as a delivery's body parser (orjson) reads it: an integer past 64 bits is a
    float. (A number past a double's range is refused there, and here.)"""
    if isinstance(value, int) and not isinstance(value, bool):
        if -(2**63) <= value < 2**64:
            return value
        try:
            return float(value)
        except OverflowError:
            return value
    if isinstance(value, list):
        return [_as_delivered(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_delivered(item) for key, item in value.items()}
    return value


#: Any JSON value, read as a template robot reads a delivery.
Payload = Annotated[Any, BeforeValidator(_as_delivered)]


class TemplatePreviewIn(_In):
    """A template and a payload to try it on. The answer is 422 when the template does not
    compile, fails, or does not render ``payload`` into a DingTalk message (JSON, at most 20000
    bytes): whether it does is what a preview is for, and no schema can say."""

    template: str = Field(
        max_length=64_000,
        json_schema_extra=NOT_BLANK,
        description="The Jinja2 template.",
    )
    payload: Payload = Field(
        description="The JSON payload to render (any JSON value, null too), as a sender would "
        "post it."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers the template may read."
    )


class RobotPreviewIn(_In):
    """A saved payload to try an integration robot on. The answer is 422 when the payload is not
    what the robot's source sends (or the robot is a custom one: nothing to preview)."""

    payload: Payload = Field(description="A saved payload, as the robot's source posts it.")
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


def _person_message() -> dict[str, Any]:
    """The JSON Schema of a message a person posts: ``text`` or ``markdown`` in DingTalk's shape,
    read by :func:`gong.protocol.messages.parse_message` with its leniency (numbers for mobiles
    and ``msgUuid``, ``null`` lists, ``isAtAll`` as ``0``/``1``/``"true"``/…)."""
    # The body is read with orjson, which reads an integer past 64 bits as a float.
    integer = {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1}
    names = {
        "type": "array",
        "items": {"anyOf": [{"type": "string"}, integer]},
        "description": "Strings, or integers written as such (13800000001, not 13800000001.0).",
    }
    at = {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "properties": {
                    "atMobiles": {"anyOf": [{"type": "null"}, names]},
                    "atUserIds": {"anyOf": [{"type": "null"}, names]},
                    "atDingtalkIds": {"anyOf": [{"type": "null"}, names]},
                    "isAtAll": {
                        "anyOf": [
                            {"type": ["boolean", "null"]},
                            {"enum": [0, 1]},
                            {
                                "type": "string",
                                "pattern": "^(?:|[01]|[tTfFyYnN]|[nN][oO]|[oO][nN]|[oO][fF][fF]"
                                "|[yY][eE][sS]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])$",
                            },
                        ]
                    },
                },
            },
        ],
        "description": "Who to notify: `atMobiles`, `atUserIds`, `isAtAll`.",
    }
    uuid = {
        "anyOf": [
            {"type": "null"},
            {"type": "string", "maxLength": MAX_MSG_UUID, "pattern": "^[^\\x00]*$"},
            integer,
        ],
        "description": "Accepted and not used: a person's message is never a duplicate. An "
        "integer is written as such (5, not 5.0).",
    }
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "description": "At most 20000 bytes of JSON.",
        "oneOf": [
            {
                "title": "text",
                "required": ["msgtype", "text"],
                "properties": {
                    "msgtype": {"const": "text"},
                    "text": {
                        "type": "object",
                        "required": ["content"],
                        "properties": {"content": text},
                    },
                    "at": at,
                    "msgUuid": uuid,
                },
            },
            {
                "title": "markdown",
                "required": ["msgtype", "markdown"],
                "properties": {
                    "msgtype": {"const": "markdown"},
                    "markdown": {
                        "type": "object",
                        "required": ["title", "text"],
                        "properties": {"title": text, "text": text},
                    },
                    "at": at,
                    "msgUuid": uuid,
                },
            },
        ],
    }


#: The request body of ``POST /api/groups/{id}/messages`` (the route reads it itself).
PERSON_MESSAGE = _person_message()


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
