"""Load benchmark of ``POST /robot/send``: Gong's durable path against a bare ASGI app.

Both servers run in the same run, one uvicorn worker each (uvloop, httptools), driven by wrk
with 64 connections. Gong's robot has signature + keyword security, no rate limit (so every
request is stored), SQLite in a fresh data directory, ``synchronous=FULL``. Every request must
be answered ``{"errcode":0,"errmsg":"ok"}`` and Gong must have stored every one it answered.

    python bench/send.py [--seconds 10] [--connections 64] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, gong, need_wrk, server, wrk
from gong.protocol.signing import signed_query

BODY = json.dumps(
    {
        "msgtype": "text",
        "text": {"content": "告警: CI build #1024 passed"},
        "at": {"atMobiles": ["13800000001"]},
    },
    ensure_ascii=False,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    need_wrk()

    with tempfile.TemporaryDirectory() as tmp:
        env = {"GONG_DATA_DIR": tmp, "GONG_LOG_LEVEL": "WARNING"}
        if args.database_url:
            env["GONG_DATABASE_URL"] = args.database_url
        if args.redis_url:
            env["GONG_REDIS_URL"] = args.redis_url
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

        results = {}
        bare_port = free_port()
        bare = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare:app",
            "--port",
            str(bare_port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ]
        with server(bare, bare_port, health="/"):
            wrk(f"http://127.0.0.1:{bare_port}/robot/send", BODY, seconds=2)  # warm up
            results["bare"] = wrk(
                f"http://127.0.0.1:{bare_port}/robot/send",
                BODY,
                connections=args.connections,
                seconds=args.seconds,
            )

        port = free_port()
        env["GONG_PORT"] = str(port)
        cmd = [sys.executable, "-m", "gong", "serve"]
        if args.workers > 1:
            cmd += ["--workers", str(args.workers)]
        with server(cmd, port, env=env):

            def url() -> str:
                query = signed_query(robot["secret"], int(time.time() * 1000))
                return f"http://127.0.0.1:{port}/robot/send?access_token={robot['access_token']}&{query}"

            wrk(url(), BODY, seconds=2)  # warm up
            results["gong"] = wrk(url(), BODY, connections=args.connections, seconds=args.seconds)

        if not args.database_url:
            with sqlite3.connect(Path(tmp) / "gong.db") as db:
                stored = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        else:
            stored = None

    bare_r, gong_r = results["bare"], results["gong"]
    print(
        f"\nPOST /robot/send, {args.connections} connections, {args.seconds} s, "
        f"{args.workers} worker(s), {'PostgreSQL' if args.database_url else 'SQLite'}"
    )
    print("| server | req/s | p50 ms | p90 ms | p99 ms | max ms | non-ok answers |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in (("bare ASGI app", bare_r), ("Gong, durable", gong_r)):
        print(
            f"| {name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.max_ms:.1f} | {r.bad} |"
        )
    ratio = gong_r.rps / bare_r.rps
    print(
        f"\nGong reaches {ratio:.0%} of the bare app's requests per second "
        f"(target: at least 25%); p99 {gong_r.p99_ms:.1f} ms (target: under 20 ms)."
    )
    if stored is not None:
        print(f"Messages stored: {stored}; answered ok (incl. warm-up): ≥ {gong_r.ok}.")
        if stored < gong_r.ok:
            sys.exit("FAIL: fewer messages stored than acknowledged")
    if gong_r.bad or bare_r.bad:
        sys.exit('FAIL: some answers were not {"errcode":0,"errmsg":"ok"}')


if __name__ == "__main__":
    main()
