"""The stores split out of the repository, on each database backend (a SQLite file and
PostgreSQL): groups, robots, history, admin tokens and the writer's batch write path."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.config import Settings
from gong.domain.admin_tokens import hash_token
from gong.domain.errors import Conflict, NotFound
from gong.domain.models import (
    Mention,
    NewMessage,
    Outgoing,
    Overflow,
    RateLimit,
    Robot,
    RobotKind,
    SenderType,
    Upstream,
)
from gong.domain.ports import AdminTokenStore, GroupStore, History, RobotStore
from gong.storage.database import create_writer_engine, open_database
from gong.storage.groups import SqlGroups
from gong.storage.history import SqlHistory
from gong.storage.messages import (
    _MESSAGE_COLUMNS,
    RefusalWrite,
    SummaryRaced,
    held_row,
    message_row,
    write_handlers,
)
from gong.storage.robots import SqlRobots
from gong.storage.rows import bump_config_version, read_config_version
from gong.storage.schema import (
    message_mentions,
    message_uuids,
    overflow_messages,
    relay_deliveries,
    robot_stats,
    robots,
)
from gong.storage.tokens import SqlAdminTokens
from gong.storage.writer import Writer

NOW = 1_800_000_000_000

_MODULES = ("rows", "messages", "history", "groups", "robots", "tokens")


@pytest.fixture
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(db_settings)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def writer(engine: AsyncEngine, db_settings: Settings) -> AsyncIterator[Writer]:
    writer = Writer(engine, write_handlers(), sync_engine=create_writer_engine(db_settings))
    await writer.start()
    try:
        yield writer
    finally:
        await writer.stop()


def _robot(group_id: int, token: str = "a" * 64, **changes: Any) -> Robot:
    robot = Robot(
        id=0,
        group_id=group_id,
        name="ci",
        kind=RobotKind.CUSTOM,
        access_token=token,
        secret="SEC" + "1" * 64,
        keywords=("CI", "告警"),
        ip_allow=("198.51.100.4", "203.0.113.0/24"),
        enabled=True,
        rate_limit=RateLimit(5, 10, 30),
        overflow=Overflow.DIGEST,
        avatar_url="https://example.test/a.png",
        settings={"filter": ["push"]},
        created_at=NOW,
        updated_at=NOW,
        upstream=Upstream(url="https://oapi.example.test/robot/send?access_token=x", limit=7),
        outgoing=Outgoing(url="https://bot.example.test/hook", token="tok"),
    )
    return replace(robot, **changes)


async def _settings_column(engine: AsyncEngine, robot_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        value = await conn.scalar(sa.select(robots.c.settings).where(robots.c.id == robot_id))
    assert isinstance(value, dict)
    return value


async def _count(engine: AsyncEngine, table: sa.Table, *where: Any) -> int:
    async with engine.connect() as conn:
        n = await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where))
    return int(n or 0)


# -- the protocols ---------------------------------------------------------------------------------


def test_each_store_has_its_protocols_exact_signatures() -> None:
    # mypy checks the types (the stores' modules assign each class to ``type[Protocol]``, and
    # the annotated fixtures below); this checks the parameter names mypy does not compare.
    pairs: list[tuple[type, type]] = [
        (GroupStore, SqlGroups),
        (RobotStore, SqlRobots),
        (History, SqlHistory),
        (AdminTokenStore, SqlAdminTokens),
    ]
    for protocol, store in pairs:
        names = [n for n, v in vars(protocol).items() if inspect.isfunction(v) and n[0] != "_"]
        assert names, protocol
        for name in names:
            want = inspect.signature(getattr(protocol, name)).parameters.values()
            have = inspect.signature(getattr(store, name)).parameters.values()
            assert [(p.name, p.kind, p.default) for p in have] == [
                (p.name, p.kind, p.default) for p in want
            ], f"{store.__name__}.{name}"
            assert inspect.iscoroutinefunction(getattr(store, name)), f"{store.__name__}.{name}"


def test_the_modules_import_no_outer_layer() -> None:
    code = (
        "import sys\n"
        + "".join(f"import gong.storage.{m}\n" for m in _MODULES)
        + "bad = ('gong.integrations', 'gong.web', 'gong.outgoing', 'gong.relay',"
        " 'gong.storage.repository')\n"
        "print(sorted(m for m in sys.modules if m.startswith(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- configuration version -------------------------------------------------------------------------


async def test_config_version_is_bumped_in_the_changes_transaction(engine: AsyncEngine) -> None:
    store = SqlRobots(engine)
    before = await read_config_version(engine)
    assert await store.config_version() == before
    async with engine.begin() as conn:
        await bump_config_version(conn)
        await bump_config_version(conn)
    assert await read_config_version(engine) == before + 2

    class Abort(Exception):
        pass

    async def bump_then_fail() -> None:
        async with engine.begin() as conn:
            await bump_config_version(conn)
            raise Abort

    with pytest.raises(Abort):
        await bump_then_fail()
    assert await store.config_version() == before + 2


# -- groups and members ----------------------------------------------------------------------------


async def test_groups(engine: AsyncEngine) -> None:
    store: GroupStore = SqlGroups(engine)
    version = await read_config_version(engine)

    a = await store.insert_group("  ops  ", NOW)  # stored as given: trimming is the service's
    b = await store.insert_group("", NOW + 1)
    assert (a.name, a.dissolved, a.created_at) == ("  ops  ", False, NOW)
    assert (b.name, b.created_at) == ("", NOW + 1)
    assert await read_config_version(engine) == version + 2
    assert await store.get_group(a.id) == a
    assert await store.list_groups() == [a, b]

    renamed = await store.update_group(a.id, name="ops-2")
    assert renamed == replace(a, name="ops-2")
    assert await read_config_version(engine) == version + 3
    dissolved = await store.update_group(a.id, dissolved=True)
    assert dissolved == replace(a, name="ops-2", dissolved=True)
    assert await store.get_group(a.id) == dissolved
    assert await read_config_version(engine) == version + 4
    assert await store.update_group(a.id) == dissolved  # nothing to change: no bump
    assert await read_config_version(engine) == version + 4

    missing = b.id + 100
    with pytest.raises(NotFound, match=f"group {missing} does not exist"):
        await store.get_group(missing)
    with pytest.raises(NotFound, match=f"group {missing} does not exist"):
        await store.update_group(missing, name="x")
    assert await read_config_version(engine) == version + 4


async def test_members(engine: AsyncEngine) -> None:
    store: GroupStore = SqlGroups(engine)
    group = await store.insert_group("ops", NOW)
    other = await store.insert_group("other", NOW)
    version = await read_config_version(engine)

    m1 = await store.insert_member(group.id, "张三", "13800000001", "zhangsan", NOW + 1)
    assert (m1.group_id, m1.name, m1.mobile, m1.user_id, m1.created_at) == (
        group.id,
        "张三",
        "13800000001",
        "zhangsan",
        NOW + 1,
    )
    m2 = await store.insert_member(group.id, "李四", "13800000002", None, NOW)
    # The rule that a member needs a mobile or a userId is the service's.
    m3 = await store.insert_member(group.id, " ", None, None, NOW)
    assert (m3.name, m3.mobile, m3.user_id) == (" ", None, None)
    assert await read_config_version(engine) == version + 3

    with pytest.raises(
        Conflict,
        match=f"group {group.id} already has a member with mobile 13800000001 or userId None",
    ):
        await store.insert_member(group.id, "dup", "13800000001", None, NOW)
    with pytest.raises(Conflict, match="userId zhangsan"):
        await store.insert_member(group.id, "dup", "139", "zhangsan", NOW)
    with pytest.raises(NotFound, match="group 999 does not exist"):
        await store.insert_member(999, "x", "1", None, NOW)
    assert await read_config_version(engine) == version + 3  # refused: nothing bumped

    same_mobile = await store.insert_member(other.id, "张三", "13800000001", None, NOW)
    assert await store.list_members(group.id) == [m1, m2, m3]
    assert await store.list_members(other.id) == [same_mobile]
    with pytest.raises(NotFound, match="group 999 does not exist"):
        await store.list_members(999)

    assert await store.get_member(m2.id) == m2
    with pytest.raises(NotFound, match="member 999 does not exist"):
        await store.get_member(999)
    assert await store.find_member(group.id, mobile="13800000002") == m2
    assert await store.find_member(other.id, mobile="13800000001") == same_mobile
    assert await store.find_member(other.id, mobile="13800000002") is None

    version = await read_config_version(engine)
    await store.delete_member(m1.id)
    assert await read_config_version(engine) == version + 1
    assert await store.list_members(group.id) == [m2, m3]
    with pytest.raises(NotFound, match=f"member {m1.id} does not exist"):
        await store.delete_member(m1.id)
    assert await read_config_version(engine) == version + 1


# -- robots ----------------------------------------------------------------------------------------


async def test_insert_and_read_robots(engine: AsyncEngine) -> None:
    groups = SqlGroups(engine)
    store: RobotStore = SqlRobots(engine)
    g1 = await groups.insert_group("ops", NOW)
    g2 = await groups.insert_group("dev", NOW)
    version = await store.config_version()

    new = _robot(g1.id, id=12345)  # the id is ignored
    stored = await store.insert_robot(new)
    assert stored.id != 12345
    assert stored == replace(new, id=stored.id)
    assert await store.config_version() == version + 1
    assert await store.get_robot(stored.id) == stored
    assert await store.robot_stats(stored.id) == {"accepted": 0, "refused": 0}
    assert await _count(engine, robot_stats, robot_stats.c.robot_id == stored.id) == 1

    # upstream and outgoing live in the one settings column, and come back as fields.
    assert await _settings_column(engine, stored.id) == {
        "filter": ["push"],
        "upstream": new.upstream.to_settings() if new.upstream else None,
        "outgoing": {"url": "https://bot.example.test/hook", "token": "tok"},
    }
    assert stored.settings == {"filter": ["push"]}
    assert stored.upstream is not None and stored.upstream.limit == 7

    plain = await store.insert_robot(
        _robot(
            g2.id,
            "b" * 64,
            kind=RobotKind.GITHUB,
            secret=None,
            keywords=(),
            ip_allow=(),
            settings={},
            upstream=None,
            outgoing=None,
        )
    )
    assert (plain.upstream, plain.outgoing, plain.secret, plain.settings) == (None, None, None, {})
    assert await _settings_column(engine, plain.id) == {}
    third = await store.insert_robot(_robot(g1.id, "c" * 64))

    assert await store.robot_by_token("b" * 64) == plain
    assert await store.robot_by_token("z" * 64) is None
    assert await store.list_robots() == [stored, plain, third]
    assert await store.list_robots(g1.id) == [stored, third]
    assert await store.list_robots(999) == []
    assert await store.robot_kinds() == {"custom": 2, "github": 1}
    with pytest.raises(NotFound, match="robot 999 does not exist"):
        await store.get_robot(999)

    version = await store.config_version()
    with pytest.raises(Conflict, match="access token"):
        await store.insert_robot(_robot(g2.id, "a" * 64))
    with pytest.raises(NotFound, match="group 999 does not exist"):
        await store.insert_robot(_robot(999, "d" * 64))
    assert await store.config_version() == version
    assert len(await store.list_robots()) == 3


async def test_save_robot_writes_only_the_named_fields(engine: AsyncEngine) -> None:
    group = await SqlGroups(engine).insert_group("ops", NOW)
    store: RobotStore = SqlRobots(engine)
    robot = await store.insert_robot(_robot(group.id))

    # Two services read the robot; each changes one field of its own copy.
    mine, theirs = await store.get_robot(robot.id), await store.get_robot(robot.id)
    version = await store.config_version()
    await store.save_robot(replace(theirs, name="renamed", updated_at=NOW + 5), ["name"])
    saved = await store.save_robot(
        replace(mine, keywords=("deploy",), name="stale", updated_at=NOW + 9), ["keywords"]
    )
    assert saved == replace(robot, name="renamed", keywords=("deploy",), updated_at=NOW + 9)
    assert await store.get_robot(robot.id) == saved
    assert await store.config_version() == version + 2

    changed = replace(
        saved,
        access_token="e" * 64,
        secret=None,
        ip_allow=("192.0.2.1",),
        enabled=False,
        rate_limit=RateLimit(1, 2, 3),
        overflow=Overflow.REJECT,
        avatar_url="",
        updated_at=NOW + 10,
    )
    fields = ["access_token", "secret", "ip_allow", "enabled", "rate_limit", "overflow"]
    result = await store.save_robot(replace(changed, name="not saved"), [*fields, "avatar_url"])
    assert result == changed
    assert await store.get_robot(robot.id) == changed
    assert await store.robot_by_token("a" * 64) is None

    # Nothing named: only updated_at is written.
    touched = await store.save_robot(replace(changed, name="x", updated_at=NOW + 11), [])
    assert touched == replace(changed, updated_at=NOW + 11)

    with pytest.raises(ValueError, match="'kind'"):
        await store.save_robot(replace(touched, kind=RobotKind.JIRA), ["kind"])
    with pytest.raises(ValueError, match="'group_id'"):
        await store.save_robot(touched, ["group_id"])
    other = await store.insert_robot(_robot(group.id, "f" * 64))
    version = await store.config_version()
    with pytest.raises(Conflict, match="access token"):
        await store.save_robot(replace(other, access_token="e" * 64), ["access_token"])
    assert await store.get_robot(other.id) == other
    assert await store.config_version() == version


async def test_upstream_and_outgoing_round_trip_through_the_settings_column(
    engine: AsyncEngine,
) -> None:
    group = await SqlGroups(engine).insert_group("ops", NOW)
    store: RobotStore = SqlRobots(engine)
    robot = await store.insert_robot(_robot(group.id, upstream=None, outgoing=None))
    assert await _settings_column(engine, robot.id) == {"filter": ["push"]}

    upstream = Upstream(
        url="https://up.example.test/robot/send?access_token=u",
        secret="SECup",
        limit=3,
        window_s=30,
        block_s=90,
        keyword="告警",
    )
    with_upstream = await store.save_robot(replace(robot, upstream=upstream), ["upstream"])
    assert with_upstream.upstream == upstream and with_upstream.outgoing is None
    assert with_upstream.settings == {"filter": ["push"]}
    assert await _settings_column(engine, robot.id) == {
        "filter": ["push"],
        "upstream": upstream.to_settings(),
    }

    outgoing = Outgoing(url="https://bot.example.test/cb", token="t0k")
    both = await store.save_robot(replace(with_upstream, outgoing=outgoing), ["outgoing"])
    assert (both.upstream, both.outgoing) == (upstream, outgoing)
    assert await store.get_robot(robot.id) == both

    # Any of the three writes the whole column: a copy without the upstream drops it.
    only_settings = await store.save_robot(
        replace(both, settings={"filter": ["tag"]}, upstream=None), ["settings"]
    )
    assert only_settings.settings == {"filter": ["tag"]}
    assert (only_settings.upstream, only_settings.outgoing) == (None, outgoing)
    assert await _settings_column(engine, robot.id) == {
        "filter": ["tag"],
        "outgoing": outgoing.to_settings(),
    }


async def test_delete_robot(engine: AsyncEngine) -> None:
    group = await SqlGroups(engine).insert_group("ops", NOW)
    store: RobotStore = SqlRobots(engine)
    robot = await store.insert_robot(_robot(group.id))
    keep = await store.insert_robot(_robot(group.id, "b" * 64))
    version = await store.config_version()

    await store.delete_robot(robot.id)
    assert await store.config_version() == version + 1
    with pytest.raises(NotFound, match=f"robot {robot.id} does not exist"):
        await store.get_robot(robot.id)
    assert await _count(engine, robot_stats, robot_stats.c.robot_id == robot.id) == 0
    assert await _count(engine, robot_stats, robot_stats.c.robot_id == keep.id) == 1
    assert await store.list_robots() == [keep]

    with pytest.raises(NotFound, match=f"robot {robot.id} does not exist"):
        await store.delete_robot(robot.id)
    with pytest.raises(NotFound, match=f"robot {robot.id} does not exist"):
        await store.save_robot(robot, ["name"])  # deleted meanwhile
    assert await store.config_version() == version + 1


async def test_robot_views(engine: AsyncEngine) -> None:
    groups = SqlGroups(engine)
    store: RobotStore = SqlRobots(engine)
    assert await store.all_robot_views(10) == {}
    assert await store.robot_views([]) == {}
    g1 = await groups.insert_group("ops", NOW)
    g2 = await groups.insert_group("quiet", NOW)
    zhang = await groups.insert_member(g1.id, "张三", "13800000001", "zhangsan", NOW)
    li = await groups.insert_member(g1.id, "李四", None, "lisi", NOW)
    wang = await groups.insert_member(g1.id, "王五", "13800000003", None, NOW)
    r1 = await store.insert_robot(_robot(g1.id, "a" * 64))
    r2 = await store.insert_robot(_robot(g1.id, "b" * 64, upstream=None))
    r3 = await store.insert_robot(_robot(g2.id, "c" * 64))

    views = await store.robot_views(["a" * 64, "nope", "a" * 64, "c" * 64])
    assert set(views) == {"a" * 64, "c" * 64}
    v1, v3 = views["a" * 64], views["c" * 64]
    assert (v1.robot, v1.group, v1.security) == (r1, g1, r1.security)
    assert v1.members_by_mobile == {"13800000001": zhang, "13800000003": wang}
    assert v1.members_by_user_id == {"zhangsan": zhang, "lisi": li}
    assert (v3.robot, v3.group) == (r3, g2)
    assert (v3.members_by_mobile, v3.members_by_user_id) == ({}, {})

    newest = await store.all_robot_views(2)
    assert list(newest) == ["c" * 64, "b" * 64]
    assert newest["b" * 64].robot == r2 and newest["b" * 64].robot.upstream is None
    everything = await store.all_robot_views(10)
    assert set(everything) == {"a" * 64, "b" * 64, "c" * 64}
    # One member map per group, shared by its robots' views.
    assert everything["a" * 64].members_by_mobile is everything["b" * 64].members_by_mobile


# -- the write path and history --------------------------------------------------------------------


def _message(group_id: int, robot_id: int | None, n: int, **changes: Any) -> NewMessage:
    message = NewMessage(
        group_id=group_id,
        sender_type=SenderType.ROBOT if robot_id is not None else SenderType.SYSTEM,
        sender_name="ci",
        msgtype="text",
        payload=f'{{"n": {n}}}',
        content={"msgtype": "text", "text": {"content": f"m{n}"}},
        created_at=NOW + n,
        robot_id=robot_id,
    )
    return replace(message, **changes)


def test_row_builders_follow_the_insert_column_order() -> None:
    m = _message(1, 2, 0, mentions=[Mention(3, "张三", "mobile", "138", True)], at_all=True)
    row = message_row(m)
    assert tuple(row) == _MESSAGE_COLUMNS
    assert (row["at_all"], row["unresolved"], row["sender_type"]) == (1, "[]", "robot")
    assert row["mentions"] == (
        '[{"member_id":3,"name":"张三","via":"mobile","value":"138","in_text":true}]'
    )
    assert held_row(m) == {
        "robot_id": 2,
        "group_id": 1,
        "sender_name": "ci",
        "msgtype": "text",
        "content": '{"msgtype":"text","text":{"content":"m0"}}',
        "msg_uuid": None,
        "created_at": NOW,
    }


async def test_write_path_and_history(engine: AsyncEngine, writer: Writer) -> None:
    groups = SqlGroups(engine)
    robots_store = SqlRobots(engine)
    history: History = SqlHistory(engine)
    group = await groups.insert_group("ops", NOW)
    other = await groups.insert_group("other", NOW)
    member = await groups.insert_member(group.id, "张三", "13800000001", None, NOW)
    robot = await robots_store.insert_robot(_robot(group.id))
    rid = robot.id
    mention = Mention(member.id, "张三", "mobile", "13800000001", True)
    dedup = {"msg_uuid": "u-1", "dedup_until": NOW + 1000}

    first = await writer.submit(
        _message(group.id, rid, 1, mentions=[mention], unresolved=["139"], relay=True, **dedup)
    )
    again = await writer.submit(_message(group.id, rid, 2, **dedup))
    held = await writer.submit(_message(group.id, rid, 3, held=True, relay=True))
    note = await writer.submit(_message(group.id, rid, 4, visible_to_user_id=7))
    elsewhere = await writer.submit(_message(other.id, None, 5))
    assert first.message_id is not None and not first.duplicate
    assert (again.message_id, again.duplicate) == (None, True)
    assert (held.message_id, held.held) == (None, True)
    assert note.message_id is not None and elsewhere.message_id is not None

    assert await _count(engine, message_mentions, message_mentions.c.member_id == member.id) == 1
    async with engine.connect() as conn:
        deliveries = (
            await conn.execute(
                sa.select(relay_deliveries.c.message_id, relay_deliveries.c.held_id).order_by(
                    relay_deliveries.c.id
                )
            )
        ).all()
        held_id = await conn.scalar(sa.select(overflow_messages.c.id))
    assert held_id is not None
    assert [tuple(d) for d in deliveries] == [(first.message_id, None), (None, held_id)]

    # A summary marks its held messages in its own transaction; a second one is refused.
    summary = await writer.submit(_message(group.id, rid, 6, summary_of=[held_id]))
    async with engine.connect() as conn:
        marked = await conn.scalar(
            sa.select(overflow_messages.c.summary_id).where(overflow_messages.c.id == held_id)
        )
    assert marked == summary.message_id
    with pytest.raises(SummaryRaced, match="1 held messages already summarised"):
        await writer.submit(_message(group.id, rid, 7, summary_of=[held_id]))
    # Posted, held and noted count as accepted; the duplicate and the summary do not.
    assert await robots_store.robot_stats(rid) == {"accepted": 3, "refused": 0}

    # -- read back
    stored = await history.get_message(first.message_id)
    assert (stored.id, stored.group_id, stored.robot_id) == (first.message_id, group.id, rid)
    assert (stored.payload, stored.content["text"]) == ({"n": 1}, {"content": "m1"})
    assert stored.mentions == [mention.to_json()]
    assert (stored.unresolved, stored.msg_uuid, stored.at_all) == (["139"], "u-1", False)
    assert stored.sender_type is SenderType.ROBOT and stored.created_at == NOW + 1
    with pytest.raises(NotFound, match=f"message {note.message_id} does not exist"):
        await history.get_message(note.message_id)
    assert (await history.get_message(note.message_id, viewer=7)).visible_to_user_id == 7
    with pytest.raises(NotFound):
        await history.get_message(note.message_id, viewer=8)

    ids = [first.message_id, note.message_id, summary.message_id]
    public = [first.message_id, summary.message_id]
    assert [m.id for m in await history.list_messages(group.id)] == public[::-1]
    assert [m.id for m in await history.list_messages(group.id, viewer=7)] == ids[::-1]
    assert [m.id for m in await history.list_messages(group.id, viewer=8)] == public[::-1]
    assert [m.id for m in await history.list_messages(group.id, limit=1)] == public[-1:]
    assert [m.id for m in await history.list_messages(group.id, before=summary.message_id)] == [
        first.message_id
    ]
    assert [m.id for m in await history.list_messages(group.id, after=0, viewer=7)] == ids
    assert [
        m.id for m in await history.list_messages(group.id, after=first.message_id, limit=1)
    ] == [summary.message_id]
    assert [m.id for m in await history.list_messages(other.id)] == [elsewhere.message_id]
    assert await history.count_messages() == 4
    assert await history.count_messages(group.id) == 3
    assert await history.count_messages(other.id) == 1
    assert await history.count_messages(999) == 0


async def test_refusals_and_prune(engine: AsyncEngine, writer: Writer) -> None:
    group = await SqlGroups(engine).insert_group("ops", NOW)
    store = SqlRobots(engine)
    r1 = await store.insert_robot(_robot(group.id, "a" * 64))
    r2 = await store.insert_robot(_robot(group.id, "b" * 64))
    history: History = SqlHistory(engine)
    for n in range(5):
        await writer.submit(RefusalWrite(r1.id, 310000, f"e{n}", "keywords", "192.0.2.1", NOW + n))
    await writer.submit(RefusalWrite(r2.id, 410100, "sign", "sign", "192.0.2.2", NOW))
    assert await store.robot_stats(r1.id) == {"accepted": 0, "refused": 5}
    assert await store.robot_stats(r2.id) == {"accepted": 0, "refused": 1}

    refused = await history.list_refusals(r1.id)
    assert [r.errmsg for r in refused] == ["e4", "e3", "e2", "e1", "e0"]
    assert (refused[0].robot_id, refused[0].errcode, refused[0].reason) == (
        r1.id,
        310000,
        "keywords",
    )
    assert (refused[0].ip, refused[0].created_at) == ("192.0.2.1", NOW + 4)
    assert [r.errmsg for r in await history.list_refusals(r1.id, limit=2)] == ["e4", "e3"]

    # Two msgUuids: one expired by the prune's time, one not.
    await writer.submit(_message(group.id, r1.id, 0, msg_uuid="old", dedup_until=NOW + 10))
    await writer.submit(_message(group.id, r1.id, 1, msg_uuid="new", dedup_until=NOW + 99))
    assert isinstance(history, SqlHistory)
    await history.prune(keep_refusals=2, now_ms=NOW + 50)
    assert [r.errmsg for r in await history.list_refusals(r1.id)] == ["e4", "e3"]
    assert [r.errmsg for r in await history.list_refusals(r2.id)] == ["sign"]
    async with engine.connect() as conn:
        kept = (await conn.execute(sa.select(message_uuids.c.msg_uuid))).scalars().all()
    assert kept == ["new"]
    # An expired msgUuid is claimed again; a live one is still a duplicate.
    reused = await writer.submit(_message(group.id, r1.id, 60, msg_uuid="old", dedup_until=NOW))
    dup = await writer.submit(_message(group.id, r1.id, 61, msg_uuid="new", dedup_until=NOW))
    assert (reused.duplicate, dup.duplicate) == (False, True)


# -- admin tokens ----------------------------------------------------------------------------------


async def test_admin_tokens(engine: AsyncEngine) -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    store = SqlAdminTokens(engine)
    tokens: AdminTokenStore = store
    assert (await tokens.token_hashes(), await store.count()) == ([], 0)
    await tokens.insert_token_hash(hash_token("one"), "ci", NOW)
    await tokens.insert_token_hash(hash_token("two"), "", NOW)
    assert sorted(await tokens.token_hashes()) == sorted([hash_token("one"), hash_token("two")])
    assert await store.count() == 2
    assert await tokens.delete_tokens() == 2
    assert (await tokens.token_hashes(), await store.count()) == ([], 0)
    assert await tokens.delete_tokens() == 0
