"""Who is told of a message, and why: the rule's truth table, and the notifier over real storage
(its cursor survives a restart, a busy batch drops nothing, recalled and old messages notify
nobody, holes in the ids wait for a late commit)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.history import Actor
from gong.domain.models import RateLimit, SenderType, StoredMessage
from gong.domain.notify import (
    GAP_WAIT_MS,
    Notification,
    Notifier,
    Reason,
    Recipient,
    _ready,
    message_path,
    notifications_for,
    reason_for,
)
from gong.domain.users import Preferences
from gong.storage.notify import SqlNotifyStore
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.helpers import create_robot
from tests.web.webapp import make_user

POSTED = 1_800_000_000_000
ME = 7
MY_MEMBER = 70


def _message(
    *,
    mentions: tuple[int, ...] = (),
    at_all: bool = False,
    sender_user: int | None = None,
    visible_to: int | None = None,
    recalled: bool = False,
    id: int = 1,
) -> StoredMessage:
    return StoredMessage(
        id=id,
        group_id=1,
        robot_id=None if sender_user else 3,
        sender_type=SenderType.USER if sender_user else SenderType.ROBOT,
        sender_user_id=sender_user,
        sender_name="CI",
        msgtype="text",
        payload={},
        content={"msgtype": "text", "text": {"content": "build failed"}},
        mentions=[
            {"member_id": m, "name": "x", "via": "mobile", "value": "1", "in_text": True}
            for m in mentions
        ],
        at_all=at_all,
        unresolved=[],
        msg_uuid=None,
        created_at=POSTED,
        visible_to_user_id=visible_to,
        recalled_at=POSTED + 1 if recalled else None,
    )


def _me(
    *,
    notify: bool = True,
    mentions: bool = True,
    notify_all: bool = False,
    muted: bool = False,
    member: bool = True,
    admin: bool = False,
) -> Recipient:
    return Recipient(
        user_id=ME,
        preferences=Preferences(notify=notify, notify_mentions=mentions),
        member_ids=frozenset({MY_MEMBER}) if member else frozenset(),
        notify_all=notify_all,
        muted=muted,
        is_admin=admin,
    )


AT_ME = _message(mentions=(MY_MEMBER,))
AT_OTHER = _message(mentions=(71,))
AT_ALL = _message(at_all=True)
PLAIN = _message()


@pytest.mark.parametrize(
    ("message", "recipient", "reason"),
    [
        # @ me and @all: on by default, and still on when the group is on do not disturb.
        (AT_ME, _me(), Reason.MENTION),
        (AT_ME, _me(muted=True), Reason.MENTION),
        (AT_ALL, _me(), Reason.MENTION_ALL),
        (AT_ALL, _me(muted=True), Reason.MENTION_ALL),
        (_message(mentions=(MY_MEMBER,), at_all=True), _me(), Reason.MENTION),
        # Not about me: nothing, unless I chose every message of the group.
        (AT_OTHER, _me(), None),
        (PLAIN, _me(), None),
        (PLAIN, _me(notify_all=True), Reason.GROUP),
        (AT_OTHER, _me(notify_all=True), Reason.GROUP),
        # Every message, but the group is on do not disturb: only @ still gets through.
        (PLAIN, _me(notify_all=True, muted=True), None),
        (AT_ME, _me(notify_all=True, muted=True), Reason.MENTION),
        # Notifications off: never.
        (AT_ME, _me(notify=False), None),
        (AT_ALL, _me(notify=False), None),
        (PLAIN, _me(notify=False, notify_all=True), None),
        # @ me turned off: mentions are only what notify_all gives.
        (AT_ME, _me(mentions=False), None),
        (AT_ALL, _me(mentions=False), None),
        (AT_ME, _me(mentions=False, notify_all=True), Reason.GROUP),
        (AT_ME, _me(mentions=False, notify_all=True, muted=True), None),
        # My own message: never, whatever it mentions.
        (_message(mentions=(MY_MEMBER,), sender_user=ME), _me(), None),
        (_message(sender_user=ME), _me(notify_all=True), None),
        (_message(at_all=True, sender_user=8), _me(), Reason.MENTION_ALL),
        # A note only another account reads; a recalled message.
        (_message(mentions=(MY_MEMBER,), visible_to=8), _me(), None),
        (_message(mentions=(MY_MEMBER,), visible_to=ME), _me(), Reason.MENTION),
        (_message(mentions=(MY_MEMBER,), recalled=True), _me(), None),
        # An admin not linked in the group: not @all, only the groups they chose.
        (AT_ALL, _me(member=False, admin=True), None),
        (PLAIN, _me(member=False, admin=True), None),
        (PLAIN, _me(member=False, admin=True, notify_all=True), Reason.GROUP),
        (PLAIN, _me(member=False, admin=True, notify_all=True, muted=True), None),
        (AT_ME, _me(admin=True), Reason.MENTION),
        # Neither linked nor an admin (unlinked since): never.
        (PLAIN, _me(member=False, notify_all=True), None),
    ],
)
def test_the_rule(message: StoredMessage, recipient: Recipient, reason: Reason | None) -> None:
    assert reason_for(message, recipient) is reason


def test_a_notification_names_the_group_the_sender_the_text_and_where_to_look() -> None:
    other = dataclasses.replace(_me(), user_id=8, member_ids=frozenset({71}), language="en")
    found = notifications_for(
        AT_ME, "ops", [_me(), other], lambda m, language: f"{language}: build failed"
    )
    assert found == [
        Notification(
            user_id=ME,
            message_id=1,
            group_id=1,
            group="ops",
            sender="CI",
            text="zh-CN: build failed",
            reason=Reason.MENTION,
            url="/groups/1?at=1#m-1",
        )
    ]
    assert found[0].to_json() == {
        "message_id": 1,
        "group_id": 1,
        "group": "ops",
        "sender": "CI",
        "text": "zh-CN: build failed",
        "reason": "mention",
        "url": message_path(1, 1),
    }


def test_a_hole_in_the_ids_waits_for_a_late_commit_then_is_passed() -> None:
    rows = [_message(id=i) for i in (11, 12, 14, 15)]
    # 13 is missing and 14 was posted just now: stop before the hole.
    assert [m.id for m in _ready(rows, 10, POSTED + 10, GAP_WAIT_MS)] == [11, 12]
    # Long enough after 14 was posted: 13 never committed; go on.
    assert [m.id for m in _ready(rows, 10, POSTED + GAP_WAIT_MS, GAP_WAIT_MS)] == [11, 12, 14, 15]
    # A hole right after the cursor waits the same way.
    assert _ready(rows[2:], 12, POSTED, GAP_WAIT_MS) == []


# -- the notifier over real storage ----------------------------------------------------------------


class Collected:
    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    async def __call__(self, notifications: list[Notification]) -> None:
        self.notifications += notifications


async def _post(app: GongApp, group_id: int, text: str, **at: Any) -> None:
    """A robot message through the real robot API."""
    robot = await app.runtime.robots.list(group_id)
    body: dict[str, Any] = {"msgtype": "text", "text": {"content": text}}
    if at:
        body["at"] = at
    async with make_client(app) as client:
        answer = await client.post(f"/robot/send?access_token={robot[0].access_token}", json=body)
    assert answer.json()["errcode"] == 0, answer.text


@pytest.fixture
async def app(db_settings: Settings, clock: ManualClock) -> AsyncIterator[GongApp]:
    """The app on each storage backend (the notifier's reads are SQL of their own)."""
    gong = create_app(db_settings, clock=clock)
    await gong.startup()
    try:
        yield gong
    finally:
        await gong.shutdown()


@pytest.fixture
async def setup(app: GongApp) -> dict[str, Any]:
    """A group with two members and a robot; an account linked to 张三. The app's own notifier
    is stopped: these tests drive notifiers of their own."""
    assert app.notifications is not None
    await app.notifications.notifier.stop()
    groups = app.runtime.groups
    group = await groups.create("ops")
    zhang = await groups.add_member(group.id, name="张三", mobile="13800000001")
    await groups.add_member(group.id, name="李四", mobile="13800000002")
    await create_robot(
        app.runtime,
        group.id,
        name="CI",
        ip_allow=["203.0.113.0/24"],
        rate_limit=RateLimit(0, 60, 0),
    )
    user = await make_user(app, "zhang", members=(zhang.id,))
    return {"group": group.id, "user": user.id}


def _notifier(app: GongApp, clock: ManualClock, sink: Collected, holder: str = "a") -> Notifier:
    return Notifier(
        store=SqlNotifyStore(app.runtime.engine),
        clock=clock,
        deliveries=[sink],
        describe=lambda message, language: message.content["text"]["content"],
        holder=holder,
    )


async def test_the_cursor_survives_a_restart_and_nothing_is_told_twice(
    app: GongApp, clock: ManualClock, setup: dict[str, Any]
) -> None:
    sink = Collected()
    first = _notifier(app, clock, sink)
    await _post(app, setup["group"], "history", atMobiles=["13800000001"])
    assert await first.tick() == 0  # the first run starts from now, not from the history
    await _post(app, setup["group"], "one", atMobiles=["13800000001"])
    await _post(app, setup["group"], "not me", atMobiles=["13800000002"])
    assert await first.tick() == 1
    assert [(n.text, n.reason, n.user_id) for n in sink.notifications] == [
        ("one", Reason.MENTION, setup["user"])
    ]
    await first.stop()
    await _post(app, setup["group"], "two", isAtAll=True)
    again = _notifier(app, clock, sink, holder="b")
    assert await again.tick() == 1  # after the restart: only what came since
    assert [n.text for n in sink.notifications] == ["one", "two"]
    assert await again.tick() == 0


async def test_one_instance_at_a_time(
    app: GongApp, clock: ManualClock, setup: dict[str, Any]
) -> None:
    sink = Collected()
    a, b = _notifier(app, clock, sink, "a"), _notifier(app, clock, sink, "b")
    assert await a.tick() == 0
    await _post(app, setup["group"], "x", atMobiles=["13800000001"])
    assert await b.tick() == 0  # a holds the lease
    assert await a.tick() == 1
    clock.advance(120_000)  # a is gone (its lease ran out): b takes over from a's cursor
    await _post(app, setup["group"], "y", atMobiles=["13800000001"])
    assert await b.tick() == 1
    assert [n.text for n in sink.notifications] == ["x", "y"]


async def test_a_busy_batch_drops_nothing_and_batches_are_bounded(
    app: GongApp, clock: ManualClock, setup: dict[str, Any]
) -> None:
    posted: list[str] = []

    class Slow(Collected):
        async def __call__(self, notifications: list[Notification]) -> None:
            await super().__call__(notifications)
            if len(posted) < 5:  # messages arrive while the batch is being delivered
                posted.append(f"late {len(posted)}")
                await _post(app, setup["group"], posted[-1], atMobiles=["13800000001"])

    sink = Slow()
    notifier = dataclasses.replace(_notifier(app, clock, sink), batch=3)
    await notifier.tick()
    for i in range(7):
        await _post(app, setup["group"], f"m{i}", atMobiles=["13800000001"])
    while await notifier.tick():
        pass
    assert [n.text for n in sink.notifications] == [f"m{i}" for i in range(7)] + posted
    assert len(posted) == 5


async def test_recalled_and_stale_messages_notify_nobody(
    app: GongApp, clock: ManualClock, setup: dict[str, Any]
) -> None:
    sink = Collected()
    notifier = _notifier(app, clock, sink)
    await notifier.tick()
    await _post(app, setup["group"], "recalled", atMobiles=["13800000001"])
    assert app.web is not None
    newest = await app.web.inbox.newest_id(setup["group"])
    await app.runtime.archive.recall(newest, Actor.admin())
    await _post(app, setup["group"], "old", atMobiles=["13800000001"])
    clock.advance(2 * 3_600_000)  # the server was down for two hours
    assert await notifier.tick() == 0
    await _post(app, setup["group"], "fresh", atMobiles=["13800000001"])
    assert await notifier.tick() == 1
    assert [n.text for n in sink.notifications] == ["fresh"]
