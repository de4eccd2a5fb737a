"""The hub: how a message gets into a group.

Robots (``accept_from_robot``) and people (``post_as_user``) go through the same steps: count it
against the sender's rate limit (robots only), resolve its mentions against the group's members,
store it durably (the answer waits for the commit), then publish it for live readers.

Past its limit a robot's message is refused (410100, the ``reject`` policy, as DingTalk does) or,
with the ``digest`` policy, accepted and held: stored durably, not posted, and folded with the
rest of the overflow into one summary that :meth:`Hub.flush_overflow` posts when the robot's
window has room again. A robot with an upstream also gets every accepted message queued for the
relay, in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from gong.clock import Clock
from gong.domain.alerts import AlertFacts, AlertState, owner_at, resolved_line, with_owners
from gong.domain.digest import digest_of, entry_of
from gong.domain.hints import Hint, hint_for, secret_as_token
from gong.domain.mentions import Resolved, resolve
from gong.domain.models import (
    IgnoreReason,
    Member,
    Mention,
    NewMessage,
    Overflow,
    RateLimit,
    Robot,
    RobotView,
    SenderType,
    StoredMessage,
)
from gong.domain.ports import (
    Broker,
    FiringMark,
    Limiter,
    MessageStore,
    MessageUpdate,
    StoreResult,
)
from gong.domain.timetext import zone_for
from gong.protocol.errors import Dialect, ErrorCode, Errors, RobotError
from gong.protocol.messages import Message, parse_message

__all__ = [
    "Hub",
    "content_key",
    "group_channel",
    "group_key_of",
    "limit_for",
    "message_channel",
    "message_event",
    "update_event",
    "user_channel",
]

#: Most held messages read to fold one overflow summary.
SUMMARY_WINDOW = 1_000

log = logging.getLogger(__name__)


def limit_for(robot: Robot) -> RateLimit:
    """The limit the hub applies: a ``digest`` robot is never blocked, its excess is held."""
    if robot.overflow is Overflow.DIGEST:
        return RateLimit(robot.rate_limit.limit, robot.rate_limit.window_s, 0)
    return robot.rate_limit


def limiter_key(robot_id: int) -> str:
    return f"robot:{robot_id}"


def group_channel(group_id: int) -> str:
    return f"group:{group_id}"


def user_channel(user_id: int) -> str:
    """Where notes only one account may see are published (its event streams subscribe)."""
    return f"user:{user_id}"


def message_channel(group_id: int, visible_to_user_id: int | None) -> str:
    """The channel a message is published on: its group's, or its only reader's."""
    if visible_to_user_id is not None:
        return user_channel(visible_to_user_id)
    return group_channel(group_id)


def message_event(message_id: int, message: NewMessage | StoredMessage) -> dict[str, Any]:
    """The live event of message ``message_id`` (what SSE readers receive).

    The one definition, for both ways a message is published: by the process that stored it
    (``message`` is the :class:`NewMessage` it stored) and by the change feed of another process
    (``message`` is the :class:`StoredMessage` read back). Both give the same event: the
    mentions are in their stored JSON form either way.
    """
    event: dict[str, Any] = {
        "type": "message",
        "id": message_id,
        "group_id": message.group_id,
        "robot_id": message.robot_id,
        "sender": {
            "type": str(message.sender_type),
            "name": message.sender_name,
            "user_id": message.sender_user_id,
        },
        "msgtype": message.msgtype,
        "content": message.content,
        "mentions": [m.to_json() if isinstance(m, Mention) else m for m in message.mentions],
        "at_all": message.at_all,
        "unresolved": message.unresolved,
        "created_at": message.created_at,
        "alert": message.alert,
        "repeat": message.repeat,
    }
    if message.visible_to_user_id is not None:
        event["visible_to_user_id"] = message.visible_to_user_id
    return event


def update_event(update: MessageUpdate) -> dict[str, Any]:
    """The live event that changes a shown message in place: its alert state, its repeats."""
    return {
        "type": "message_update",
        "id": update.message_id,
        "group_id": update.group_id,
        "alert": update.alert,
        "repeat": update.repeat,
    }


def content_key(content: dict[str, Any]) -> str:
    """The identity of a message's content for the quiet window (its canonical JSON)."""
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def group_key_of(group_key: str | None) -> str | None:
    """Alertmanager's group key, hashed to a fixed width for storage."""
    if not group_key:
        return None
    return hashlib.sha256(group_key.encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True)
class Hub:
    store: MessageStore
    limiter: Limiter
    broker: Broker
    clock: Clock
    dialect: Dialect = Dialect.MODERN
    #: What a rate-limited call is answered (``GONG_RATE_LIMIT_ANSWER``).
    rate_limited: ErrorCode = Errors.RATE_LIMITED
    dedup_ms: int = 24 * 3_600_000
    #: Called with the id of each message this process stored, before it is published (the
    #: change feed skips these; it publishes what other processes stored).
    on_stored: Callable[[int], None] | None = None
    #: Called with the sender's kind (a robot kind, ``person``, ``summary``, ``system``) for
    #: each stored message (metrics).
    on_counted: Callable[[str], None] | None = None
    #: The server's time zone, for groups without their own (``GONG_TIMEZONE``).
    timezone: str = "UTC"
    #: Links to a message in the web app (``Settings.message_url``), when Gong has a public URL.
    message_url: Callable[[int, int], str | None] | None = None
    #: The robot whose signing secret a string is, if any (the hint for a secret sent as the
    #: access token).
    secret_owner: Callable[[str], Awaitable[RobotView | None]] | None = None

    async def accept_from_robot(
        self,
        view: RobotView,
        message: Message,
        payload: str,
        *,
        alert: AlertFacts | None = None,
    ) -> StoreResult:
        """Rate-limit, store and publish a robot's message that passed every other check.

        ``alert`` are the facts of the alert group the message shows (alert integrations):
        alerts earlier messages showed firing and that this notification resolves are updated
        in place, and when it only resolves such alerts, a short resolved line is posted
        instead of the whole group again; the robot's ``mention_labels`` name owners to @.
        With a quiet window, a message identical to one the robot posted within it is counted
        on that one instead.

        Raises:
            RobotError: 410100 when the robot is over its limit or blocked (``reject`` policy).
        """
        robot = view.robot
        now = self.clock.now_ms()
        decision = await self.limiter.acquire(limiter_key(robot.id), limit_for(robot), now)
        held = False
        if not decision.allowed:
            if robot.overflow is not Overflow.DIGEST:
                raise RobotError(self.rate_limited)
            held = True
        state: dict[str, Any] | None = None
        resolves: tuple[tuple[int, int], ...] = ()
        if alert is not None:
            message, state, resolves, alert = await self._alert_message(view, message, alert, now)
        resolved = resolve(message, view.members_by_mobile, view.members_by_user_id)
        new = NewMessage(
            group_id=robot.group_id,
            robot_id=robot.id,
            sender_type=SenderType.ROBOT,
            sender_name=robot.name,
            msgtype=message.msgtype,
            payload=payload,
            content=message.to_wire(),
            created_at=now,
            mentions=resolved.mentions,
            at_all=resolved.at_all,
            unresolved=resolved.unresolved,
            msg_uuid=message.msgUuid,
            dedup_until=now + self.dedup_ms if message.msgUuid else None,
            relay=robot.upstream is not None,
            held=held,
            alert_facts=alert,
            alert=state,
            resolves=resolves,
        )
        new.content.pop("msgUuid", None)
        if robot.dedupe_window_s and not held:
            new.quiet_since = now - robot.dedupe_window_s * 1000
            new.content_key = content_key(new.content)
        return await self._store_and_publish(new, str(robot.kind))

    async def _alert_message(
        self, view: RobotView, message: Message, alert: AlertFacts, now: int
    ) -> tuple[Message, dict[str, Any], tuple[tuple[int, int], ...], AlertFacts | None]:
        """The message to post for an alert group, its state, the earlier alerts it resolves
        and the facts to keep (None for a resolved line: nothing in it can resolve later).

        Resolved alerts are matched to the robot's firing ones by fingerprint; when none
        match and nothing in the notification fires, by the notification's group key.
        """
        robot = view.robot
        ended = {a.fingerprint: a.ends_at for a in alert.items if not a.firing}
        marks: list[FiringMark] = []
        if ended:
            marks = await self.store.firing_alerts(robot.id, fingerprints=list(ended))
            key = group_key_of(alert.group_key)
            if not marks and key is not None and not alert.firing:
                marks = await self.store.firing_alerts(robot.id, group_key=key)
        resolves = tuple((m.id, min(now, ended.get(m.fingerprint) or now)) for m in marks)
        # Nothing fires any more and Gong showed some of these alerts firing: a short line. (A
        # final notification also lists alerts resolved earlier, which match no firing mark.)
        only_resolves = bool(marks) and not alert.firing
        if only_resolves:
            starts = [m.starts_at for m in marks if m.starts_at is not None]
            first = min(marks, key=lambda m: m.message_id)
            line = resolved_line(
                alert,
                min(starts) if starts else None,
                now,
                zone_for(view.group.timezone, self.timezone),
                self.message_url(view.group.id, first.message_id) if self.message_url else None,
            )
            resolved_at = max(at for _, at in resolves)
            state = AlertState.of(0, len(marks), resolved_at, min(starts, default=None)).to_json()
            return parse_message(line), state, resolves, None
        if robot.mention_labels:
            message = with_owners(message, owner_at(alert, robot.mention_labels, view.members))
        return message, alert.state().to_json(), resolves, alert

    async def flush_overflow(self, robot_id: int, view: RobotView | None) -> StoreResult | None:
        """Post one summary of a ``digest`` robot's held messages once its window has room.

        ``view`` is None when the robot was deleted: its held messages are then summarised at
        once. Returns None when nothing was posted (nothing held, or no room yet).
        """
        held = await self.store.held_messages(robot_id, SUMMARY_WINDOW)
        if not held:
            return None
        now = self.clock.now_ms()
        if view is not None:
            limit = view.robot.rate_limit
            window = RateLimit(limit.limit, limit.window_s, 0)  # never block for a summary
            if not (await self.limiter.acquire(limiter_key(robot_id), window, now)).allowed:
                return None
        own_zone = view.group.timezone if view is not None else None
        digest = digest_of(
            [entry_of(h.content, h.created_at) for h in held],
            tz=zone_for(own_zone, self.timezone),
        )
        content = digest.message.to_wire()
        resolved = (
            resolve(digest.message, view.members_by_mobile, view.members_by_user_id)
            if view is not None
            else Resolved()
        )
        new = NewMessage(
            group_id=held[0].group_id,
            robot_id=robot_id,
            sender_type=SenderType.ROBOT,
            sender_name=view.robot.name if view is not None else held[0].sender_name,
            msgtype=digest.message.msgtype,
            payload=orjson.dumps(content).decode(),
            content=content,
            created_at=now,
            mentions=resolved.mentions,
            at_all=resolved.at_all,
            unresolved=resolved.unresolved,
            summary_of=[h.id for h in held[: digest.count]],
        )
        return await self._store_and_publish(new, "summary")

    async def post_as_user(
        self,
        *,
        group_id: int,
        user_id: int | None,
        name: str,
        message: Message,
        members: list[Member],
        created_at: int | None = None,
    ) -> StoreResult:
        """Store and publish a person's message (no rate limit, no robot security)."""
        resolved = resolve(
            message,
            {m.mobile: m for m in members if m.mobile},
            {m.user_id: m for m in members if m.user_id},
        )
        content = message.to_wire()
        content.pop("msgUuid", None)
        new = NewMessage(
            group_id=group_id,
            sender_type=SenderType.USER,
            sender_user_id=user_id,
            sender_name=name,
            msgtype=message.msgtype,
            payload=orjson.dumps(content).decode(),
            content=content,
            created_at=self.clock.now_ms() if created_at is None else created_at,
            mentions=resolved.mentions,
            at_all=resolved.at_all,
            unresolved=resolved.unresolved,
        )
        return await self._store_and_publish(new, "person")

    async def post_system_note(
        self, group_id: int, text: str, *, visible_to_user_id: int | None = None
    ) -> StoreResult:
        """A note from Gong itself; with ``visible_to_user_id`` only that account sees it."""
        content = {"msgtype": "text", "text": {"content": text}}
        new = NewMessage(
            group_id=group_id,
            sender_type=SenderType.SYSTEM,
            sender_name="Gong",
            msgtype="text",
            payload=orjson.dumps(content).decode(),
            content=content,
            created_at=self.clock.now_ms(),
            visible_to_user_id=visible_to_user_id,
        )
        return await self._store_and_publish(new, "system")

    async def _store_and_publish(self, new: NewMessage, kind: str) -> StoreResult:
        result = await self.store.store(new)
        if result.message_id is not None and not result.repeated:
            if self.on_counted is not None:
                self.on_counted(kind)
            if self.on_stored is not None:
                self.on_stored(result.message_id)
            event = orjson.dumps(message_event(result.message_id, new))
            channel = message_channel(new.group_id, new.visible_to_user_id)
            await self._publish(channel, event, result.message_id)
        for update in result.updates:
            channel = message_channel(update.group_id, update.visible_to_user_id)
            await self._publish(channel, orjson.dumps(update_event(update)), update.message_id)
        return result

    async def _publish(self, channel: str, event: bytes, message_id: int) -> None:
        try:
            await self.broker.publish(channel, event)
        except Exception as exc:  # stored is what matters; live readers catch up on reload
            log.warning("live fan-out of message %d failed: %s", message_id, exc)

    async def ignore(self, view: RobotView, event: str, reason: IgnoreReason, detail: str) -> None:
        """Record an event an integration robot acknowledged and did not show, so that nothing
        a source sends vanishes unseen (``gong robot events``); stored before the answer."""
        await self.store.record_ignored(view.robot.id, event, reason, detail, self.clock.now_ms())

    async def announce_recall(self, message: StoredMessage) -> None:
        """Tell live readers a message was recalled (they show a placeholder in its place)."""
        event = {"type": "message_recalled", "id": message.id, "group_id": message.group_id}
        channel = message_channel(message.group_id, message.visible_to_user_id)
        await self._publish(channel, orjson.dumps(event), message.id)

    async def refuse_unknown_token(self, token: str, ip: str, error: RobotError) -> None:
        """An unknown ``access_token`` that is a robot's signing secret is recorded on that
        robot, with the hint (the answer stays DingTalk's "token is not exist")."""
        if self.secret_owner is None or not (token.startswith("SEC") and len(token) == 67):
            return
        view = await self.secret_owner(token)
        if view is not None:
            self.refuse(view, error, ip, hint=secret_as_token())

    def refuse(
        self,
        view: RobotView,
        error: RobotError,
        ip: str,
        *,
        timestamp: str | None = None,
        sign: str | None = None,
        hint: Hint | None = None,
    ) -> None:
        """Remember a refused call of a known robot, with its reason and, when Gong can tell,
        what most likely went wrong (:mod:`gong.domain.hints`); never delays the answer."""
        robot = view.robot
        now = self.clock.now_ms()
        if hint is None:
            hint = hint_for(
                error.error.name,
                now_ms=now,
                ip=ip,
                timestamp=timestamp,
                sign=sign,
                secret=robot.secret,
                keywords=robot.keywords,
                allowed_ips=robot.ip_allow,
            )
        self.store.record_refusal(
            robot.id,
            error.errcode(self.dialect),
            error.errmsg(self.dialect),
            error.error.name,
            ip,
            now,
            hint,
        )
