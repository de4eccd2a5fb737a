"""How ``/robot/send`` throughput changes with the number of robots (1 to 10 000).

Each request goes to a robot picked at random (keyword security, no rate limit), so with many
robots every request needs a different robot view: this measures the robot directory (cache)
and the writer, not one hot robot. SQLite, one worker, wrk with 64 connections.

    python bench/robots.py [--counts 1,100,1000,10000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, gong, need_wrk, server, wrk

BODY = json.dumps({"msgtype": "text", "text": {"content": "告警: disk 91%"}}, ensure_ascii=False)


async def add_robots(data_dir: str, count: int) -> list[str]:
    """``count`` robots in group 1, inserted in bulk (creating 10 000 one by one takes minutes)."""
    import sqlalchemy as sa

    from gong.config import Settings
    from gong.protocol.signing import generate_token
    from gong.storage.database import open_database
    from gong.storage.schema import robot_stats, robots

    engine = await open_database(Settings(data_dir=Path(data_dir)))
    now = int(time.time() * 1000)
    tokens = [generate_token() for _ in range(count)]
    try:
        async with engine.begin() as conn:
            for start in range(0, count, 1000):
                chunk = tokens[start : start + 1000]
                rows = [
                    {
                        "group_id": 1,
                        "name": f"robot {start + i}",
                        "kind": "custom",
                        "access_token": t,
                        "secret": None,
                        "keywords": ["告警"],
                        "ip_allow": [],
                        "enabled": True,
                        "rate_limit": 0,
                        "rate_window": 60,
                        "rate_block": 600,
                        "overflow": "reject",
                        "avatar_url": "",
                        "settings": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, t in enumerate(chunk)
                ]
                await conn.execute(robots.insert(), rows)
            ids = (await conn.execute(sa.select(robots.c.id))).scalars().all()
            await conn.execute(
                robot_stats.insert(), [{"robot_id": i, "accepted": 0, "refused": 0} for i in ids]
            )
    finally:
        await engine.dispose()
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="1,100,1000,10000")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    need_wrk()
    rows = []
    for count in [int(c) for c in args.counts.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GONG_DATA_DIR": tmp, "GONG_LOG_LEVEL": "WARNING"}
            gong("group", "create", "bench", env=env)
            tokens = asyncio.run(add_robots(tmp, count))
            tokens_file = Path(tmp) / "tokens.txt"
            tokens_file.write_text("\n".join(tokens) + "\n")
            port = free_port()
            env["GONG_PORT"] = str(port)
            with server([sys.executable, "-m", "gong", "serve"], port, env=env):
                url = f"http://127.0.0.1:{port}/"
                wrk(url, BODY, seconds=args.warmup, tokens_file=tokens_file)  # warm the directory
                result = wrk(url, BODY, seconds=args.seconds, tokens_file=tokens_file)
            rows.append((count, result))
            if result.bad:
                sys.exit(f"FAIL: {result.bad} answers were not ok with {count} robots")
    print(f"\nPOST /robot/send to a random robot among N, 64 connections, {args.seconds} s, SQLite")
    print("| robots | req/s | p50 ms | p99 ms |")
    print("|---:|---:|---:|---:|")
    for count, r in rows:
        print(f"| {count:,} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} |")


if __name__ == "__main__":
    main()
