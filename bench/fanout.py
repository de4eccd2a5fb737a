"""Fan-out benchmark: one robot message to 1 000 open live streams (Server-Sent Events).

Opens N event streams (one signed-in account, N connections) to a real ``gong serve``, then
posts one robot message per round and records when each stream receives it. Reports, over the
rounds, the latency of every delivery (p50, p99) and of the last stream in each round, and the
server's memory per open stream (resident set size before and after opening them). The baseline,
measured first on the same server, is the same rounds with one open stream: the cost of storing
and delivering a message, without the fan-out. Client and server share the machine's cores, so
the numbers include the readers' own work.

    python bench/fanout.py [--connections 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, gong, server

PASSWORD = "bench password 1"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Opening:
    """Counts open streams; ``ready`` is set once all of them are open."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.count = 0
        self.ready = asyncio.Event()

    def opened(self) -> None:
        self.count += 1
        if self.count == self.target:
            self.ready.set()


async def open_stream(
    port: int, cookie: str, after: int, arrivals: dict[int, list[float]], opening: Opening
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(
        f"GET /events?after={after} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # response headers
    opening.opened()
    current = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"id: "):
                current = int(line[4:])
            elif line.startswith(b"data: ") and current is not None:
                arrivals.setdefault(current, []).append(time.perf_counter())
                current = None
    finally:
        writer.close()


async def run(
    port: int, base: str, token: str, cookie: str, connections: int, rounds: int, pid: int
) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        newest = 0
        before = rss_kib(pid)
        arrivals: dict[int, list[float]] = {}
        opening = Opening(connections)
        streams = [
            asyncio.create_task(open_stream(port, cookie, newest, arrivals, opening))
            for _ in range(connections)
        ]
        await asyncio.wait_for(opening.ready.wait(), 120)
        await asyncio.sleep(1.0)
        after = rss_kib(pid)
        delays: list[float] = []
        lasts: list[float] = []
        for n in range(rounds):
            sent = time.perf_counter()
            answer = await api.post(
                f"/robot/send?access_token={token}",
                json={"msgtype": "text", "text": {"content": f"CI round {n}"}},
            )
            assert answer.json()["errcode"] == 0, answer.text
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                got = [times for times in arrivals.values() if len(times) == connections]
                if len(got) > n:
                    break
                await asyncio.sleep(0.005)
            ids = sorted(arrivals)
            times = arrivals[ids[n]]
            assert len(times) == connections, f"round {n}: {len(times)} of {connections} streams"
            round_delays = [(t - sent) * 1000 for t in times]
            delays += round_delays
            lasts.append(max(round_delays))
            await asyncio.sleep(0.3)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    delays.sort()
    return {
        "p50": delays[len(delays) // 2],
        "p99": delays[int(len(delays) * 0.99)],
        "last_median": statistics.median(lasts),
        "last_max": max(lasts),
        "kib_per_stream": (after - before) / connections,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GONG_DATA_DIR": tmp,
            "GONG_LOG_LEVEL": "WARNING",
            "GONG_SSE_HEARTBEAT_SECONDS": "30",
        }
        gong("group", "create", "ops", env=env)
        gong("member", "add", "1", "--name", "张三", "--mobile", "13800000001", env=env)
        robot = json.loads(
            gong(
                "robot",
                "create",
                "1",
                "--name",
                "CI",
                "--keyword",
                "CI",
                "--rate-limit",
                "0",
                "--json",
                env=env,
            )
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gong",
                "user",
                "create",
                "bench",
                "--password-stdin",
                "--member",
                "1:13800000001",
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            env={**os.environ, **env},
            capture_output=True,
        )
        port = free_port()
        env["GONG_PORT"] = str(port)
        with server([sys.executable, "-m", "gong", "serve"], port, env=env) as proc:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base) as c:
                form = c.get("/login").text
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert csrf
                c.post(
                    "/login",
                    data={"username": "bench", "password": PASSWORD, "csrf_token": csrf.group(1)},
                )
                cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
            results = [
                asyncio.run(
                    run(port, base, robot["access_token"], cookie, n, args.rounds, proc.pid)
                )
                for n in (1, args.connections)
            ]
    print(f"\nOne message to N open event streams, {args.rounds} rounds")
    print(
        "| streams | delivery latency p50 | p99 | last stream, median round "
        "| last stream, worst round | memory per open stream |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n, result in zip((1, args.connections), results, strict=True):
        # One stream's share of the resident set is below what the RSS can resolve.
        memory = f"{result['kib_per_stream']:.1f} KiB" if n > 1 else "—"
        print(
            f"| {n:,} | {result['p50']:.0f} ms | {result['p99']:.0f} ms | "
            f"{result['last_median']:.0f} ms | {result['last_max']:.0f} ms | "
            f"{memory} |"
        )
    result = results[-1]
    print(
        f"\nServer memory: {result['rss_before_mib']:.0f} MiB before the {args.connections} "
        f"streams, {result['rss_after_mib']:.0f} MiB with them open. "
        "Target: p99 under 200 ms."
    )


if __name__ == "__main__":
    main()
