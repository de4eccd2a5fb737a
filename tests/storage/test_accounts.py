"""Accounts, member links, read state and "@ you", on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.errors import Conflict, Invalid, NotFound
from gong.domain.models import Group, Member
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.storage.accounts import Accounts
from gong.storage.inbox import UNREAD_CAP, Inbox
from gong.storage.schema import in_metadata, message_mentions, metadata


@pytest.fixture
async def runtime(db_settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(db_settings, clock=ManualClock(1_800_000_000_000))
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def accounts(runtime: Runtime) -> Accounts:
    return Accounts(runtime.engine, runtime.clock)


@pytest.fixture
def inbox(runtime: Runtime) -> Inbox:
    return Inbox(runtime.engine)


async def _post(
    runtime: Runtime, group: Group, text: str, at: dict[str, object] | None = None, name: str = "ci"
) -> int:
    body: dict[str, object] = {"msgtype": "text", "text": {"content": text}}
    if at is not None:
        body["at"] = at
    members = await runtime.groups.members(group.id)
    result = await runtime.hub.post_as_user(
        group_id=group.id, user_id=None, name=name, message=parse_message(body), members=members
    )
    assert result.message_id is not None
    return result.message_id


async def _group(runtime: Runtime, name: str) -> tuple[Group, Member, Member]:
    group = await runtime.groups.create(name)
    a = await runtime.groups.add_member(
        group.id, name="张三", mobile="13800000001", user_id="zhangsan"
    )
    b = await runtime.groups.add_member(group.id, name="李四", mobile="13800000002")
    return group, a, b


async def test_migrated_schema_matches_the_metadata(runtime: Runtime) -> None:
    def diff(conn: sa.Connection) -> list[object]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": in_metadata}
        )
        return list(compare_metadata(context, metadata))

    async with runtime.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_users(accounts: Accounts) -> None:
    user = await accounts.create_user("Alice", "hash-1", is_admin=True)
    assert (user.username, user.is_admin, user.last_login_at) == ("alice", True, None)
    assert "hash-1" not in repr(user)
    with pytest.raises(Conflict, match="taken"):
        await accounts.create_user("ALICE", "hash-2")
    with pytest.raises(Invalid, match="username"):
        await accounts.create_user("no spaces", "hash")
    with pytest.raises(Invalid, match="username"):
        await accounts.create_user("", "hash")
    assert await accounts.find_user(" alice ") == user
    assert await accounts.find_user("bob") is None
    changed = await accounts.update_user(user.id, password_hash="hash-3", is_admin=False)
    assert (changed.password_hash, changed.is_admin) == ("hash-3", False)
    await accounts.record_login(user.id)
    assert (await accounts.get_user(user.id)).last_login_at == 1_800_000_000_000
    assert [u.username for u in await accounts.list_users()] == ["alice"]
    assert await accounts.user_count() == 1
    await accounts.delete_user(user.id)
    with pytest.raises(NotFound):
        await accounts.get_user(user.id)
    with pytest.raises(NotFound):
        await accounts.delete_user(user.id)


async def test_links(runtime: Runtime, accounts: Accounts, inbox: Inbox) -> None:
    ops, zhang, li = await _group(runtime, "ops")
    dev, zhang_dev, _ = await _group(runtime, "dev")
    await _post(runtime, ops, "before the link")
    user = await accounts.create_user("zhang", "h")
    other = await accounts.create_user("other", "h")
    assert await inbox.groups_of(user) == []
    assert await accounts.link(user.id, zhang.id) == zhang
    await accounts.link(user.id, zhang_dev.id)
    assert [g.name for g in await inbox.groups_of(user)] == ["ops", "dev"]
    assert await inbox.group_ids_of(user) == [ops.id, dev.id]
    assert await accounts.members_of(user.id) == [zhang, zhang_dev]
    assert {k: v.username for k, v in (await accounts.users_of_group(ops.id)).items()} == {
        zhang.id: "zhang"
    }
    with pytest.raises(Conflict):  # the member belongs to someone already
        await accounts.link(other.id, zhang.id)
    with pytest.raises(Conflict):  # one member per group per user
        await accounts.link(user.id, li.id)
    with pytest.raises(NotFound):
        await accounts.link(user.id, 999)
    # Linking starts reading at the newest message: old history is not "unread".
    [line, _] = await inbox.conversations(user)
    assert (line.group.id, line.unread, line.member) == (ops.id, 0, zhang)
    group, member = await inbox.visible_group(user, ops.id)
    assert (group, member) == (ops, zhang)
    with pytest.raises(NotFound):
        await inbox.visible_group(other, ops.id)
    await accounts.unlink(zhang.id)
    assert [g.name for g in await inbox.groups_of(user)] == ["dev"]
    await runtime.groups.remove_member(zhang_dev.id)  # removing the member drops the link
    assert await inbox.groups_of(user) == []


async def test_unread_and_mentions(runtime: Runtime, accounts: Accounts, inbox: Inbox) -> None:
    ops, zhang, li = await _group(runtime, "ops")
    quiet, zhang_quiet, _ = await _group(runtime, "quiet")
    empty = await runtime.groups.create("empty")
    user = await accounts.create_user("zhang", "h")
    await accounts.link(user.id, zhang.id)
    await accounts.link(user.id, zhang_quiet.id)
    admin = await accounts.create_user("root", "h", is_admin=True)

    first = await _post(runtime, ops, "build 1 green")
    mention_li = await _post(runtime, ops, "@13800000002 look", {"atMobiles": ["13800000002"]})
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(sa.select(message_mentions))).all()
    assert [tuple(r) for r in rows] == [(mention_li, li.id)]

    lines = {c.group.name: c for c in await inbox.conversations(user)}
    assert (lines["ops"].unread, lines["ops"].mentioned, lines["ops"].last_read_id) == (2, False, 0)
    assert lines["ops"].last is not None and lines["ops"].last.id == mention_li
    assert (lines["quiet"].unread, lines["quiet"].mentioned, lines["quiet"].last) == (
        0,
        False,
        None,
    )

    await inbox.set_muted(user.id, quiet.id, True)
    to_me = await _post(runtime, quiet, "@zhangsan please", {"atUserIds": ["zhangsan"]})
    lines = {c.group.name: c for c in await inbox.conversations(user)}
    assert (lines["quiet"].unread, lines["quiet"].mentioned, lines["quiet"].muted) == (
        1,
        True,
        True,
    )
    assert [c.group.name for c in await inbox.conversations(user)] == ["quiet", "ops"]

    await inbox.mark_read(user.id, quiet.id, to_me)
    await inbox.mark_read(user.id, quiet.id, 1)  # never moves backwards
    line = await inbox.conversation(user, quiet, zhang_quiet)
    assert (line.unread, line.mentioned, line.muted, line.last_read_id) == (0, False, True, to_me)

    await _post(runtime, ops, "everyone!", {"isAtAll": True})
    line = await inbox.conversation(user, ops, zhang)
    assert (line.unread, line.mentioned) == (3, True)
    # An admin sees every group but is nobody's member here: no "@ you" for them.
    admin_lines = {c.group.name: c for c in await inbox.conversations(admin)}
    assert set(admin_lines) == {"ops", "quiet", "empty"}
    assert (admin_lines["ops"].unread, admin_lines["ops"].mentioned) == (3, False)
    assert admin_lines["empty"].group == empty

    assert [m.id for m in await inbox.messages_after([ops.id, quiet.id], first, 10)] == [
        mention_li,
        to_me,
        to_me + 1,
    ]
    assert await inbox.messages_after([], 0, 10) == []
    assert await inbox.newest_id(ops.id) == to_me + 1


async def test_unread_count_is_capped(runtime: Runtime, accounts: Accounts, inbox: Inbox) -> None:
    ops, zhang, _ = await _group(runtime, "ops")
    user = await accounts.create_user("zhang", "h")
    await accounts.link(user.id, zhang.id)
    for i in range(UNREAD_CAP + 5):
        await _post(runtime, ops, f"alert {i}")
    [line] = await inbox.conversations(user)
    assert line.unread == UNREAD_CAP


async def test_app_secret_is_made_once(accounts: Accounts) -> None:
    first = await accounts.secret("session_key")
    assert len(first) == 64
    assert await accounts.secret("session_key") == first
    assert await accounts.secret("other", lambda: "fixed") == "fixed"
