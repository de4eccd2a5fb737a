"""How Gong shows its records to the world: one pydantic model per record.

The REST API answers with these models and the CLI's ``--json`` prints them, so the two agree
field for field. Secrets (access tokens, signing secrets, source secrets, outgoing tokens) are
in them because only admins see these shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from gong.config import Settings
from gong.domain.hints import hint_text
from gong.domain.models import (
    Delivery,
    DeliveryState,
    Group,
    IgnoredEvent,
    IgnoreReason,
    Member,
    OutgoingCall,
    Overflow,
    Refusal,
    Robot,
    RobotKind,
    StoredMessage,
    UpstreamFit,
    UpstreamSend,
)
from gong.domain.search import SearchPage

__all__ = [
    "AlertOut",
    "DeliveryOut",
    "DeliveryPage",
    "ErrorBody",
    "ErrorDetail",
    "GroupOut",
    "IgnoredEventOut",
    "MemberOut",
    "MessageOut",
    "MessagePage",
    "OutgoingCallOut",
    "OutgoingOut",
    "RateLimitOut",
    "RefusalOut",
    "RobotOut",
    "SearchHitOut",
    "SearchPageOut",
    "SegmentOut",
    "SendOut",
    "UpstreamOut",
    "robot_out",
]


class ErrorDetail(BaseModel):
    code: str
    message: str
    text: str | None = Field(
        default=None,
        description="The message in the reader's language; only in answers to the web app's "
        "own requests (signed in with its session cookie), never to a Bearer token.",
    )
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class GroupOut(BaseModel):
    id: int
    name: str
    dissolved: bool
    created_at: int
    timezone: str | None = Field(
        description="The IANA time zone times in this group's messages are written in; null: "
        "the server's (`GONG_TIMEZONE`)."
    )
    retention_days: int | None = Field(
        default=None, description="Messages are kept this many days; null: forever."
    )
    retention_count: int | None = Field(
        default=None, description="Only the newest this many messages are kept; null: all."
    )

    @classmethod
    def of(cls, group: Group) -> GroupOut:
        return cls(
            id=group.id,
            name=group.name,
            dissolved=group.dissolved,
            created_at=group.created_at,
            timezone=group.timezone,
            retention_days=group.retention_days,
            retention_count=group.retention_count,
        )


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


class UpstreamOut(BaseModel):
    url: str
    secret: str | None
    limit: int
    window_s: int
    block_s: int
    keyword: str
    fit: UpstreamFit = Field(
        description="How a message larger than one DingTalk message is sent: `summary` (the "
        "beginning and a link to the whole message in Gong) or `split` (numbered parts)."
    )


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
        return cls(
            id=call.id,
            robot_id=call.robot_id,
            group_id=call.group_id,
            message_id=call.message_id,
            sender_user_id=call.sender_user_id,
            state=call.state,
            attempts=call.attempts,
            http_status=call.http_status,
            error=call.error,
            duration_ms=call.duration_ms,
            answer_message_id=call.answer_message_id,
            created_at=call.created_at,
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
    dedupe_window_s: int = Field(
        description="The quiet window: an identical message within this many seconds is "
        "counted on the earlier one (`repeat`) instead of posted (0: off)."
    )
    mention_labels: list[str] = Field(
        description="Alert labels whose values name members (mobile, userId or name) to @."
    )
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
        settings=dict(robot.settings),
        upstream=None if upstream is None else UpstreamOut(**upstream.to_settings()),
        outgoing=None if outgoing is None else OutgoingOut(**outgoing.to_settings()),
        dedupe_window_s=robot.dedupe_window_s,
        mention_labels=list(robot.mention_labels),
        created_at=robot.created_at,
        updated_at=robot.updated_at,
        stats=stats,
        held=held,
        deliveries=deliveries,
    )


class AlertOut(BaseModel):
    """An alert group's state: ``firing`` while any of its alerts fires."""

    state: Literal["firing", "resolved"]
    resolved_at: int | None = Field(
        description="When its last firing alert resolved (unix ms); null while any fires."
    )
    firing: int = Field(description="Alerts still firing.")
    resolved: int = Field(description="Alerts resolved.")
    fired_at: int | None = Field(
        default=None, description="When its earliest alert started (unix ms); null if unknown."
    )


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
    content: dict[str, Any] | None = Field(
        description="The message as DingTalk's JSON; null once it is recalled."
    )
    mentions: list[dict[str, Any]]
    at_all: bool
    unresolved: list[str]
    msgUuid: str | None
    created_at: int
    alert: AlertOut | None = Field(
        default=None,
        description="For alert groups (Alertmanager, Grafana, alert templates): their state, "
        "updated in place when they resolve; null for other messages.",
    )
    repeat: int = Field(
        default=1,
        description="How many times the message was posted: more than 1 when the robot's quiet "
        "window counted identical messages on this one.",
    )
    recalled: bool = Field(
        default=False,
        description="Recalled: its content, payload and mentions are gone; who and when stay.",
    )
    recalled_at: int | None = Field(default=None, description="When it was recalled (unix ms).")
    recalled_by: str | None = Field(
        default=None, description="Who recalled it: an account's username, or `admin`."
    )

    @classmethod
    def of(cls, message: StoredMessage) -> MessageOut:
        return cls(
            id=message.id,
            group_id=message.group_id,
            robot_id=message.robot_id,
            sender={
                "type": str(message.sender_type),
                "name": message.sender_name,
                "user_id": message.sender_user_id,
            },
            msgtype=message.msgtype,
            payload=None if message.recalled_at is not None else message.payload,
            content=None if message.recalled_at is not None else message.content,
            mentions=message.mentions,
            at_all=message.at_all,
            unresolved=message.unresolved,
            msgUuid=message.msg_uuid,
            created_at=message.created_at,
            alert=None if message.alert is None else AlertOut.model_validate(message.alert),
            repeat=message.repeat,
            recalled=message.recalled_at is not None,
            recalled_at=message.recalled_at,
            recalled_by=message.recalled_by,
        )


class MessagePage(BaseModel):
    messages: list[MessageOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


class SegmentOut(BaseModel):
    text: str
    match: bool = Field(description="True for the text the query found.")


class SearchHitOut(BaseModel):
    message: MessageOut
    snippet: list[SegmentOut] = Field(
        description="Where the words were found, with some text around them."
    )


class SearchPageOut(BaseModel):
    results: list[SearchHitOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )

    @classmethod
    def of(cls, page: SearchPage) -> SearchPageOut:
        return cls(
            results=[
                SearchHitOut(
                    message=MessageOut.of(hit.message),
                    snippet=[SegmentOut(text=s.text, match=s.match) for s in hit.snippet],
                )
                for hit in page.hits
            ],
            next_before=page.next_before,
        )


class RefusalOut(BaseModel):
    id: int
    robot_id: int
    errcode: int
    errmsg: str
    reason: str
    ip: str
    created_at: int
    hint_code: str | None = Field(
        default=None,
        description="What most likely went wrong, when Gong can tell: sign_encoded_twice, "
        "timestamp_seconds, clock_off, secret_as_token, keyword_missing or ip_not_allowed.",
    )
    hint: str | None = Field(default=None, description="The hint in words.")

    @classmethod
    def of(cls, refusal: Refusal) -> RefusalOut:
        hint = hint_text(refusal.hint, refusal.hint_params)
        return cls(
            id=refusal.id,
            robot_id=refusal.robot_id,
            errcode=refusal.errcode,
            errmsg=refusal.errmsg,
            reason=refusal.reason,
            ip=refusal.ip,
            created_at=refusal.created_at,
            hint_code=refusal.hint,
            hint=str(hint) if hint else None,
        )


class IgnoredEventOut(BaseModel):
    """An event the robot received and did not show, counted since it was first seen."""

    event: str = Field(description="The event's name as the robot's filters see it.")
    reason: IgnoreReason = Field(
        description="`unknown`: Gong has no message for it; `not_handled`: Gong knows the "
        "event but not this action or state (or the payload had nothing to show); `opt_in`: "
        "shown once the robot opts in (`include_events`); `filtered`: the robot's "
        "`only_events`/`exclude_events` leave it out."
    )
    count: int = Field(description="How many were received.")
    first_at: int = Field(description="Unix ms of the first.")
    last_at: int = Field(description="Unix ms of the last.")
    detail: str = Field(description="The last one's reason in words.")

    @classmethod
    def of(cls, item: IgnoredEvent) -> IgnoredEventOut:
        return cls(
            event=item.event,
            reason=item.reason,
            count=item.count,
            first_at=item.first_at,
            last_at=item.last_at,
            detail=item.detail,
        )


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
        return cls(
            id=send.id,
            kind=send.kind,
            msgUuid=send.msg_uuid,
            items=send.items,
            state=send.state,
            attempts=send.attempts,
            next_attempt_at=send.next_attempt_at if send.state == "pending" else None,
            last_attempt_at=send.last_attempt_at,
            errcode=send.errcode,
            errmsg=send.errmsg,
            created_at=send.created_at,
            sent_at=send.sent_at,
        )


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
        return cls(
            id=delivery.id,
            robot_id=delivery.robot_id,
            message_id=delivery.message_id,
            held_id=delivery.held_id,
            state=delivery.state,
            msgtype=delivery.content.get("msgtype"),
            title=delivery.title,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
            send=SendOut.of(delivery.send) if delivery.send is not None else None,
        )


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    counts: dict[str, int] = Field(description="All of the robot's delivery records per state.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
