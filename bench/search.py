"""Search over a large history, what the index costs the send path, and the pruner under load.

Three measurements, each bounded by a size and a time:

- ``search``: N stored messages (monitoring and CI texts, Chinese and English, with the
  repetition real groups have), loaded straight into ``messages`` and ``message_search`` after
  Gong has migrated the database (SQLite's FTS table is filled by its triggers); then a fixed
  mix of queries, each run ``--repeat`` times after a warm-up, through ``GET /api/search`` on a
  real ``gong serve`` (admin token) and through the search service in this process. Reports
  p50 / p95 / max per query and per backend, and the query plan of every query over the target.
- ``send``: ``bench/send.py`` (Gong against the bare app, same run) on this tree and on a tree
  without the index (``--compare-tree``, e.g. ``git worktree add /tmp/gong-noindex d49024e``),
  alternately, back to back.
- ``prune``: a group holding N messages older than its retention; ``Archive.prune`` runs in a
  loop in this process while wrk drives the send path of the same server. Throughput in windows
  while the pruner runs against windows before it starts and after it ends.

    python bench/search.py                          # every phase, SQLite and PostgreSQL
    python bench/search.py --quick                  # 50 000 messages: a smoke run
    python bench/search.py --phase search --backend sqlite --messages 200000
    python bench/search.py --phase send --compare-tree /tmp/gong-noindex
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
import sqlalchemy.ext.asyncio as sa_async

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, WrkResult, free_port, gong, need_wrk, server, wrk
from bench.send import BODY
from gong.config import Settings
from gong.domain.search import SearchFilters, searchable_text
from gong.protocol.signing import signed_query
from gong.runtime import Runtime

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN = f"{PG_SERVER}/postgres"
TARGET_MS = 100.0
DAY_MS = 86_400_000

# -- the messages -----------------------------------------------------------------------------

DBS = [f"db-{i:02d}" for i in range(1, 301)]
WEBS = [f"web-{i:02d}" for i in range(1, 121)]
HOSTS = DBS + WEBS + [f"cache-{i:02d}" for i in range(1, 41)]
SERVICES = [
    "order-service",
    "payment-api",
    "user-center",
    "gateway",
    "search-indexer",
    "report-job",
    "notify-worker",
    "inventory",
]
BRANCHES = ["main", "develop", "release/2.4", "feature/login", "hotfix/pay-timeout"]
SENDERS = ["Alertmanager", "Jenkins", "GitLab CI", "Zabbix", "部署机器人", "Grafana"]
#: The share of messages in each group: one busy group, a long tail of quiet ones.
GROUP_SHARES = [0.40, 0.20, 0.15, 0.10, 0.08, 0.04, 0.02, 0.01]
#: A term only ten messages hold, however many there are.
RARE_TERM = "ERR-7F3A9C21"
RARE_HITS = 10


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _text(rng: random.Random, n: int) -> tuple[str, str | None]:
    """A message's text, and a markdown title when it is sent as markdown."""
    host, db, svc = rng.choice(HOSTS), rng.choice(DBS), rng.choice(SERVICES)
    pick = rng.random()
    if pick < 0.20:
        outcome = "passed" if rng.random() < 0.8 else "failed"
        branch = rng.choice(BRANCHES)
        text = f"CI build #{n % 50_000} {outcome} on {branch} ({rng.randint(40, 900)} s)"
        return text, None
    if pick < 0.28:
        text = (
            f"[告警] 数据库连接池耗尽 {db} active={rng.randint(90, 100)}/100 "
            f"等待线程 {rng.randint(1, 400)}"
        )
        return text, "数据库告警"
    if pick < 0.36:
        return f"磁盘空间不足: {host} 挂载点 /data 使用率 {rng.randint(85, 99)}%", "磁盘告警"
    if pick < 0.46:
        env = rng.choice(["生产环境", "预发环境", "测试环境"])
        text = f"部署完成: {svc} v2.{rng.randint(0, 40)}.{rng.randint(0, 9)} 已发布到 {env}"
        return f"{text} (commit {_hex(rng, 7)})", None
    if pick < 0.56:
        return f"[FIRING:1] HighCPUUsage {host} cpu={rng.randint(80, 100)}% for 5m", "Alertmanager"
    if pick < 0.62:
        return f"[RESOLVED] HighCPUUsage {host} cpu={rng.randint(10, 60)}%", "Alertmanager"
    if pick < 0.68:
        ns = rng.choice(["prod", "staging", "infra"])
        text = (
            f"Pod {svc}-{_hex(rng, 5)} in namespace {ns} is in CrashLoopBackOff "
            f"(restarts: {rng.randint(3, 80)})"
        )
        return text, None
    if pick < 0.76:
        ms = rng.randint(800, 5000)
        return f"接口超时告警 {svc} P99 延迟 {ms}ms 超过阈值 500ms", None
    if pick < 0.81:
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return f"每日报表已生成: {day} 订单 {rng.randint(1000, 90000)} 笔", "日报"
    if pick < 0.86:
        return f"备份成功 {db} 大小 {rng.randint(1, 800)}GB 耗时 {rng.randint(1, 90)} 分钟", None
    if pick < 0.89:
        return f"证书即将过期: {svc}.example.com 剩余 {rng.randint(1, 30)} 天", None
    if pick < 0.997:
        return f"Nightly backup of {db} completed, request id {_hex(rng, 16)}", None
    if pick < 0.9995:  # rare: 0.25 %
        return f"回滚完成: {svc} 从 v2.{rng.randint(0, 40)} 回滚到 v2.{rng.randint(0, 40)}", None
    return f"主机宕机: {host} 无响应 (ping 超时)", "宕机"  # very rare: 0.05 %


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    group_id: int
    sender_name: str
    msgtype: str
    content: str
    created_at: int
    body: str


def messages(count: int, group_ids: list[int], first_id: int, newest_ms: int) -> Iterator[Row]:
    """``count`` messages, one every ~8 s up to ``newest_ms``, ids from ``first_id``."""
    rng = random.Random(1024)
    weights = GROUP_SHARES[: len(group_ids)]
    rare_every = max(count // RARE_HITS, 1)
    for n in range(count):
        text, title = _text(rng, n)
        if n % rare_every == rare_every // 2:
            text += f" trace {RARE_TERM}"
        if title is None:
            content: dict[str, Any] = {"msgtype": "text", "text": {"content": text}}
        else:
            url = f"https://grafana.example.com/d/ops?var-n={n}"
            markdown = f"### {title}\n> {text}\n\n[查看详情]({url})"
            content = {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
        msgtype = str(content["msgtype"])
        group = group_ids[0] if len(group_ids) == 1 else rng.choices(group_ids, weights)[0]
        yield Row(
            first_id + n,
            group,
            rng.choice(SENDERS),
            msgtype,
            orjson.dumps(content).decode(),
            newest_ms - (count - n) * 8_000,
            searchable_text(msgtype, content),
        )


def batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


_COLUMNS = (
    "id, group_id, robot_id, sender_type, sender_user_id, sender_name, msgtype, payload, "
    "content, mentions, at_all, unresolved, msg_uuid, created_at, visible_to_user_id, alert, "
    "repeat"
)


def _message(r: Row) -> tuple[Any, ...]:
    return (
        r.id,
        r.group_id,
        None,
        "robot",
        None,
        r.sender_name,
        r.msgtype,
        r.content,
        r.content,
        "[]",
        False,
        "[]",
        None,
        r.created_at,
        None,
        None,
        1,
    )


def load_sqlite(path: Path, rows: Iterator[Row], batch: int = 50_000) -> None:
    """Insert in big transactions; the triggers on ``message_search`` fill ``message_fts``."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    marks = ", ".join("?" * 17)
    for chunk in batches(rows, batch):
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO messages ({_COLUMNS}) VALUES ({marks})", map(_message, chunk))
        db.executemany(
            "INSERT INTO message_search (message_id, body) VALUES (?, ?)",
            [(r.id, r.body) for r in chunk if r.body],
        )
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()


async def load_postgres(url: str, rows: Iterator[Row], batch: int = 50_000) -> None:
    """COPY in big transactions (into the tables Gong made, with their indexes in place)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for chunk in batches(rows, batch):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "messages",
                    records=map(_message, chunk),
                    columns=[c.strip() for c in _COLUMNS.split(",")],
                )
                await conn.copy_records_to_table(
                    "message_search",
                    records=[(r.id, r.body) for r in chunk if r.body],
                    columns=["message_id", "body"],
                )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('messages', 'id'), "
            "(SELECT max(id) FROM messages))"
        )
        await conn.execute("VACUUM ANALYZE messages")
        await conn.execute("VACUUM ANALYZE message_search")
    finally:
        await conn.close()


# -- data stores --------------------------------------------------------------------------------


@dataclass
class Store:
    backend: str
    data_dir: Path
    database_url: str | None

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.database_url)

    @property
    def env(self) -> dict[str, str]:
        env = {"GONG_DATA_DIR": str(self.data_dir), "GONG_LOG_LEVEL": "WARNING"}
        if self.database_url:
            env["GONG_DATABASE_URL"] = self.database_url
        return env

    async def load(self, rows: Iterator[Row]) -> None:
        if self.database_url:
            await load_postgres(self.database_url, rows)
        else:
            await asyncio.to_thread(load_sqlite, self.data_dir / "gong.db", rows)


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def store(backend: str, name: str) -> AsyncIterator[Store]:
    """A fresh, empty data store: a temporary directory, and for PostgreSQL database ``name``
    (dropped first if a previous run left it, and at the end)."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            yield Store(backend, Path(tmp), None)
            return
        await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _pg(f'CREATE DATABASE "{name}"')
        try:
            yield Store(backend, Path(tmp), f"{PG_SERVER}/{name}")
        finally:
            await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- search -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    label: str
    q: str
    group: int | None = None  # an index into the groups, busiest first
    pages: int = 1  # the page measured (earlier pages are fetched, untimed, for ``before``)


QUERIES = [
    Query("Chinese, 3+ chars, common", "数据库连接池"),
    Query("Chinese, 3+ chars, quiet group", "磁盘空间不足", group=7),
    Query("Chinese, 2 chars, common", "告警"),
    Query("Chinese, 2 chars, rare (0.25 %)", "回滚"),
    Query("Chinese, 2 chars, very rare (0.05 %)", "宕机"),
    Query("Latin, other case", "crashloopbackoff"),
    Query("two words", "db-17 连接池"),
    Query("two words, busy group", "部署完成 payment-api", group=0),
    Query("rare term (10 messages)", RARE_TERM.lower()),
    Query("common term", "build"),
    Query("common term, busy group", "build", group=0),
    Query("common term, quiet group", "build", group=7),
    Query("common term, page 3", "passed", pages=3),
    Query("no match", "nothing-matches-this"),
    # Only short words: one window of SHORT_SCAN messages, an empty page and ``next_before``.
    Query("2 chars, no match", "zz"),
]


@dataclass
class Timing:
    label: str
    http: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    hits: int = 0
    #: The measured page said where to go on (``next_before``).
    more: bool = False


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def _service_search(
    runtime: Runtime, query: Query, groups: list[int]
) -> tuple[float, int, bool]:
    """The time of the measured page, its hits, and whether it gave ``next_before``. A query of
    short words only may answer with an empty page and ``next_before`` (its window held no
    match): that page is the answer measured."""
    scope = await runtime.search.scope(None, True)
    filters = SearchFilters(group_id=groups[query.group] if query.group is not None else None)
    before = None
    for _ in range(query.pages - 1):
        before = (await runtime.search.search(query.q, scope, filters, before=before)).next_before
    started = time.perf_counter()
    page = await runtime.search.search(query.q, scope, filters, before=before)
    return (time.perf_counter() - started) * 1000, len(page.hits), page.next_before is not None


def _http_search(client: httpx.Client, query: Query, groups: list[int]) -> tuple[float, int, bool]:
    params: dict[str, Any] = {"q": query.q}
    if query.group is not None:
        params["group_id"] = groups[query.group]
    for _ in range(query.pages - 1):
        params["before"] = client.get("/api/search", params=params).json()["next_before"]
    started = time.perf_counter()
    answer = client.get("/api/search", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    body = answer.json()
    return elapsed, len(body["results"]), body.get("next_before") is not None


async def explain(runtime: Runtime, query: Query, groups: list[int]) -> str:
    """The plan of the statement the search service runs for ``query``."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "message_search" in statement:
            seen.append((statement, params))

    sync = runtime.engine.sync_engine
    sa.event.listen(sync, "before_cursor_execute", record)
    try:
        await _service_search(runtime, query, groups)
    finally:
        sa.event.remove(sync, "before_cursor_execute", record)
    statement, params = seen[-1]
    async with runtime.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        if runtime.engine.dialect.name == "sqlite":
            cursor = await driver.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            lines = [str(row[-1]) for row in await cursor.fetchall()]
        else:
            rows = await driver.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *params)
            lines = [str(row[0]) for row in rows]
    return "\n".join(lines)


async def measure_search(backend: str, count: int, repeat: int, http: bool) -> list[Timing]:
    async with store(backend, "gong_bench_search") as st:
        runtime = await Runtime.open(st.settings)
        try:
            groups = [(await runtime.groups.create(f"ops {i + 1}")).id for i in range(8)]
            token = await runtime.tokens.create("bench")
        finally:
            await runtime.close()
        started = time.monotonic()
        await st.load(messages(count, groups, 1, int(time.time() * 1000)))
        print(f"{backend}: {count:,} messages loaded in {time.monotonic() - started:.0f} s")

        timings = [Timing(q.label) for q in QUERIES]
        if http:
            port = free_port()
            cmd = [sys.executable, "-m", "gong", "serve"]
            with (
                server(cmd, port, env={**st.env, "GONG_PORT": str(port)}),
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                ) as client,
            ):
                for query, timing in zip(QUERIES, timings, strict=True):
                    _http_search(client, query, groups)  # warm up
                    for _ in range(repeat):
                        ms, timing.hits, timing.more = _http_search(client, query, groups)
                        timing.http.append(ms)
        runtime = await Runtime.open(st.settings)
        try:
            for query, timing in zip(QUERIES, timings, strict=True):
                await _service_search(runtime, query, groups)  # warm up
                for _ in range(repeat):
                    ms, timing.hits, timing.more = await _service_search(runtime, query, groups)
                    timing.service.append(ms)
            for query, timing in zip(QUERIES, timings, strict=True):
                if pct(timing.http or timing.service, 0.95) > TARGET_MS:
                    print(f"\n{backend}, {query.label} ({query.q!r}): over the target; plan:")
                    print(await explain(runtime, query, groups))
        finally:
            await runtime.close()
    return timings


def report_search(backend: str, count: int, timings: list[Timing]) -> None:
    print(
        f"\n{backend}: search over {count:,} messages (ms; 20 results a page; "
        "hits '+': the page gave next_before)"
    )
    print("| query | hits | HTTP p50 | HTTP p95 | HTTP max | service p50 | service p95 |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def cell(values: list[float], p: float) -> str:
        return f"{pct(values, p):.1f}" if values else "—"

    for t in timings:
        hits = f"{t.hits}{'+' if t.more else ''}"
        print(
            f"| {t.label} | {hits} | {cell(t.http, 0.5)} | {cell(t.http, 0.95)} | "
            f"{cell(t.http, 1.0)} | {cell(t.service, 0.5)} | {cell(t.service, 0.95)} |"
        )
    every_http = [v for t in timings for v in t.http]
    every = [v for t in timings for v in t.service]
    print(
        f"| **every query** | | {cell(every_http, 0.5)} | {cell(every_http, 0.95)} | "
        f"{cell(every_http, 1.0)} | {cell(every, 0.5)} | {cell(every, 0.95)} |"
    )
    missed = [t.label for t in timings if pct(t.http or t.service, 0.95) > TARGET_MS]
    print(f"Target p95 < {TARGET_MS:.0f} ms: " + (f"missed by {missed}" if missed else "met"))


# -- the send path with and without the index --------------------------------------------------

_SEND_ROW = re.compile(
    r"^\| [^|]+ \| \d+ \| ([\d,]+) \| [\d.]+ ms \| ([\d,]+) \| ([\d.]+) ms \| ([\d.]+) ms \|",
    re.M,
)


@dataclass(frozen=True, slots=True)
class SendRun:
    tree: str
    bare: float
    gong: float
    p50: float
    p99: float


async def _send(tree: Path, label: str, backend: str, seconds: int) -> SendRun:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    args = [sys.executable, str(tree / "bench" / "send.py"), "--seconds", str(seconds)]
    async with contextlib.AsyncExitStack() as stack:
        if backend == "postgresql":
            st = await stack.enter_async_context(store(backend, "gong_bench_send"))
            args += ["--database-url", str(st.database_url)]
        out = await asyncio.to_thread(
            subprocess.run, args, env=env, cwd=tree, capture_output=True, text=True, check=True
        )
    m = _SEND_ROW.search(out.stdout)
    if m is None or "FAIL" in out.stdout:
        raise RuntimeError(f"bench/send.py in {tree}:\n{out.stdout}\n{out.stderr}")
    bare, rps = (float(g.replace(",", "")) for g in m.groups()[:2])
    return SendRun(label, bare, rps, float(m.group(3)), float(m.group(4)))


async def measure_send(compare: Path, backend: str, rounds: int, seconds: int) -> list[SendRun]:
    runs = []
    for _ in range(rounds):
        runs.append(await _send(ROOT, "with the index", backend, seconds))
        runs.append(await _send(compare, "without (compare tree)", backend, seconds))
    return runs


def report_send(backend: str, runs: list[SendRun], seconds: int) -> None:
    print(f"\n{backend}: bench/send.py, 64 connections, {seconds} s, alternating trees")
    print("| code | bare app req/s | Gong req/s | Gong p50 | Gong p99 | Gong / bare |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r.tree} | {r.bare:,.0f} | {r.gong:,.0f} | {r.p50:.1f} ms | {r.p99:.1f} ms | "
            f"{r.gong / r.bare:.0%} |"
        )
    with_index = statistics.mean(r.gong / r.bare for r in runs if r.tree.startswith("with "))
    without = statistics.mean(r.gong / r.bare for r in runs if not r.tree.startswith("with "))
    ratio = with_index / without
    raw = statistics.mean(r.gong for r in runs if r.tree.startswith("with ")) / statistics.mean(
        r.gong for r in runs if not r.tree.startswith("with ")
    )
    print(
        f"Mean Gong / bare: {with_index:.1%} with the index, {without:.1%} without; "
        f"with / without = {ratio:.0%} of the bare-app ratio, {raw:.0%} of the raw req/s "
        f"(target: at least 80 %: {'met' if min(ratio, raw) >= 0.8 else 'missed'})"
    )


# -- the pruner under load ---------------------------------------------------------------------


@dataclass
class PruneResult:
    backend: str
    count: int
    deleted: int = 0
    #: Runs of the pruner that failed (counted, and started again).
    failures: int = 0
    seconds: float = 0.0
    finished: bool = False
    quiet: list[WrkResult] = field(default_factory=list)
    pruning: list[WrkResult] = field(default_factory=list)


async def _remaining(st: Store, group_id: int) -> int:
    engine = sa_async.create_async_engine(
        str(st.database_url).replace("postgresql://", "postgresql+asyncpg://")
        if st.database_url
        else f"sqlite+aiosqlite:///{st.data_dir / 'gong.db'}"
    )
    try:
        async with engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM messages WHERE group_id = :g")
            return int((await conn.execute(query, {"g": group_id})).scalar() or 0)
    finally:
        await engine.dispose()


async def measure_prune(
    backend: str,
    count: int,
    window: int,
    timeout: float,
    connections: int,
    batch: int | None = None,
    pause: float | None = None,
) -> PruneResult:
    """``batch`` and ``pause`` override Gong's (PRUNE_BATCH, PRUNE_PAUSE_S) to try others."""
    result = PruneResult(backend, count)
    async with store(backend, "gong_bench_prune") as st:
        runtime = await Runtime.open(st.settings)
        try:
            bench = (await runtime.groups.create("bench")).id
            old = (await runtime.groups.create("old")).id
            await runtime.groups.update(old, retention_days=1)
        finally:
            await runtime.close()
        gong("member", "add", str(bench), "--name", "张三", "--mobile", "13800000001", env=st.env)
        robot = json.loads(
            gong(
                *("robot", "create", str(bench), "--name", "bench", "--keyword", "告警"),
                *("--sign", "--rate-limit", "0", "--json"),
                env=st.env,
            )
        )
        started = time.monotonic()
        await st.load(messages(count, [old], 1, int(time.time() * 1000) - 30 * DAY_MS))
        print(
            f"{backend}: {count:,} messages to prune loaded in {time.monotonic() - started:.0f} s"
        )

        port = free_port()
        cmd = [sys.executable, "-m", "gong", "serve"]
        with server(cmd, port, env={**st.env, "GONG_PORT": str(port)}):

            def load(seconds: int) -> WrkResult:
                query = signed_query(robot["secret"], int(time.time() * 1000))
                url = (
                    f"http://127.0.0.1:{port}/robot/send?"
                    f"access_token={robot['access_token']}&{query}"
                )
                return wrk(url, BODY, connections=connections, seconds=seconds)

            await asyncio.to_thread(load, 2)  # warm up
            result.quiet.append(await asyncio.to_thread(load, window))
            runtime = await Runtime.open(st.settings)
            if pause is not None:
                runtime.archive.pause_s = pause
            sizes = {"batch": batch} if batch else {}
            try:

                async def prune() -> None:
                    while True:
                        try:
                            report = await runtime.archive.prune(**sizes)
                        except sa.exc.OperationalError:  # e.g. "database is locked": counted
                            result.failures += 1
                            report = None
                        # What is gone, whoever removed it (the server's pruner may, between
                        # two runs of this one).
                        result.deleted = count - await _remaining(st, old)
                        if result.deleted >= count:
                            return
                        if report is None:
                            await asyncio.sleep(0.1)
                        elif not report.deleted:
                            await asyncio.sleep(0.5)  # the server's own pruner holds the lease

                began = time.monotonic()
                pruning = asyncio.create_task(prune())
                pruning.add_done_callback(
                    lambda _: setattr(result, "seconds", time.monotonic() - began)
                )
                while not pruning.done() and time.monotonic() - began < timeout:
                    measured = await asyncio.to_thread(load, window)
                    if not pruning.done():  # only windows the pruner ran through
                        result.pruning.append(measured)
                if not pruning.done():
                    pruning.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pruning
                    result.seconds = time.monotonic() - began
                else:
                    await pruning
                    result.finished = True
            finally:
                await runtime.close()
            result.quiet.append(await asyncio.to_thread(load, window))
    return result


def report_prune(r: PruneResult, window: int) -> None:
    print(f"\n{r.backend}: Archive.prune over {r.count:,} messages, send path under wrk load")
    state = "all deleted" if r.finished else "stopped at the time limit"
    print(
        f"Pruned {r.deleted:,} messages in {r.seconds:.1f} s ({state}; "
        f"{r.deleted / max(r.seconds, 1e-9):,.0f} messages/s); "
        f"{r.failures} runs of the pruner failed (OperationalError, e.g. 'database is locked')"
    )
    print(f"| {window} s window | Gong req/s | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    labels = ["before pruning"] + ["while pruning"] * len(r.pruning) + ["after pruning"]
    for label, w in zip(labels, [r.quiet[0], *r.pruning, r.quiet[-1]], strict=True):
        print(
            f"| {label} | {w.rps:,.0f} | {w.p50_ms:.1f} ms | {w.p99_ms:.1f} ms | "
            f"{w.max_ms:.0f} ms |"
        )
    if not r.pruning:
        print("The pruner finished within the first window: no window ran wholly alongside it.")
        return
    quiet = statistics.mean(w.rps for w in r.quiet)
    busy = statistics.mean(w.rps for w in r.pruning)
    print(
        f"While pruning: {busy / quiet:.0%} of the throughput without it "
        f"(target at least 80 %: {'met' if busy / quiet >= 0.8 else 'missed'})"
    )


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phase", choices=["all", "search", "send", "prune"], default="all")
    parser.add_argument(
        "--backend", choices=["both", "sqlite", "postgresql"], default="both", help="data store"
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50 000 messages, short windows")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each query")
    parser.add_argument("--no-http", action="store_true", help="the search service only")
    parser.add_argument("--compare-tree", type=Path, default=Path("/tmp/gong-noindex"))
    parser.add_argument("--rounds", type=int, default=2, help="send runs per tree")
    parser.add_argument("--seconds", type=int, default=10, help="per send or prune window")
    parser.add_argument("--prune-timeout", type=float, default=600.0)
    parser.add_argument("--prune-batch", type=int, help="messages a batch (default: Gong's)")
    parser.add_argument("--prune-pause", type=float, help="s between batches (default: Gong's)")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.repeat, args.rounds, args.seconds = 50_000, 5, 1, 5
    need_wrk()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.phase in ("all", "search"):
        for backend in backends:
            timings = asyncio.run(
                measure_search(backend, args.messages, args.repeat, not args.no_http)
            )
            report_search(backend, args.messages, timings)
    if args.phase in ("all", "send"):
        if not (args.compare_tree / "bench" / "send.py").exists():
            sys.exit(f"no tree to compare at {args.compare_tree}: see --compare-tree")
        for backend in backends:
            runs = asyncio.run(measure_send(args.compare_tree, backend, args.rounds, args.seconds))
            report_send(backend, runs, args.seconds)
    if args.phase in ("all", "prune"):
        for backend in backends:
            result = asyncio.run(
                measure_prune(
                    *(backend, args.messages, args.seconds, args.prune_timeout, 64),
                    args.prune_batch,
                    args.prune_pause,
                )
            )
            report_prune(result, args.seconds)


if __name__ == "__main__":
    main()
