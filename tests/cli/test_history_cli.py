"""``gong search``, ``gong message recall``, ``gong messages export``, ``gong prune`` and the
retention of ``gong group update``: real CLI processes on a database a real server shares.

Messages are stored the way a server stores them (the hub of a runtime opened on the same
database, its relay worker off), many at a time through the group-commit writer.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.alerts import AlertFacts, AlertItem
from gong.domain.models import RateLimit, Robot, Upstream
from gong.protocol.messages import parse_message
from gong.runtime import Runtime
from gong.storage.database import open_database
from tests.conftest import _pg_reset
from tests.helpers import ADMIN, ServerProcess, create_robot, gong_cli, run_sync

#: A public address (saving an upstream resolves its host; tests do not use the DNS).
UPSTREAM = "https://93.184.216.34/robot/send?access_token=" + "d" * 64
DAY_MS = 86_400_000


@pytest.fixture(autouse=True)
def _no_inherited_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A SQLite data dir for the CLI and the server."""
    return {"GONG_DATA_DIR": str(tmp_path / "data"), "GONG_SQLITE_SYNCHRONOUS": "NORMAL"}


@pytest.fixture(params=["sqlite", "postgres"])
def any_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment on each backend in turn."""
    values = {"GONG_DATA_DIR": str(tmp_path / "data"), "GONG_SQLITE_SYNCHRONOUS": "NORMAL"}
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
        run_sync(_pg_reset(url))
        values["GONG_DATABASE_URL"] = url
    return values


def gong(env: dict[str, str], *args: str) -> Any:
    """Run ``gong ARGS --json`` and read its answer."""
    return json.loads(gong_cli([*args, "--json"], env).stdout)


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(env={**env, "GONG_RELAY_ENABLED": "0"}, data_dir=tmp_path / "data")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        data_dir=Path(env["GONG_DATA_DIR"]),
        database_url=env.get("GONG_DATABASE_URL"),
        relay_enabled=False,
        sqlite_synchronous="NORMAL",
    )


def text(content: str, **at: Any) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}, "at": at}


Post = tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], AlertFacts]


async def _store(env: dict[str, str], token: str, posts: Sequence[Post]) -> list[int]:
    """Store each ``(created_at, body[, alert])`` as the robot's message; their ids, in order.

    Posts of the same time are handed to the writer together (one transaction per batch)."""
    runtime = await Runtime.open(_settings(env), clock=ManualClock(posts[0][0]))
    try:
        view = await runtime.directory.get(token)
        assert view is not None
        clock = runtime.clock
        assert isinstance(clock, ManualClock)
        ids: list[int] = []
        at = 0
        while at < len(posts):
            now = posts[at][0]
            clock.set(now)
            chunk: list[Post] = []
            while at < len(posts) and posts[at][0] == now and len(chunk) < 500:
                chunk.append(posts[at])
                at += 1
            results = await asyncio.gather(
                *(
                    runtime.hub.accept_from_robot(
                        view,
                        parse_message(post[1]),
                        orjson.dumps(post[1]).decode(),
                        alert=post[2] if len(post) == 3 else None,
                    )
                    for post in chunk
                )
            )
            for result in results:
                assert result.message_id is not None
                ids.append(result.message_id)
        return ids
    finally:
        await runtime.close()


def store(env: dict[str, str], token: str, posts: Sequence[Post]) -> list[int]:
    return list(asyncio.run(_store(env, token, posts)))


async def _groups(env: dict[str, str], names: Sequence[str], upstream: bool) -> list[Robot]:
    runtime = await Runtime.open(_settings(env))
    try:
        robots = []
        for name in names:
            group = await runtime.groups.create(name)
            await runtime.groups.add_member(group.id, name="张三", mobile="13800000001")
            robots.append(
                await create_robot(
                    runtime,
                    group.id,
                    name=f"{name}-bot",
                    signing=True,
                    rate_limit=RateLimit(0),
                    upstream=Upstream(UPSTREAM) if upstream else None,
                )
            )
        return robots
    finally:
        await runtime.close()


def groups(env: dict[str, str], *names: str, upstream: bool = False) -> list[Robot]:
    """A group of each name (ids 1, 2, … in order) with member 张三 and a robot that takes
    any number of messages (and relays them, with ``upstream``): the robots."""
    return list(asyncio.run(_groups(env, names, upstream)))


def local_ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).astimezone().timestamp() * 1000)


def make_robot(env: dict[str, str], group_id: int, name: str, *extra: str) -> dict[str, Any]:
    robot: dict[str, Any] = gong(
        env, "robot", "create", str(group_id), "--name", name, "--sign", "--rate-limit", "0", *extra
    )
    return robot


def firing(name: str) -> AlertFacts:
    return AlertFacts(items=(AlertItem(fingerprint=name, firing=True, starts_at=1_000),))


# -- search ------------------------------------------------------------------------------------


def test_search_finds_substrings_narrows_pages_and_answers_as_the_api(
    env: dict[str, str], server: ServerProcess
) -> None:
    robots = groups(env, "运维", "dev")
    bot, dev_bot = (r.access_token for r in robots)
    ops, dev = (r.group_id for r in robots)
    ci = make_robot(env, ops, "ci")
    t0 = local_ms("2026-12-01T08:00")
    [pool] = store(env, bot, [(t0, text("db-01: 数据库连接池耗尽 (DB-01 Connections)"))])
    [md] = store(
        env,
        ci["access_token"],
        [
            (
                t0 + DAY_MS,
                {
                    "msgtype": "markdown",
                    "markdown": {"title": "部署完成", "text": "连接池 已恢复 100% ok"},
                },
            )
        ],
    )
    [dev_msg] = store(env, dev_bot, [(t0 + 2 * DAY_MS, text("dev 连接池 build_1"))])
    [alert] = store(
        env,
        bot,
        [(t0 + 3 * DAY_MS, text("告警: 连接池 满了"), firing("pool"))],
    )

    def ids(*args: str) -> list[int]:
        page = gong(env, "search", *args)
        return [hit["message"]["id"] for hit in page["results"]]

    # Any substring of Chinese text, newest first, in every group; Latin ignoring case.
    assert ids("连接池") == [alert, dev_msg, md, pool]
    assert ids("池耗") == [pool]
    assert ids("connections") == [pool]
    assert ids("100%") == [md]
    assert ids("d_1") == [dev_msg]  # `_` is a plain character
    # Filters.
    assert ids("连接池", "--group", str(dev)) == [dev_msg]
    assert ids("连接池", "--robot", str(robots[0].id)) == [alert, pool]
    assert ids("连接池", "--msgtype", "markdown") == [md]
    assert ids("连接池", "--since", "2026-12-02") == [alert, dev_msg, md]
    assert ids("连接池", "--since", "2026-12-02T08:00", "--until", "2026-12-03T08:00") == [md]
    assert ids("连接池", "--until", str(t0 + 1)) == [pool]  # unix ms
    assert ids("连接池", "--alert-state", "firing") == [alert]
    # Pages: --limit, then --before the page's next_before.
    first = gong(env, "search", "连接池", "--limit", "3")
    assert [h["message"]["id"] for h in first["results"]] == [alert, dev_msg, md]
    assert first["next_before"] == md
    assert ids("连接池", "--limit", "3", "--before", str(md)) == [pool]

    # --json is what GET /api/search answers for the same query.
    for cli_args, params in [
        (["连接池"], {"q": "连接池"}),
        (
            ["连接池", "--group", str(ops), "--limit", "1"],
            {"q": "连接池", "group_id": ops, "limit": 1},
        ),
        (
            ["部署 100%", "--msgtype", "markdown", "--since", str(t0)],
            {"q": "部署 100%", "msgtype": "markdown", "since": t0},
        ),
    ]:
        api = httpx.get(f"{server.url}/api/search", params=params, headers=ADMIN, timeout=10)
        assert api.status_code == 200, api.text
        assert gong(env, "search", *cli_args) == api.json()
    hit = gong(env, "search", "池耗")["results"][0]
    assert hit["snippet"] == [
        {"text": "db-01: 数据库连接", "match": False},
        {"text": "池耗", "match": True},
        {"text": "尽 (DB-01 Connections)", "match": False},
    ]

    # For people: a table of id, group, sender, local time and the snippet, the match in bold.
    human = gong_cli(["search", "池耗"], {**env, "COLUMNS": "200", "FORCE_COLOR": "1"}).stdout
    assert f"{pool}" in human and "运维" in human and "运维-bot" in human
    assert "2026-12-01 08:00:00" in human
    assert "\x1b[1m池耗\x1b[0m" in human
    assert "no message matches" in gong_cli(["search", "不存在的词"], env).stdout
    more = gong_cli(["search", "连接池", "--limit", "1"], {**env, "COLUMNS": "200"}).stdout
    assert f"--before {alert}" in more


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (["search", "连"], 1, "search for at least 2 characters"),
        (["search", "x" * 201], 1, "longer than 200 characters"),
        (["search", "连接池", "--since", "yesterday"], 2, "is not a date (2026-12-01)"),
        (["search", "连接池", "--until", "2026-13-01"], 2, "is not a date"),
        (["search", "连接池", "--msgtype", "voice"], 2, "is not one of actionCard"),
        (["search", "连接池", "--alert-state", "burning"], 2, "is not firing or resolved"),
        (["search", "连接池", "--limit", "101"], 2, "less than or equal to 100"),
        (["message", "recall", "99"], 1, "message 99 does not exist"),
        (["messages", "export", "99"], 1, "group 99"),
    ],
)
def test_bad_input_is_refused_clearly(
    env: dict[str, str], args: list[str], status: int, said: str
) -> None:
    result = gong_cli(args, {**env, "COLUMNS": "200"}, check=False)
    assert result.returncode == status, result.stdout + result.stderr
    assert said in result.stderr
    assert "Traceback" not in result.stderr


def test_search_json_errors_name_the_rule(env: dict[str, str]) -> None:
    result = gong_cli(["search", "a", "--json"], env, check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "error": {"code": "invalid", "message": "search for at least 2 characters"}
    }


# -- recall ------------------------------------------------------------------------------------


def test_recall_from_the_cli_reaches_the_live_server(
    env: dict[str, str], server: ServerProcess
) -> None:
    [robot] = groups(env, "ops")
    group = robot.group_id
    kept, gone = store(
        env,
        robot.access_token,
        [(1_800_000_000_000, text("磁盘 告警 a")), (1_800_000_000_001, text("磁盘 告警 b"))],
    )
    found = httpx.get(f"{server.url}/api/search", params={"q": "磁盘"}, headers=ADMIN)
    assert [h["message"]["id"] for h in found.json()["results"]] == [gone, kept]

    recalled = gong(env, "message", "recall", str(gone))
    assert recalled["id"] == gone
    assert recalled["recalled"] is True
    assert recalled["recalled_by"] == "cli"
    assert recalled["content"] is None and recalled["payload"] is None

    shown = httpx.get(f"{server.url}/api/messages/{gone}", headers=ADMIN).json()
    assert shown["recalled"] is True
    assert shown["content"] is None
    assert shown["recalled_at"] == recalled["recalled_at"]
    found = httpx.get(f"{server.url}/api/search", params={"q": "磁盘"}, headers=ADMIN)
    assert [h["message"]["id"] for h in found.json()["results"]] == [kept]
    assert [h["message"]["id"] for h in gong(env, "search", "告警 b")["results"]] == []
    listed = gong_cli(["messages", str(group)], {**env, "COLUMNS": "200"}).stdout
    assert "(recalled)" in listed

    again = gong_cli(["message", "recall", str(gone), "--json"], env, check=False)
    assert again.returncode == 1
    assert json.loads(again.stdout)["error"]["code"] == "conflict"
    human = gong_cli(["message", "recall", str(kept)], env).stdout
    assert f"message {kept} in group {group} recalled" in human


# -- export ------------------------------------------------------------------------------------


def _bulk(n: int, start: int = 0, size: int = 40) -> list[Post]:
    """``n`` messages a millisecond apart in groups of 500, each ``size`` characters or more."""
    base = 1_800_000_000_000
    return [
        (base + (start + i) // 500, text(f"消息 {start + i:06d} " + "字" * size)) for i in range(n)
    ]


def test_export_writes_every_message_in_order_as_ndjson_and_csv(
    env: dict[str, str], tmp_path: Path
) -> None:
    robot, other = groups(env, "ops", "other")
    group = robot.group_id
    ids = store(env, robot.access_token, _bulk(2_500))
    store(env, other.access_token, [(1_800_000_000_000, text("not ops"))])
    [card] = store(
        env,
        robot.access_token,
        [
            (
                1_800_000_100_000,
                {
                    "msgtype": "link",
                    "link": {
                        "title": "发布 2.4",
                        "text": 'what changed, "quoted"\nline 2',
                        "messageUrl": "https://x.example",
                    },
                },
            )
        ],
    )
    ids.append(card)
    gong(env, "message", "recall", str(ids[7]))

    # ndjson on stdout: every message, oldest first, each as the API shows it.
    lines = gong_cli(["messages", "export", str(group)], env).stdout.splitlines()
    assert len(lines) == 2_501
    exported = [json.loads(line) for line in lines]
    assert [m["id"] for m in exported] == ids
    assert exported[0]["content"]["text"]["content"] == f"消息 000000 {'字' * 40}"
    assert exported[7]["recalled"] is True and exported[7]["content"] is None
    assert {m["group_id"] for m in exported} == {group}
    assert exported[-1]["msgtype"] == "link"

    # csv into a file: a header and a row per message, in the same order.
    target = tmp_path / "ops.csv"
    result = gong_cli(
        ["messages", "export", str(group), "--format", "csv", "--output", str(target)], env
    )
    assert f"2,501 messages of group {group} written to {target}" in result.stderr
    assert result.stdout == ""
    with target.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == [
        "id",
        "created_at",
        "group_id",
        "sender_type",
        "sender_name",
        "robot_id",
        "msgtype",
        "title",
        "text",
        "recalled",
    ]
    assert [int(r[0]) for r in rows[1:]] == ids
    assert rows[1] == [
        str(ids[0]),
        "2027-01-15T08:00:00.000Z",
        str(group),
        "robot",
        "ops-bot",
        str(robot.id),
        "text",
        f"消息 000000 {'字' * 40}",
        f"消息 000000 {'字' * 40}",
        "false",
    ]
    assert rows[8][7:] == ["", "", "true"]
    assert rows[-1][6:] == ["link", "发布 2.4", 'what changed, "quoted"\nline 2', "false"]

    # --since: only what was posted from then on (a local time, or unix ms).
    since = gong_cli(["messages", "export", str(group), "--since", "1800000100000"], env).stdout
    assert [json.loads(line)["id"] for line in since.splitlines()] == [card]
    assert gong_cli(["messages", "export", str(group), "--since", "2999-01-01"], env).stdout == ""
    # The list keeps paging as it did.
    page = gong(env, "messages", str(group), "--limit", "2", "--before", str(card))
    assert [m["id"] for m in page] == [ids[-2], ids[-3]]


MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """The peak resident memory of one ``gong ARGS`` process (in a process of its own, so no
    other child counts)."""
    gong_path = shutil.which("gong", path=str(Path(sys.executable).parent)) or "gong"
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, gong_path, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


def test_export_memory_stays_flat_however_long_the_history(
    env: dict[str, str], tmp_path: Path
) -> None:
    [robot] = groups(env, "ops")
    group, token = robot.group_id, robot.access_token
    # About 1 KB a message: holding 17,500 more in memory would cost tens of megabytes.
    store(env, token, _bulk(2_500, size=300))
    target = tmp_path / "out.ndjson"
    args = ["messages", "export", str(group), "--output", str(target)]
    small = peak_rss_mb(args, env)
    assert target.read_bytes().count(b"\n") == 2_500
    store(env, token, _bulk(17_500, start=2_500, size=300))
    large = peak_rss_mb(args, env)
    assert target.read_bytes().count(b"\n") == 20_000
    assert target.stat().st_size > 20_000 * 900
    print(f"peak RSS: 2,500 messages {small:.1f} MB, 20,000 {large:.1f} MB")
    assert large - small < 20, f"2,500 messages: {small:.1f} MB, 20,000: {large:.1f} MB"
    csv_small = peak_rss_mb([*args, "--format", "csv"], env)
    assert abs(csv_small - large) < 20


# -- retention ---------------------------------------------------------------------------------


async def _orphans(env: dict[str, str], gone: Sequence[int]) -> dict[str, int]:
    """Rows that still belong to deleted messages, per table."""
    engine = await open_database(_settings(env), pool_size=1)
    counts: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            for table in ("messages", "message_search", "message_mentions", "relay_deliveries"):
                column = "id" if table == "messages" else "message_id"
                counts[table] = 0
                for start in range(0, len(gone), 500):
                    chunk = list(gone[start : start + 500])
                    query = sa.text(
                        f"SELECT count(*) FROM {table} WHERE {column} IN :ids"
                    ).bindparams(sa.bindparam("ids", expanding=True))
                    counts[table] += int((await conn.execute(query, {"ids": chunk})).scalar_one())
    finally:
        await engine.dispose()
    return counts


def _ids(env: dict[str, str], group: int) -> list[int]:
    lines = gong_cli(["messages", "export", str(group)], env).stdout.splitlines()
    return [json.loads(line)["id"] for line in lines]


def test_prune_enforces_retention_and_leaves_nothing_behind(any_env: dict[str, str]) -> None:
    env = any_env
    # Relayed robots: every message gets a relay delivery record (pending: no worker runs).
    made = groups(env, "by-age", "by-count", "forever", upstream=True)
    by_age, by_count, forever = (r.group_id for r in made)
    robots = {r.group_id: r.access_token for r in made}
    now = dt.datetime.now(dt.UTC).timestamp() * 1000
    old, recent = int(now - 10 * DAY_MS), int(now - DAY_MS)

    def posts(when: int, n: int, word: str) -> list[Post]:
        return [
            (when, text(f"{word} {i} @13800000001", atMobiles=["13800000001"])) for i in range(n)
        ]

    age_ids = store(env, robots[by_age], posts(old, 30, "陈旧消息") + posts(recent, 5, "新消息"))
    count_ids = store(env, robots[by_count], posts(old, 12, "计数消息"))
    forever_ids = store(env, robots[forever], posts(old, 4, "永久消息"))
    everything = age_ids + count_ids + forever_ids
    before = run_sync(_orphans(env, everything))
    assert before == {
        "messages": 51,
        "message_search": 51,
        "message_mentions": 51,
        "relay_deliveries": 51,
    }

    # Nothing has a retention yet: nothing to do.
    assert gong(env, "prune") == {"groups": 0, "deleted": 0}
    assert "nothing to delete" in gong_cli(["prune"], env).stdout

    shown = gong(env, "group", "update", str(by_age), "--retention-days", "3")
    assert (shown["retention_days"], shown["retention_count"]) == (3, None)
    gong(env, "group", "update", str(by_count), "--retention-count", "5")
    listed = gong_cli(["group", "list"], {**env, "COLUMNS": "200"}).stdout
    assert "3 days" in listed and "the newest 5" in listed and "forever" in listed
    human = gong_cli(["group", "show", str(by_count)], env).stdout
    assert "keeps messages:  the newest 5" in human
    refused = gong_cli(
        ["group", "update", str(by_age), "--retention-days", "-1", "--json"], env, check=False
    )
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "invalid"

    assert gong(env, "prune") == {"groups": 2, "deleted": 30 + 7}
    assert _ids(env, by_age) == age_ids[30:]
    assert _ids(env, by_count) == count_ids[-5:]
    assert _ids(env, forever) == forever_ids
    gone = age_ids[:30] + count_ids[:7]
    assert run_sync(_orphans(env, gone)) == {
        "messages": 0,
        "message_search": 0,
        "message_mentions": 0,
        "relay_deliveries": 0,
    }
    kept = age_ids[30:] + count_ids[7:] + forever_ids
    assert run_sync(_orphans(env, kept)) == dict.fromkeys(before, len(kept))
    assert gong(env, "search", "陈旧消息")["results"] == []
    assert len(gong(env, "search", "计数消息")["results"]) == 5
    assert len(gong(env, "search", "新消息")["results"]) == 5

    # Enforced: a second run deletes nothing; 0 keeps forever again.
    assert "0 messages deleted from 2 groups" in gong_cli(["prune"], env).stdout
    cleared = gong(env, "group", "update", str(by_count), "--retention-count", "0")
    assert cleared["retention_count"] is None
    assert gong(env, "prune") == {"groups": 1, "deleted": 0}

    # One process at a time: while a server holds the pruning lease, the CLI says so.
    run_sync(
        _sql(
            env,
            "INSERT INTO leases (name, holder, until) VALUES ('prune', 'other', 9000000000000000)",
        )
    )
    busy = gong_cli(["prune", "--json"], env, check=False)
    assert busy.returncode == 1
    assert json.loads(busy.stdout)["error"] == {
        "code": "busy",
        "message": "another Gong process is enforcing retention right now; try again in a minute",
    }


async def _sql(env: dict[str, str], statement: str) -> None:
    engine = await open_database(_settings(env), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def test_csv_rows_read_back_with_any_reader(env: dict[str, str]) -> None:
    [robot] = groups(env, "ops")
    group = robot.group_id
    store(env, robot.access_token, [(1_800_000_000_000, text('逗号, 引号 " 与换行\n第二行'))])
    out = gong_cli(["messages", "export", str(group), "--format", "csv"], env).stdout
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert rows[0]["text"] == '逗号, 引号 " 与换行\n第二行'
    assert rows[0]["recalled"] == "false"
