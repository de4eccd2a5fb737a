"""The search contract, on each backend in turn (SQLite FTS5 trigram, PostgreSQL pg_trgm): the
same messages, the same queries, the same answers.

Messages are stored the way the hub stores them (robots' and people's), then found by any
substring of Chinese text, Latin text ignoring case, several words at once, with ``%``, ``_``
and FTS syntax as plain characters; narrowed by every filter; paged; limited to the groups a
person sees and the notes meant for them; and never showing what was recalled or pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from gong.clock import ManualClock
from gong.domain.errors import Invalid
from gong.domain.history import Actor
from gong.domain.models import Group, RobotView
from gong.domain.search import SearchFilters, SearchScope
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.storage.accounts import Accounts
from gong.storage.search import SqlSearch
from tests.helpers import create_robot

ALL = SearchScope(group_ids=None)


@dataclass
class World:
    rt: Runtime
    ops: Group
    dev: Group
    bot: RobotView
    dev_bot: RobotView
    ids: dict[str, int]


async def _send(rt: Runtime, view: RobotView, body: dict[str, Any]) -> int:
    result = await rt.hub.accept_from_robot(view, parse_message(body), orjson.dumps(body).decode())
    assert result.message_id is not None
    return result.message_id


def _text(content: str, **at: Any) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}, "at": at}


@pytest.fixture
async def world(runtime: Runtime, clock: ManualClock) -> World:
    rt = runtime
    ops = await rt.groups.create("ops")
    dev = await rt.groups.create("dev")
    await rt.groups.add_member(ops.id, name="张三", mobile="13800000001")
    bot = await create_robot(rt, ops.id, name="监控", signing=True)
    dev_bot = await create_robot(rt, dev.id, name="CI", signing=True)
    views = await rt.robot_store.robot_views([bot.access_token, dev_bot.access_token])
    ops_view, dev_view = views[bot.access_token], views[dev_bot.access_token]
    ids: dict[str, int] = {}
    ids["pool"] = await _send(rt, ops_view, _text("db-01: 数据库连接池耗尽 (DB-01 Connections)"))
    clock.advance(60_000)
    ids["md"] = await _send(
        rt,
        ops_view,
        {
            "msgtype": "markdown",
            "markdown": {
                "title": "部署完成 checkout",
                "text": "### Deploy\\_done [查看日志](https://secret.example/log) 100% 完成 a\\*b",
            },
        },
    )
    clock.advance(60_000)
    ids["card"] = await _send(
        rt,
        ops_view,
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "Alert",
                "text": "CPU high",
                "btns": [{"title": "静默一小时", "actionURL": "https://x.example/silence"}],
            },
        },
    )
    clock.advance(60_000)
    ids["mention"] = await _send(
        rt, ops_view, _text("请 @13800000001 看看 disk", atMobiles=["13800000001"])
    )
    clock.advance(60_000)
    ids["dev"] = await _send(rt, dev_view, _text("dev build failed: 连接池"))
    ids["note"] = (
        await rt.hub.post_system_note(ops.id, "只给 9 的 连接池 提示", visible_to_user_id=9)
    ).message_id or 0
    return World(rt, ops, dev, ops_view, dev_view, ids)


async def _ids(
    rt: Runtime,
    query: str,
    scope: SearchScope = ALL,
    filters: SearchFilters | None = None,
    **kw: Any,
) -> list[int]:
    page = await rt.search.search(query, scope, filters, **kw)
    return [hit.message.id for hit in page.hits]


async def test_any_substring_of_chinese_and_latin_ignoring_case(world: World) -> None:
    rt, ids = world.rt, world.ids
    assert await _ids(rt, "连接池") == [ids["dev"], ids["pool"]]
    assert await _ids(rt, "池耗") == [ids["pool"]]  # two characters: below the trigram size
    assert await _ids(rt, "数据库连接池耗尽") == [ids["pool"]]
    assert await _ids(rt, "connections") == [ids["pool"]]
    assert await _ids(rt, "db-01 连接") == [ids["pool"]]  # every word
    assert await _ids(rt, "db-01 dev") == []
    assert await _ids(rt, "静默") == [ids["card"]]  # button texts
    assert await _ids(rt, "部署完成") == [ids["md"]]  # titles


async def test_markdown_is_found_as_read_not_as_written(world: World) -> None:
    rt, ids = world.rt, world.ids
    assert await _ids(rt, "查看日志") == [ids["md"]]
    assert await _ids(rt, "secret.example") == []  # link URLs are not text
    assert await _ids(rt, "Deploy_done") == [ids["md"]]  # escapes are undone
    assert await _ids(rt, "a*b") == [ids["md"]]


async def test_special_characters_are_plain(world: World) -> None:
    rt, ids = world.rt, world.ids
    assert await _ids(rt, "100%") == [ids["md"]]
    assert await _ids(rt, "0% ") == [ids["md"]]
    assert await _ids(rt, "1_0") == []  # "_" is no wildcard
    assert await _ids(rt, "%%") == []  # "%" is no wildcard
    for query in ['"', '" OR "', "a*", "NEAR(a b)", "AND", "(db", "db)", "\\", "'; --", "^db"]:
        await rt.search.search(query + "x", ALL)  # answers, never an SQL error


async def test_bad_queries_are_refused_clearly(world: World) -> None:
    for query, why in [
        ("", "at least 2"),
        ("  ", "at least 2"),
        ("x", "at least 2"),
        ("x" * 201, "longer than 200"),
        ("a\x00b", "cannot hold"),
        ("ab\ud800", "cannot hold"),
        (" ".join(f"w{i}" for i in range(11)), "at most 10"),
    ]:
        with pytest.raises(Invalid, match=why):
            await world.rt.search.search(query, ALL)


async def test_filters(world: World, clock: ManualClock) -> None:
    rt, ids = world.rt, world.ids
    pool, dev = ids["pool"], ids["dev"]
    assert await _ids(rt, "连接池", filters=SearchFilters(group_id=world.ops.id)) == [pool]
    assert await _ids(rt, "连接池", filters=SearchFilters(robot_id=world.dev_bot.robot.id)) == [dev]
    assert await _ids(rt, "部署", filters=SearchFilters(msgtype="text")) == []
    assert await _ids(rt, "部署", filters=SearchFilters(msgtype="markdown")) == [ids["md"]]
    created = (await rt.history.get_message(dev)).created_at
    assert await _ids(rt, "连接池", filters=SearchFilters(since=created)) == [dev]
    assert await _ids(rt, "连接池", filters=SearchFilters(until=created)) == [pool]
    assert await _ids(rt, "连接池", filters=SearchFilters(since=created, until=created)) == []
    with pytest.raises(Invalid, match="firing or resolved"):
        await rt.search.search("连接池", ALL, SearchFilters(alert_state="broken"))


async def test_paging_newest_first(world: World) -> None:
    rt, ids = world.rt, world.ids
    first = await rt.search.search("连接池", ALL, limit=1)
    assert [h.message.id for h in first.hits] == [ids["dev"]]
    assert first.next_before == ids["dev"]
    second = await rt.search.search("连接池", ALL, before=first.next_before, limit=1)
    assert [h.message.id for h in second.hits] == [ids["pool"]]
    assert second.next_before is None
    hit = second.hits[0]
    assert [s.text for s in hit.snippet if s.match] == ["连接池"]
    assert "".join(s.text for s in hit.snippet).startswith("db-01: 数据库连接池耗尽")


async def test_people_see_their_groups_their_notes_and_their_mentions(world: World) -> None:
    rt, ids = world.rt, world.ids
    accounts = Accounts(rt.engine, rt.clock)
    user = await accounts.create_user("zhang", "hash")
    (member,) = await rt.groups.members(world.ops.id)
    await accounts.link(user.id, member.id)
    scope = await rt.search.scope(user.id, False)
    assert await _ids(rt, "连接池", scope) == [ids["pool"]]  # not dev's, not another's note
    assert await _ids(rt, "连接池", scope, SearchFilters(group_id=world.dev.id)) == []
    assert await _ids(rt, "看看", scope, SearchFilters(mentions_me=True)) == [ids["mention"]]
    assert await _ids(rt, "连接池", scope, SearchFilters(mentions_me=True)) == []
    nine = SearchScope(group_ids=frozenset({world.ops.id}), user_id=9)
    assert await _ids(rt, "连接池", nine) == [ids["note"], ids["pool"]]
    outsider = await accounts.create_user("li", "hash")
    assert await _ids(rt, "连接池", await rt.search.scope(outsider.id, False)) == []
    admin = await accounts.create_user("root", "hash", is_admin=True)
    assert await _ids(rt, "连接池", await rt.search.scope(admin.id, True)) == [
        ids["dev"],
        ids["pool"],
    ]


async def test_recalled_and_pruned_messages_leave_the_index(
    world: World, clock: ManualClock
) -> None:
    rt, ids = world.rt, world.ids
    recalled = await rt.archive.recall(ids["pool"], Actor.admin("root"))
    assert recalled.content == {} and recalled.recalled_by == "root"
    assert await _ids(rt, "连接池") == [ids["dev"]]
    assert await _ids(rt, "池耗") == []
    await rt.groups.update(world.dev.id, retention_count=0, retention_days=1)
    clock.advance(2 * 86_400_000)
    report = await rt.archive.prune()
    assert report.deleted == 1
    assert await _ids(rt, "连接池") == []
    # The index holds nothing for what is gone.
    found = await SqlSearch(rt.engine).find(("build",), SearchFilters(), ALL, None, 10)
    assert found == []


async def test_short_words_read_one_window_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Words of one or two characters use no index: each page reads a window of messages and
    says where the search goes on, so a rare short word never reads the whole history at once."""
    rt, ids = world.rt, world.ids
    monkeypatch.setattr("gong.domain.search.SHORT_SCAN", 2)
    newest = max(ids.values())
    first = await rt.search.search("池耗", ALL)
    assert first.hits == []  # not among the newest two
    assert first.next_before == newest - 1
    found: list[int] = []
    before = first.next_before
    for _ in range(10):  # bounded: the windows reach the first message
        page = await rt.search.search("池耗", ALL, before=before)
        found += [h.message.id for h in page.hits]
        if page.next_before is None:
            break
        before = page.next_before
    assert found == [ids["pool"]]
