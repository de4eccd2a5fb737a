"""Shared pieces of the benchmarks: starting servers, running wrk, reading its numbers."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("the benchmarks drive load with wrk: apt-get install wrk")
    return wrk


@contextlib.contextmanager
def server(
    args: list[str], port: int, env: dict[str, str] | None = None, health: str = "/healthz"
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; wait until it answers."""
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=log,
        start_new_session=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1)
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited with {proc.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{args} did not start")
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()


@dataclass
class WrkResult:
    ok: int
    bad: int
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


def wrk(
    url: str,
    body: str,
    *,
    connections: int = 64,
    threads: int = 2,
    seconds: int = 10,
    tokens_file: Path | None = None,
) -> WrkResult:
    """Run wrk against ``url`` (or, with ``tokens_file``, against random robots at its host)."""
    script = "post_many.lua" if tokens_file else "post.lua"
    env = {**os.environ, "BENCH_BODY": body}
    if tokens_file:
        env["BENCH_TOKENS"] = str(tokens_file)
    out = subprocess.run(
        [
            need_wrk(),
            f"-t{min(threads, connections)}",  # wrk wants a connection per thread at least
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(HERE / script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    m = re.search(
        r"RESULT ok=(\d+) bad=(\d+) requests=(\d+) p50=(\d+) p90=(\d+) p99=(\d+) "
        r"max=(\d+) duration_us=(\d+)",
        out,
    )
    if m is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    ok, bad, requests, p50, p90, p99, mx, duration = (int(g) for g in m.groups())
    return WrkResult(
        ok,
        bad,
        requests,
        requests / (duration / 1e6),
        p50 / 1000,
        p90 / 1000,
        p99 / 1000,
        mx / 1000,
    )


def gong(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "gong", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
