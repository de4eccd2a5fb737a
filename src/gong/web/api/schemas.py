"""Request bodies of the management API (the answers are :mod:`gong.schemas.records`).

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

from gong.domain.groups import MAX_RETENTION_COUNT, MAX_RETENTION_DAYS
from gong.domain.models import (
    Outgoing,
    Overflow,
    RateLimit,
    RobotKind,
    Upstream,
    UpstreamFit,
)
from gong.domain.robot_admin import ALERT_KINDS
from gong.domain.specs import RobotSpec
from gong.domain.timetext import zone_names
from gong.integrations.config import (
    MAX_EVENT_FIELD,
    MAX_EVENT_NAME,
    MAX_EVENTS,
    MAX_HEADER_NAME,
    MAX_SOURCE_SECRET,
    MAX_TRAVIS_PUBLIC_KEY,
    MAX_TRELLO_CALLBACK_URL,
    allowed_settings,
)
from gong.integrations.template import MAX_TEMPLATE_LENGTH
from gong.protocol.limits import (
    DEFAULT_UPSTREAM_BLOCK,
    DEFAULT_UPSTREAM_LIMIT,
    DEFAULT_UPSTREAM_WINDOW,
    DINGTALK_RATE_BLOCK,
    DINGTALK_RATE_LIMIT,
    DINGTALK_RATE_WINDOW,
    MAX_AVATAR_URL,
    MAX_BODY_BYTES,
    MAX_DEDUPE_WINDOW,
    MAX_IP_ALLOW,
    MAX_IP_ENTRY,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    MAX_MENTION_LABELS,
    MAX_MOBILE,
    MAX_NAME,
    MAX_OUTGOING_TOKEN,
    MAX_OUTGOING_URL,
    MAX_RATE_BLOCK,
    MAX_RATE_LIMIT,
    MAX_RATE_WINDOW,
    MAX_UPSTREAM_LIMIT,
    MAX_UPSTREAM_SECRET,
    MAX_UPSTREAM_URL,
    MAX_UPSTREAM_WINDOW,
    MAX_USER_ID,
    MIN_UPSTREAM_WINDOW,
)
from gong.web.api import patterns

__all__ = [
    "GroupIn",
    "GroupPatch",
    "IntegrationSettingsIn",
    "MemberIn",
    "OutgoingIn",
    "PreviewOut",
    "RateLimitIn",
    "RobotIn",
    "RobotPatch",
    "RobotPreviewIn",
    "TemplatePreviewIn",
    "UpstreamIn",
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


def whole_number(ge: int, le: int) -> Any:
    """A :data:`WholeNumber` from ``ge`` to ``le``, with its bounds in the JSON Schema (as
    ``minimum``/``maximum``, also when the field may be null)."""
    return Annotated[StrictInt, Field(ge=ge, le=le), BeforeValidator(_whole_number)]


def checked(pattern: str) -> dict[str, JsonValue]:
    """A rule the server checks itself (with its own wording when it refuses), stated for the
    schema: the ``pattern`` in an ``allOf``, beside any the model enforces."""
    return {"allOf": [{"pattern": pattern}]}


#: Not only spaces, for long texts that the server checks itself (as a ``pattern`` beside a
#: large ``maxLength`` it would cost test generators seconds per operation).
NOT_BLANK: dict[str, JsonValue] = {"not": {"type": "string", "pattern": patterns.BLANK}}
#: The form the model itself enforces for a URL (its wording when it refuses).
_URL_FORM = r"^https?://[^\x00-\x20\x7f]+$"
#: A name: 1 to ``MAX_NAME`` characters, not only spaces.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=patterns.NOT_BLANK)]
#: A keyword: 1 to ``MAX_KEYWORD_LENGTH`` characters, not only spaces.
Keyword = Annotated[
    str, Field(min_length=1, max_length=MAX_KEYWORD_LENGTH, pattern=patterns.NOT_BLANK)
]
#: An IPv4 address or CIDR range, e.g. ``203.0.113.7`` or ``203.0.113.0/24``.
IPv4Entry = Annotated[str, Field(pattern=patterns.IPV4_ENTRY, max_length=MAX_IP_ENTRY)]
#: A list of event names (``only_events``, ``exclude_events``).
EventNames = Annotated[
    list[Annotated[str, Field(json_schema_extra=checked(patterns.EVENT_NAME))]],
    Field(max_length=MAX_EVENTS),
]


class ShowEventsIn(_In):
    events: EventNames = Field(
        default_factory=list,
        description="The ignored events to show (their names as listed); empty: all of them.",
    )


class GroupIn(_In):
    name: Name


class GroupPatch(_In):
    name: Name | None = None
    dissolved: StrictBool | None = None
    timezone: Annotated[str, Field(json_schema_extra={"enum": ["", *zone_names()]})] | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone (`Asia/Shanghai`) for times written into the group's "
        'messages; `""` returns to the server\'s.',
    )
    retention_days: whole_number(0, MAX_RETENTION_DAYS) | None = Field(  # type: ignore[valid-type]
        default=None, description="Keep messages this many days (0: forever, the default)."
    )
    retention_count: whole_number(0, MAX_RETENTION_COUNT) | None = Field(  # type: ignore[valid-type]
        default=None, description="Keep only the newest this many messages (0: all, the default)."
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
    mobile: str | None = Field(default=None, max_length=MAX_MOBILE)
    userId: str | None = Field(default=None, max_length=MAX_USER_ID)


class RateLimitIn(_In):
    limit: WholeNumber = Field(
        default=DINGTALK_RATE_LIMIT,
        ge=0,
        le=MAX_RATE_LIMIT,
        description="Messages per window; 0 = unlimited.",
    )
    window_s: WholeNumber = Field(
        default=DINGTALK_RATE_WINDOW, ge=0, le=MAX_RATE_WINDOW, description="Window in seconds."
    )
    block_s: WholeNumber = Field(
        default=DINGTALK_RATE_BLOCK,
        ge=0,
        le=MAX_RATE_BLOCK,
        description="Block after the limit, in seconds.",
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
        max_length=MAX_SOURCE_SECRET,
        json_schema_extra=checked(patterns.SOURCE_SECRET),
        description="The secret the source signs with or sends (GitHub, GitLab, Codeup, JIRA, "
        "Trello, Grafana, Alertmanager, template). Not for travis. Printable characters, no "
        "spaces at its ends (unassigned, private-use and format characters are refused too).",
    )
    only_events: EventNames | None = Field(
        default=None,
        description="Show only these events (names, families, globs; 1 to "
        f"{MAX_EVENT_NAME} characters, no spaces).",
    )
    exclude_events: EventNames | None = Field(default=None, description="Never show these events.")
    include_events: EventNames | None = Field(
        default=None,
        description="Also show these opt-in events (successful CI runs, stars, forks, emoji); "
        "a family (`star`) opts in all its events.",
    )
    show_unknown: StrictBool | None = Field(
        default=None,
        description="Post a short message (the source, the event's name, where) for events "
        "Gong has no message for, instead of ignoring them.",
    )
    template: str | None = Field(
        default=None,
        max_length=MAX_TEMPLATE_LENGTH,
        json_schema_extra=NOT_BLANK,
        description="template robots (required there): the Jinja2 template; it must compile.",
    )
    event_field: str | None = Field(
        default=None,
        max_length=MAX_EVENT_FIELD,
        json_schema_extra=checked(patterns.NOT_BLANK),
        description="template robots: dotted path of the payload field that names the event.",
    )
    travis_public_key: str | None = Field(
        default=None,
        max_length=MAX_TRAVIS_PUBLIC_KEY,
        json_schema_extra=NOT_BLANK,
        description="travis robots: PEM public key to verify with (default: Travis CI's keys); "
        "it must load as an RSA public key.",
    )
    travis_verify: StrictBool | None = Field(
        default=None, description="travis robots: check the Signature header (default true)."
    )
    trello_callback_url: str | None = Field(
        default=None,
        max_length=MAX_TRELLO_CALLBACK_URL,
        json_schema_extra=checked(patterns.TRELLO_URL),
        description="trello robots: the callback URL as registered with Trello, when it is not "
        "the robot's webhook URL.",
    )
    grafana_signature_header: str | None = Field(
        default=None,
        max_length=MAX_HEADER_NAME,
        json_schema_extra=checked(patterns.HEADER_NAME),
        description="grafana robots: the HMAC header name.",
    )
    grafana_timestamp_header: str | None = Field(
        default=None,
        max_length=MAX_HEADER_NAME,
        json_schema_extra=checked(patterns.HEADER_NAME),
        description="grafana robots: the timestamp header name.",
    )

    def given(self) -> dict[str, Any]:
        """The settings the request names (a null one means: remove it)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class UpstreamIn(_In):
    """A relay target: every message the robot accepts is also forwarded there."""

    url: str = Field(
        max_length=MAX_UPSTREAM_URL,
        pattern=_URL_FORM,
        json_schema_extra=checked(patterns.UPSTREAM_URL),
        description="The upstream webhook, e.g. `https://oapi.dingtalk.com/robot/send?"
        "access_token=…` (or another Gong robot's; not the robot's own, and not one that relays "
        "back to it). Its host must resolve, and only to addresses Gong may send to (loopback "
        "and private ones unless `GONG_OUTGOING_ALLOW_PRIVATE=1`).",
    )
    secret: str | None = Field(
        default=None,
        max_length=MAX_UPSTREAM_SECRET,
        pattern=r"^[^\x00-\x20\x7f]*$",
        json_schema_extra=checked(patterns.SECRET),
        description="The upstream robot's `SEC…` signing secret (empty: none).",
    )
    limit: WholeNumber = Field(
        default=DEFAULT_UPSTREAM_LIMIT,
        ge=0,
        le=MAX_UPSTREAM_LIMIT,
        description=f"Sends per window; 0 = unpaced. DingTalk allows {DINGTALK_RATE_LIMIT}.",
    )
    window_s: WholeNumber = Field(
        default=DEFAULT_UPSTREAM_WINDOW,
        ge=MIN_UPSTREAM_WINDOW,
        le=MAX_UPSTREAM_WINDOW,
        description="Window length in seconds.",
    )
    block_s: WholeNumber = Field(
        default=DEFAULT_UPSTREAM_BLOCK,
        ge=0,
        le=MAX_RATE_BLOCK,
        description="Pause after a throttle answer, in seconds.",
    )
    keyword: str = Field(
        default="",
        max_length=MAX_KEYWORD_LENGTH,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        json_schema_extra=checked(patterns.ONE_LINE),
        description="Put in every digest title (keyword security).",
    )
    fit: UpstreamFit = Field(
        default=UpstreamFit.SUMMARY,
        description=f"A message larger than one DingTalk message ({MAX_BODY_BYTES} bytes): "
        "`summary` sends "
        "its beginning and a link to the whole message in Gong, `split` sends numbered parts.",
    )

    def to_domain(self) -> Upstream:
        return Upstream(
            url=self.url,
            secret=self.secret,
            limit=self.limit,
            window_s=self.window_s,
            block_s=self.block_s,
            keyword=self.keyword,
            fit=self.fit,
        )


class OutgoingIn(_In):
    """Call this URL when a person @-mentions the robot (DingTalk's Outgoing mechanism)."""

    url: str = Field(
        max_length=MAX_OUTGOING_URL,
        pattern=_URL_FORM,
        json_schema_extra=checked(patterns.OUTGOING_URL),
        description="The robot's service, e.g. `https://bot.internal/dingtalk`. Its host must be "
        "a valid (IDNA) name or address that resolves, and only to addresses Gong may call: "
        "loopback and private ones are refused unless `GONG_OUTGOING_ALLOW_PRIVATE=1`.",
    )
    token: str = Field(
        min_length=1,
        max_length=MAX_OUTGOING_TOKEN,
        pattern=r"^[^\x00-\x20\x7f]+$",
        json_schema_extra=checked(patterns.TOKEN),
        description="Sent in the `token` header of every callback, for the service to check.",
    )

    def to_domain(self) -> Outgoing:
        return Outgoing(url=self.url, token=self.token)


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
        if kind not in ALERT_KINDS:  # owners come from alert labels
            branch["properties"]["mention_labels"] = {"maxItems": 0}
        if kind is RobotKind.TEMPLATE:
            branch["required"] = ["kind", "settings"]
            settings.update(type="object", required=["template"])
            settings["properties"]["template"] = {"type": "string"}
        branch["properties"]["settings"] = settings
        branches.append(branch)
    return branches


_QUIET = (
    "Quiet window in seconds: a message identical to one the robot posted within it is counted "
    "on that one (`repeat`) instead of posted again; 0 turns it off."
)
_OWNERS = (
    "Alert labels whose values name members (mobile, userId or name) that the robot's alert "
    "messages @-mention (alertmanager, grafana, sentry, uptime-kuma and template robots)."
)
#: A Prometheus label name.
LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]


class RobotIn(_In):
    """A new robot. What its kind needs and takes is part of the schema (one ``anyOf`` branch
    per kind): a custom robot needs keywords, signing or an IP allow list, as on DingTalk."""

    model_config = ConfigDict(json_schema_extra={"anyOf": _kind_rules()})

    name: Name
    kind: RobotKind = RobotKind.CUSTOM
    keywords: list[Keyword] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    signing: StrictBool = False
    ip_allow: list[IPv4Entry] = Field(default_factory=list, max_length=MAX_IP_ALLOW)
    rate_limit: RateLimitIn = Field(default_factory=RateLimitIn)
    overflow: Overflow = Overflow.REJECT
    avatar_url: str = Field(default="", max_length=MAX_AVATAR_URL)
    enabled: StrictBool = True
    settings: IntegrationSettingsIn | None = None
    upstream: UpstreamIn | None = Field(default=None, description="Relay to this webhook.")
    outgoing: OutgoingIn | None = Field(
        default=None, description="Call this service when a person @-mentions the robot."
    )
    dedupe_window_s: WholeNumber = Field(default=0, ge=0, le=MAX_DEDUPE_WINDOW, description=_QUIET)
    mention_labels: list[LabelName] = Field(
        default_factory=list, max_length=MAX_MENTION_LABELS, description=_OWNERS
    )

    def to_spec(self, group_id: int) -> RobotSpec:
        """The robot to create in ``group_id``, as the robot service takes it (the API and
        ``gong apply`` both ask for robots this way)."""
        return RobotSpec(
            group_id=group_id,
            name=self.name,
            kind=self.kind,
            keywords=self.keywords,
            signing=self.signing,
            ip_allow=self.ip_allow,
            rate_limit=self.rate_limit.to_domain(),
            overflow=self.overflow,
            avatar_url=self.avatar_url,
            enabled=self.enabled,
            settings=self.settings.given() if self.settings else {},
            upstream=self.upstream.to_domain() if self.upstream else None,
            outgoing=self.outgoing.to_domain() if self.outgoing else None,
            dedupe_window_s=self.dedupe_window_s,
            mention_labels=self.mention_labels,
        )


class RobotPatch(_In):
    """Changes to a robot; fields left out keep their value.

    What fits depends on the stored robot, so it is checked against it and a change that does
    not fit is a 409: keywords and signing on an integration robot, a setting its kind does not
    take, a custom robot left without any security setting, a template robot without a template.
    """

    name: Name | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=MAX_KEYWORDS)
    signing: StrictBool | None = None
    ip_allow: list[IPv4Entry] | None = Field(default=None, max_length=MAX_IP_ALLOW)
    rate_limit: RateLimitIn | None = None
    overflow: Overflow | None = None
    avatar_url: str | None = Field(default=None, max_length=MAX_AVATAR_URL)
    enabled: StrictBool | None = None
    settings: IntegrationSettingsIn | None = None
    upstream: UpstreamIn | None = Field(
        default=None, description="Relay to this webhook; `null` stops relaying."
    )
    outgoing: OutgoingIn | None = Field(
        default=None, description="The outgoing callback; `null` stops calling back."
    )
    upstream_fit: UpstreamFit | None = Field(
        default=None, description="Change only how large messages fit the upstream."
    )
    dedupe_window_s: whole_number(0, MAX_DEDUPE_WINDOW) | None = Field(  # type: ignore[valid-type]
        default=None, description=_QUIET
    )
    mention_labels: list[LabelName] | None = Field(
        default=None, max_length=MAX_MENTION_LABELS, description=_OWNERS
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
    # The docstring, with the body limit filled in (it is the schema's description).
    __doc__ = (
        "A template and a payload to try it on. The answer is 422 when the template does not\n"
        "    compile, fails, or does not render ``payload`` into a DingTalk message (JSON, at most "
        f"{MAX_BODY_BYTES}\n"
        "    bytes): whether it does is what a preview is for, and no schema can say."
    )

    template: str = Field(
        max_length=MAX_TEMPLATE_LENGTH,
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


class SampleOut(BaseModel):
    """A documented delivery of the robot's source, to preview before wiring the source."""

    name: str = Field(description="Pass to `POST /api/robots/{id}/samples/{name}/preview`.")
    event: str | None = Field(description="The event's name as the robot's filters see it.")
    headers: dict[str, str] = Field(description="The headers the source sends with it.")
    payload: Any = Field(description="The JSON document the source sends.")


class PreviewOut(BaseModel):
    message: dict[str, Any] | None = Field(
        description="The DingTalk message that would be posted; null when the event is ignored."
    )
    ignored: str | None = Field(default=None, description="Why nothing would be posted.")
    bytes: int = Field(
        description=f"Size of the message's JSON; DingTalk's limit is {MAX_BODY_BYTES}."
    )
