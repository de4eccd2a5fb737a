"""Load benchmark of ``POST /robot/send``: Gong's durable path against a bare ASGI app.

Both servers run in the same run with the same number of uvicorn workers (uvloop, httptools),
driven by wrk with 64 connections. Gong's robot has signature + keyword security and no rate
limit (so every request is stored); ``synchronous=FULL`` on SQLite. Every request must be answered
``{"errcode":0,"errmsg":"ok"}``, and Gong must have stored every message it acknowledged.

    python bench/send.py                      # 1 worker, SQLite
    python bench/send.py --matrix             # 1 and 2 workers, SQLite and PostgreSQL + Redis
    python bench/send.py --workers 2 --redis-url redis://127.0.0.1:6379/0
    python bench/send.py --database-url postgresql://postgres@127.0.0.1:5432/gong_bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import WrkResult, free_port, gong, need_wrk, server, wrk
from gong.protocol.signing import signed_query

BODY = json.dumps(
    {
        "msgtype": "text",
        "text": {"content": "告警: CI build #1024 passed"},
        "at": {"atMobiles": ["13800000001"]},
    },
    ensure_ascii=False,
)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Run:
    label: str
    workers: int
    bare: WrkResult
    gong: WrkResult
    stored: int


async def _sql(url: str, statement: str) -> int:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        url.replace("postgresql://", "postgresql+asyncpg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text(statement))
            return int(result.scalar() or 0) if result.returns_rows else 0
    finally:
        await engine.dispose()


def measure(
    workers: int, database_url: str | None, redis_url: str | None, seconds: int, connections: int
) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GONG_DATA_DIR": tmp, "GONG_LOG_LEVEL": "WARNING"}
        if database_url:
            env["GONG_DATABASE_URL"] = database_url
        if redis_url:
            env["GONG_REDIS_URL"] = redis_url
            env["GONG_REDIS_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"
        gong("group", "create", "bench", env=env)
        gong("member", "add", "1", "--name", "张三", "--mobile", "13800000001", env=env)
        robot = json.loads(
            gong(
                "robot",
                "create",
                "1",
                "--name",
                "bench",
                "--keyword",
                "告警",
                "--sign",
                "--rate-limit",
                "0",
                "--json",
                env=env,
            )
        )

        bare_port = free_port()
        bare = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare:app",
            "--port",
            str(bare_port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ]
        with server(bare, bare_port, health="/"):
            bare_url = f"http://127.0.0.1:{bare_port}/robot/send"
            wrk(bare_url, BODY, seconds=2)  # warm up
            bare_result = wrk(bare_url, BODY, connections=connections, seconds=seconds)

        port = free_port()
        env["GONG_PORT"] = str(port)
        cmd = [sys.executable, "-m", "gong", "serve", "--workers", str(workers)]
        with server(cmd, port, env=env):

            def url() -> str:
                query = signed_query(robot["secret"], int(time.time() * 1000))
                return (
                    f"http://127.0.0.1:{port}/robot/send?"
                    f"access_token={robot['access_token']}&{query}"
                )

            wrk(url(), BODY, seconds=2)  # warm up
            gong_result = wrk(url(), BODY, connections=connections, seconds=seconds)
        if database_url:
            stored = asyncio.run(_sql(database_url, "SELECT count(*) FROM messages"))
        else:
            import sqlite3

            with sqlite3.connect(Path(tmp) / "gong.db") as db:
                stored = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    label = "PostgreSQL + Redis" if database_url else ("SQLite + Redis" if redis_url else "SQLite")
    return Run(label, workers, bare_result, gong_result, stored)


def report(runs: list[Run], seconds: int, connections: int) -> None:
    print(f"\nPOST /robot/send, {connections} connections, {seconds} s per measurement")
    print(
        "| storage | workers | bare app req/s | bare p99 | Gong req/s | Gong p50 | Gong p99 "
        "| Gong / bare |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r.label} | {r.workers} | {r.bare.rps:,.0f} | {r.bare.p99_ms:.1f} ms | "
            f"{r.gong.rps:,.0f} | {r.gong.p50_ms:.1f} ms | {r.gong.p99_ms:.1f} ms | "
            f"{r.gong.rps / r.bare.rps:.0%} |"
        )
    for r in runs:
        if r.gong.bad or r.bare.bad:
            sys.exit(f"FAIL ({r.label}, {r.workers}): answers other than ok")
        if r.stored < r.gong.ok:
            sys.exit(f"FAIL ({r.label}, {r.workers}): {r.stored} stored < {r.gong.ok} acknowledged")
    print(
        '\nEvery answer was {"errcode":0,"errmsg":"ok"} and every acknowledged message was stored.'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--matrix", action="store_true", help="1 and 2 workers, SQLite and PG")
    args = parser.parse_args()
    need_wrk()
    runs: list[Run] = []
    if not args.matrix:
        runs.append(
            measure(args.workers, args.database_url, args.redis_url, args.seconds, args.connections)
        )
    else:
        runs.append(measure(1, None, None, args.seconds, args.connections))
        runs.append(measure(2, None, REDIS, args.seconds, args.connections))
        base = PG_ADMIN.rsplit("/", 1)[0]
        for workers in (1, 2):
            name = f"gong_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_sql(PG_ADMIN, f'CREATE DATABASE "{name}"'))
            try:
                runs.append(
                    measure(workers, f"{base}/{name}", REDIS, args.seconds, args.connections)
                )
            finally:
                asyncio.run(_sql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report(runs, args.seconds, args.connections)


if __name__ == "__main__":
    main()
