"""The hub over real storage (a SQLite file, PostgreSQL): alert groups resolved in place, owners
@-mentioned from labels, the quiet window, and the live events that change a shown message.

The messages here are built in the tests with their :class:`AlertFacts`, as an alert integration
hands them over; ``tests/integrations`` checks how the facts are read from real payloads, and
``tests/browser/test_alerts.py`` what a reader sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.alerts import AlertFacts, AlertItem
from gong.domain.errors import Conflict, Invalid
from gong.domain.models import Robot, RobotKind, RobotView, Upstream, UpstreamFit
from gong.domain.ports import StoreResult, Subscription
from gong.domain.service import group_channel
from gong.domain.specs import RobotPatch, RobotSpec
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.schemas.records import MessageOut


@pytest.fixture
async def runtime(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    settings = db_settings.model_copy(
        update={"public_url": "https://gong.example.com", "outgoing_allow_private": True}
    )
    rt = await Runtime.open(settings, clock=clock)
    try:
        yield rt
    finally:
        await rt.close()


async def _view(rt: Runtime, robot: Robot) -> RobotView:
    await rt.directory.reload()
    return (await rt.robot_store.robot_views([robot.access_token]))[robot.access_token]


def _facts(*alerts: tuple[str, bool], key: str | None = '{}:{alertname="HighCPU"}') -> AlertFacts:
    return AlertFacts(
        items=tuple(
            AlertItem(
                fingerprint=fp,
                firing=firing,
                starts_at=1_000_000,
                ends_at=None if firing else 1_600_000,
                labels={"alertname": "HighCPU", "instance": fp, "owner": "zhang"},
            )
            for fp, firing in alerts
        ),
        group_key=key,
        title="[FIRING:2] HighCPU",
    )


async def _post(rt: Runtime, view: RobotView, text: str, facts: AlertFacts | None) -> StoreResult:
    body = {"msgtype": "markdown", "markdown": {"title": "HighCPU", "text": text}}
    return await rt.hub.accept_from_robot(
        view, parse_message(body), orjson.dumps(body).decode(), alert=facts
    )


async def _events(sub: Subscription, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def read() -> None:
        async for raw in sub:
            found.append(orjson.loads(raw))
            if len(found) == count:
                return

    await asyncio.wait_for(read(), 5)
    return found


async def _alert_robot(rt: Runtime, **kw: Any) -> tuple[Robot, RobotView]:
    group = await rt.groups.create("ops")
    robot = await rt.robots.create(RobotSpec(group.id, "am", kind=RobotKind.ALERTMANAGER, **kw))
    return robot, await _view(rt, robot)


async def test_a_resolved_notification_updates_the_firing_message_in_place(
    runtime: Runtime, clock: ManualClock
) -> None:
    rt = runtime
    robot, view = await _alert_robot(rt)
    sub = await rt.broker.subscribe(group_channel(robot.group_id))
    try:
        firing = await _post(rt, view, "two alerts", _facts(("a", True), ("b", True)))
        assert firing.message_id is not None
        (posted,) = await _events(sub, 1)
        assert posted["alert"] == {
            "state": "firing",
            "resolved_at": None,
            "firing": 2,
            "resolved": 0,
            "fired_at": 1_000_000,
        }

        # One of the two resolves: a partly resolved group shows both counts; the notification
        # still fires (b), so it is posted whole.
        clock.advance(60_000)
        partly = await _post(rt, view, "b firing, a resolved", _facts(("a", False), ("b", True)))
        new, update = await _events(sub, 2)
        assert new["type"] == "message" and new["id"] == partly.message_id
        assert update == {
            "type": "message_update",
            "id": firing.message_id,
            "group_id": robot.group_id,
            "alert": {
                "state": "firing",
                "resolved_at": None,
                "firing": 1,
                "resolved": 1,
                "fired_at": 1_000_000,
            },
            "repeat": 1,
        }

        # Then the rest resolves: only alerts Gong showed firing, so a short resolved line.
        clock.advance(60_000)
        done = await _post(rt, view, "all resolved", _facts(("b", False)))
        line, *updates = await _events(sub, 3)
    finally:
        await sub.close()
    assert line["id"] == done.message_id
    text = line["content"]["markdown"]["text"]
    assert "Resolved" in text and "all resolved" not in text
    # It links the message that first showed the alert, and says after how long.
    assert f"https://gong.example.com/groups/{robot.group_id}?at={firing.message_id}" in text
    assert "after 10 min" in text  # started 1 000 000, ended 1 600 000 (ms)
    assert line["alert"]["state"] == "resolved"
    by_id = {u["id"]: u["alert"] for u in updates}
    assert by_id[firing.message_id] == {
        "state": "resolved",
        "resolved_at": 1_600_000,
        "firing": 0,
        "resolved": 2,
        "fired_at": 1_000_000,
    }
    assert by_id[partly.message_id]["state"] == "resolved"

    # The same state is what the API and `gong messages --json` read.
    stored = {m.id: m for m in await rt.history.list_messages(robot.group_id, after=0)}
    out = MessageOut.of(stored[firing.message_id]).model_dump()
    assert out["alert"] == by_id[firing.message_id]
    assert MessageOut.of(stored[done.message_id]).model_dump()["alert"]["state"] == "resolved"


async def test_resolved_alerts_never_seen_firing_are_posted_whole(runtime: Runtime) -> None:
    rt = runtime
    robot, view = await _alert_robot(rt)
    result = await _post(rt, view, "the whole group", _facts(("x", False), ("y", False)))
    (message,) = await rt.history.list_messages(robot.group_id, after=0)
    assert message.id == result.message_id
    assert message.content["markdown"]["text"] == "the whole group"
    assert message.alert == {
        "state": "resolved",
        "resolved_at": None,
        "firing": 0,
        "resolved": 2,
        "fired_at": 1_000_000,
    }


async def test_alerts_are_matched_by_group_key_when_fingerprints_differ(
    runtime: Runtime,
) -> None:
    rt = runtime
    robot, view = await _alert_robot(rt)
    first = await _post(rt, view, "firing", _facts(("a", True), key="grp"))
    await _post(rt, view, "resolved", _facts(("other", False), key="grp"))
    stored = {m.id: m for m in await rt.history.list_messages(robot.group_id, after=0)}
    assert stored[first.message_id or 0].alert["state"] == "resolved"  # type: ignore[index]
    # Another robot's group key is another group.
    other = await rt.robots.create(RobotSpec(robot.group_id, "am2", kind=RobotKind.ALERTMANAGER))
    view2 = await _view(rt, other)
    again = await _post(rt, view, "firing again", _facts(("a", True), key="grp"))
    await _post(rt, view2, "resolved elsewhere", _facts(("zzz", False), key="grp"))
    stored = {m.id: m for m in await rt.history.list_messages(robot.group_id, after=0)}
    assert stored[again.message_id or 0].alert["state"] == "firing"  # type: ignore[index]


async def test_owners_named_by_labels_are_mentioned(runtime: Runtime) -> None:
    rt = runtime
    robot, _ = await _alert_robot(rt, mention_labels=["owner", "team"])
    zhang = await rt.groups.add_member(robot.group_id, name="zhang", mobile="13800000001")
    li = await rt.groups.add_member(robot.group_id, name="li", mobile=None, user_id="li-uid")
    view = await _view(rt, robot)
    facts = AlertFacts(
        items=(
            AlertItem("a", True, labels={"owner": "zhang", "team": "li-uid, nobody"}),
            AlertItem("b", False, labels={"owner": "13999999999"}),  # resolved: not paged
        ),
        title="x",
    )
    result = await _post(rt, view, "disk full", facts)
    (message,) = await rt.history.list_messages(robot.group_id, after=0)
    assert message.id == result.message_id
    assert {m["member_id"] for m in message.mentions} == {zhang.id, li.id}
    text = message.content["markdown"]["text"]
    assert "@13800000001" in text and "@li-uid" in text
    assert "nobody" in text and "13999999999" not in text  # unknown values shown as text
    assert message.content["at"]["atMobiles"] == ["13800000001"]
    assert message.content["at"]["atUserIds"] == ["li-uid"]


async def test_the_quiet_window_counts_repeats_on_the_first_message(
    runtime: Runtime, clock: ManualClock
) -> None:
    rt = runtime
    group = await rt.groups.create("g")
    robot = await rt.robots.create(
        RobotSpec(group.id, "noisy", keywords=["disk"], dedupe_window_s=60)
    )
    view = await _view(rt, robot)
    sub = await rt.broker.subscribe(group_channel(group.id))
    try:
        first = await _post(rt, view, "disk 91%", None)
        clock.advance(30_000)
        second = await _post(rt, view, "disk 91%", None)
        third = await _post(rt, view, "disk 91%", None)
        other = await _post(rt, view, "disk 92%", None)
        events = await _events(sub, 4)
    finally:
        await sub.close()
    assert first.message_id is not None and not first.repeated
    assert (second.message_id, second.repeated) == (first.message_id, True)
    assert (third.message_id, third.repeated) == (first.message_id, True)
    assert other.message_id != first.message_id and not other.repeated
    assert [(e["type"], e["id"], e["repeat"]) for e in events] == [
        ("message", first.message_id, 1),
        ("message_update", first.message_id, 2),
        ("message_update", first.message_id, 3),
        ("message", other.message_id, 1),
    ]
    # Past the window (counted from the first post), the same text is posted again.
    clock.advance(31_000)
    later = await _post(rt, view, "disk 91%", None)
    assert later.message_id not in (None, first.message_id) and not later.repeated
    stored = {m.id: m for m in await rt.history.list_messages(group.id, after=0)}
    assert stored[first.message_id].repeat == 3
    assert MessageOut.of(stored[first.message_id]).repeat == 3
    assert len(stored) == 3
    assert await rt.robots.stats(robot.id) == {"accepted": 5, "refused": 0}


async def test_identical_messages_in_one_batch_count_as_repeats(runtime: Runtime) -> None:
    """Sent concurrently, they reach the writer in one batch: still one message, counted."""
    rt = runtime
    group = await rt.groups.create("g")
    robot = await rt.robots.create(
        RobotSpec(group.id, "burst", keywords=["x"], dedupe_window_s=600, rate_limit=_unlimited())
    )
    view = await _view(rt, robot)
    results = await asyncio.gather(*(_post(rt, view, "x same", None) for _ in range(20)))
    ids = {r.message_id for r in results}
    assert len(ids) == 1 and None not in ids
    assert sum(1 for r in results if not r.repeated) == 1
    (message,) = await rt.history.list_messages(group.id, after=0)
    assert message.repeat == 20


def _unlimited() -> Any:
    from gong.domain.models import RateLimit

    return RateLimit(0, 60, 0)


async def test_robot_rules_for_the_new_settings(runtime: Runtime) -> None:
    rt = runtime
    group = await rt.groups.create("g")
    with pytest.raises(Invalid, match="do not post alerts"):
        await rt.robots.create(RobotSpec(group.id, "c", keywords=["k"], mention_labels=["owner"]))
    with pytest.raises(Invalid, match="not a label name"):
        await rt.robots.create(
            RobotSpec(group.id, "a", kind=RobotKind.GRAFANA, mention_labels=["bad-name"])
        )
    with pytest.raises(Invalid, match="quiet window"):
        await rt.robots.create(RobotSpec(group.id, "c", keywords=["k"], dedupe_window_s=86_401))
    custom = await rt.robots.create(RobotSpec(group.id, "c", keywords=["k"]))
    with pytest.raises(Conflict, match="do not post alerts"):
        await rt.robots.update(custom.id, RobotPatch(mention_labels=["owner"]))
    with pytest.raises(Conflict, match="no upstream"):
        await rt.robots.update(custom.id, RobotPatch(upstream_fit=UpstreamFit.SPLIT))
    grafana = await rt.robots.create(
        RobotSpec(
            group.id,
            "g",
            kind=RobotKind.GRAFANA,
            mention_labels=["owner", " owner ", "team"],
            upstream=Upstream("http://127.0.0.1:9/robot/send?access_token=x"),
        )
    )
    assert grafana.mention_labels == ("owner", "team")
    assert grafana.upstream is not None and grafana.upstream.fit is UpstreamFit.SUMMARY
    updated = await rt.robots.update(
        grafana.id, RobotPatch(upstream_fit=UpstreamFit.SPLIT, dedupe_window_s=120)
    )
    again = await rt.robots.get(grafana.id)
    assert again == updated
    assert again.upstream is not None and again.upstream.fit is UpstreamFit.SPLIT
    assert (again.dedupe_window_s, again.mention_labels) == (120, ("owner", "team"))
    assert "dedupe_window" not in again.settings and "mention_labels" not in again.settings
    cleared = await rt.robots.update(grafana.id, RobotPatch(mention_labels=[], dedupe_window_s=0))
    assert (cleared.dedupe_window_s, cleared.mention_labels) == (0, ())


async def test_a_group_time_zone(runtime: Runtime) -> None:
    rt = runtime
    group = await rt.groups.create("g")
    assert group.timezone is None
    changed = await rt.groups.update(group.id, timezone="Asia/Shanghai")
    assert changed.timezone == "Asia/Shanghai" == (await rt.groups.get(group.id)).timezone
    with pytest.raises(Invalid, match="not a time zone"):
        await rt.groups.update(group.id, timezone="Mars/Olympus")
    assert (await rt.groups.update(group.id, timezone="")).timezone is None


async def test_quiet_marks_older_than_any_window_are_pruned(
    runtime: Runtime, clock: ManualClock
) -> None:
    import sqlalchemy as sa

    from gong.storage.schema import quiet_marks

    rt = runtime
    group = await rt.groups.create("g")
    robot = await rt.robots.create(RobotSpec(group.id, "q", keywords=["k"], dedupe_window_s=60))
    view = await _view(rt, robot)
    await _post(rt, view, "k old", None)
    clock.advance(86_400_000 + 1)
    await _post(rt, view, "k new", None)

    async def count() -> int:
        async with rt.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(quiet_marks)) or 0)

    assert await count() == 2
    await rt.history.prune(keep_refusals=100, now_ms=clock.now_ms())
    assert await count() == 1
