"""Groups, members, robots and messages on each database backend."""

from __future__ import annotations

import re

import pytest

from gong.clock import ManualClock
from gong.domain.errors import Conflict, Invalid, NotFound
from gong.domain.models import NewMessage, Overflow, RateLimit, RobotKind, SenderType
from gong.runtime import Runtime


async def test_groups(runtime: Runtime) -> None:
    repo = runtime.repository
    a = await repo.create_group("ops")
    b = await repo.create_group("  研发  ")
    assert (a.id, a.name, a.dissolved) == (1, "ops", False)
    assert b.name == "研发"
    assert [g.id for g in await repo.list_groups()] == [1, 2]
    assert (await repo.update_group(a.id, dissolved=True)).dissolved
    assert (await repo.update_group(a.id, name="ops-2")).name == "ops-2"
    with pytest.raises(NotFound, match="group 9 does not exist"):
        await repo.get_group(9)
    with pytest.raises(Invalid, match="group name cannot be empty"):
        await repo.create_group("   ")


async def test_members(runtime: Runtime) -> None:
    repo = runtime.repository
    group = await repo.create_group("ops")
    m = await repo.add_member(group.id, name="张三", mobile="13800000001", user_id="zhangsan")
    assert (m.name, m.mobile, m.user_id) == ("张三", "13800000001", "zhangsan")
    await repo.add_member(group.id, name="李四", mobile="13800000002")
    with pytest.raises(Conflict):
        await repo.add_member(group.id, name="dup", mobile="13800000001")
    with pytest.raises(Conflict):
        await repo.add_member(group.id, name="dup", mobile="139", user_id="zhangsan")
    with pytest.raises(Invalid, match="mobile or a userId"):
        await repo.add_member(group.id, name="nobody", mobile=" ")
    with pytest.raises(NotFound):
        await repo.add_member(99, name="x", mobile="1")
    other = await repo.create_group("other")
    await repo.add_member(other.id, name="张三", mobile="13800000001")  # same mobile, other group
    assert [x.name for x in await repo.list_members(group.id)] == ["张三", "李四"]
    assert (await repo.find_member(group.id, mobile="13800000002")) is not None
    await repo.remove_member(m.id)
    with pytest.raises(NotFound):
        await repo.remove_member(m.id)


async def test_robot_lifecycle(runtime: Runtime) -> None:
    repo = runtime.repository
    group = await repo.create_group("ops")
    robot = await repo.create_robot(
        group.id,
        name="ci",
        keywords=[" CI ", "CI", "告警"],
        signing=True,
        ip_allow=["198.51.100.4", "203.0.113.7/24"],
        rate_limit=RateLimit(5, 10, 30),
    )
    assert re.fullmatch(r"[0-9a-f]{64}", robot.access_token)
    assert robot.secret is not None and re.fullmatch(r"SEC[0-9a-f]{64}", robot.secret)
    assert robot.keywords == ("CI", "告警")
    assert robot.ip_allow == ("198.51.100.4", "203.0.113.0/24")
    assert robot.rate_limit == RateLimit(5, 10, 30)
    assert robot.kind is RobotKind.CUSTOM and robot.enabled
    assert (await repo.robot_stats(robot.id)) == {"accepted": 0, "refused": 0}

    rotated = await repo.rotate_token(robot.id)
    assert rotated.access_token != robot.access_token
    assert await repo.robot_view(robot.access_token) is None
    assert (await repo.robot_view(rotated.access_token)) is not None
    resecret = await repo.rotate_secret(robot.id)
    assert resecret.secret != robot.secret
    assert not (await repo.set_enabled(robot.id, False)).enabled

    updated = await repo.update_robot(
        robot.id, signing=False, keywords=[], overflow=Overflow.DIGEST
    )
    assert updated.secret is None and updated.keywords == () and updated.ip_allow
    assert updated.overflow is Overflow.DIGEST
    with pytest.raises(Invalid, match="at least one security setting"):
        await repo.update_robot(robot.id, ip_allow=[])
    await repo.delete_robot(robot.id)
    with pytest.raises(NotFound):
        await repo.get_robot(robot.id)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "at least one security setting"),
        ({"keywords": [f"k{i}" for i in range(11)]}, "at most 10 keywords"),
        ({"keywords": ["ok", "  "]}, "keyword cannot be empty"),
        ({"keywords": ["x" * 65]}, "longer than 64"),
        ({"ip_allow": ["2001:db8::/32"]}, "IPv6"),
        ({"ip_allow": ["300.1.1.1"]}, "not an IPv4 address"),
        ({"keywords": ["k"], "rate_limit": RateLimit(-1, 60, 600)}, "rate limit must be"),
    ],
)
async def test_robot_rules(runtime: Runtime, kwargs: dict[str, object], message: str) -> None:
    group = await runtime.repository.create_group("ops")
    with pytest.raises(Invalid, match=message):
        await runtime.repository.create_robot(group.id, name="r", **kwargs)  # type: ignore[arg-type]


async def test_integration_kinds_need_no_dingtalk_security(runtime: Runtime) -> None:
    group = await runtime.repository.create_group("ops")
    robot = await runtime.repository.create_robot(group.id, name="gh", kind=RobotKind.GITHUB)
    assert robot.kind is RobotKind.GITHUB


async def test_no_robot_in_a_dissolved_group(runtime: Runtime) -> None:
    group = await runtime.repository.create_group("ops")
    await runtime.repository.update_group(group.id, dissolved=True)
    with pytest.raises(Invalid, match="dissolved"):
        await runtime.repository.create_robot(group.id, name="r", keywords=["k"])


async def test_every_change_bumps_the_config_version(runtime: Runtime) -> None:
    repo = runtime.repository
    seen = [await repo.config_version()]

    async def bumped() -> None:
        now = await repo.config_version()
        assert now > seen[-1]
        seen.append(now)

    group = await repo.create_group("g")
    await bumped()
    member = await repo.add_member(group.id, name="m", mobile="1")
    await bumped()
    robot = await repo.create_robot(group.id, name="r", keywords=["k"])
    await bumped()
    await repo.rotate_token(robot.id)
    await bumped()
    await repo.set_enabled(robot.id, False)
    await bumped()
    await repo.remove_member(member.id)
    await bumped()
    await repo.update_group(group.id, dissolved=True)
    await bumped()


async def test_robot_view_resolves_members(runtime: Runtime) -> None:
    repo = runtime.repository
    group = await repo.create_group("g")
    await repo.add_member(group.id, name="a", mobile="1", user_id="ua")
    await repo.add_member(group.id, name="b", user_id="ub", mobile=None)
    robot = await repo.create_robot(group.id, name="r", keywords=["k"])
    view = await repo.robot_view(robot.access_token)
    assert view is not None
    assert view.group.id == group.id
    assert set(view.members_by_mobile) == {"1"}
    assert set(view.members_by_user_id) == {"ua", "ub"}
    assert view.security.keywords == ("k",)
    assert await repo.robot_view("0" * 64) is None


def _message(
    group_id: int, robot_id: int, n: int, uuid: str | None = None, at: int = 0
) -> NewMessage:
    return NewMessage(
        group_id=group_id,
        robot_id=robot_id,
        sender_type=SenderType.ROBOT,
        sender_name="r",
        msgtype="text",
        payload=f'{{"msgtype":"text","text":{{"content":"m{n}"}}}}',
        content={"msgtype": "text", "text": {"content": f"m{n}"}},
        created_at=at or n,
        msg_uuid=uuid,
        dedup_until=(at or n) + 86_400_000 if uuid else None,
    )


async def test_message_pages(runtime: Runtime) -> None:
    repo = runtime.repository
    group = await repo.create_group("g")
    robot = await repo.create_robot(group.id, name="r", keywords=["k"])
    for n in range(1, 8):
        await runtime.hub.store.store(_message(group.id, robot.id, n))
    newest = await repo.list_messages(group.id, limit=3)
    assert [m.id for m in newest] == [7, 6, 5]
    older = await repo.list_messages(group.id, before=5, limit=3)
    assert [m.id for m in older] == [4, 3, 2]
    after = await repo.list_messages(group.id, after=5, limit=10)
    assert [m.id for m in after] == [6, 7]
    message = await repo.get_message(3)
    assert message.payload == {"msgtype": "text", "text": {"content": "m3"}}
    assert message.sender_type is SenderType.ROBOT
    assert await repo.count_messages(group.id) == 7
    assert (await repo.robot_stats(robot.id))["accepted"] == 7


async def test_msg_uuid_is_remembered_per_robot_for_the_window(runtime: Runtime) -> None:
    repo, store = runtime.repository, runtime.hub.store
    group = await repo.create_group("g")
    r1 = await repo.create_robot(group.id, name="r1", keywords=["k"])
    r2 = await repo.create_robot(group.id, name="r2", keywords=["k"])
    first = await store.store(_message(group.id, r1.id, 1, "u", at=1_000))
    again = await store.store(_message(group.id, r1.id, 2, "u", at=2_000))
    other_robot = await store.store(_message(group.id, r2.id, 3, "u", at=3_000))
    assert first.message_id is not None and not first.duplicate
    assert again.duplicate and again.message_id is None
    assert other_robot.message_id is not None
    # After the window (24 h) the same msgUuid is a new message.
    later = await store.store(_message(group.id, r1.id, 4, "u", at=1_000 + 86_400_001))
    assert later.message_id is not None and not later.duplicate
    assert await repo.count_messages(group.id) == 3


async def test_refusals_are_recorded_and_pruned(runtime: Runtime, clock: ManualClock) -> None:
    repo = runtime.repository
    group = await repo.create_group("g")
    robot = await repo.create_robot(group.id, name="r", keywords=["k"])
    for i in range(12):
        runtime.hub.store.record_refusal(robot.id, 310000, f"msg {i}", "keyword", "192.0.2.1", i)
    await runtime.hub.store.store(_message(group.id, robot.id, 1))  # flushes the writer
    refusals = await repo.list_refusals(robot.id, limit=100)
    assert [r.errmsg for r in refusals[:2]] == ["msg 11", "msg 10"]
    assert (refusals[0].errcode, refusals[0].reason, refusals[0].ip) == (
        310000,
        "keyword",
        "192.0.2.1",
    )
    assert (await repo.robot_stats(robot.id))["refused"] == 12
    await repo.prune(keep_refusals=5, now_ms=clock.now_ms())
    assert [r.errmsg for r in await repo.list_refusals(robot.id, limit=100)] == [
        f"msg {i}" for i in range(11, 6, -1)
    ]


async def test_admin_tokens_store_only_a_hash(runtime: Runtime) -> None:
    repo = runtime.repository
    token = await repo.create_admin_token("t")
    hashes = await repo.admin_token_hashes()
    assert token not in hashes
    assert len(hashes) == 1
    assert len(hashes[0]) == 64
    assert await repo.revoke_admin_tokens() == 1


async def test_robot_views_load_many_at_once(runtime: Runtime) -> None:
    repo = runtime.repository
    a = await repo.create_group("a")
    b = await repo.create_group("b")
    await repo.add_member(a.id, name="m", mobile="1")
    made = [
        await repo.create_robot(g.id, name=f"r{i}", keywords=["k"]) for i, g in enumerate([a, a, b])
    ]
    views = await repo.robot_views([r.access_token for r in made] + ["0" * 64])
    assert set(views) == {r.access_token for r in made}
    assert views[made[0].access_token].group.name == "a"
    assert set(views[made[1].access_token].members_by_mobile) == {"1"}
    assert views[made[2].access_token].members_by_mobile == {}
