"""The render pool: templates render in worker processes with hard time and memory caps, so one
C-level operation the sandbox lets through can neither stall the event loop nor bloat the server;
a worker that breaks a cap is replaced, and a flood is refused instead of queued."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gong.integrations.render_pool import (
    DEFAULT_MEMORY_MB,
    DEFAULT_WORKERS,
    GRACE_S,
    WAITING_PER_WORKER,
    RenderPool,
)
from gong.protocol.errors import Errors, RobotError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "template.md"

#: One ``join`` of 10 GB: the sandbox lets it through, the worker's address-space cap stops it.
MEMORY_BOMB = '{{ (["x" * 100000] * 100000) | join | length }}'
#: Memory touched step by step (a string doubling), so the worker really grows before it stops.
GROWING_BOMB = (
    '{% set ns = namespace(s="x" * 100000) %}{% for i in range(30) %}'
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
)
#: One C call that runs for a minute (summing lists is quadratic); only a kill stops it.
CPU_BOMB = "{{ ([[0] * 100] * 20000) | sum(start=[]) | length }}"


def rss_kb(pid: int | str = "self") -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    assert found is not None
    return int(found.group(1))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def pool() -> Iterator[RenderPool]:
    pool = RenderPool(workers=1, memory_mb=64)
    try:
        yield pool
    finally:
        pool.close()


async def render(pool: RenderPool, source: str, time_limit: float = 1.0, payload: Any = 0) -> str:
    work = functools.partial(pool.render_text, time_limit=time_limit, max_output=100_000)
    return await pool.run(work, source, {"payload": payload, "headers": {}})


async def failure(call: Awaitable[Any]) -> tuple[str, float]:
    """The detail of the RobotError ``call`` raises, and how long it took."""
    started = time.monotonic()
    with pytest.raises(RobotError) as caught:
        await call
    return caught.value.params["detail"], time.monotonic() - started


async def worst_lag(task: asyncio.Future[Any]) -> float:
    """The longest the event loop was late for a 10 ms timer while ``task`` ran."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not task.done():
        asked = loop.time()
        await asyncio.sleep(0.01)
        worst = max(worst, loop.time() - asked - 0.01)
    return worst


async def test_renders_in_a_worker_process_that_stays(pool: RenderPool) -> None:
    assert pool.pids == []  # started on the first render
    assert await render(pool, "{{ payload + 1 }}", payload=41) == "42"
    [pid] = pool.pids
    assert pid != os.getpid()
    assert await render(pool, "{{ payload * 2 }}", payload=21) == "42"
    assert pool.pids == [pid]
    detail, _ = await failure(render(pool, "{{ 1 / 0 }}"))
    assert detail == "the template failed: ZeroDivisionError: division by zero"
    assert pool.pids == [pid]  # an ordinary error keeps the worker


async def test_memory_bomb_is_stopped_by_the_worker_cap(pool: RenderPool) -> None:
    before = rss_kb()
    task = asyncio.ensure_future(failure(render(pool, MEMORY_BOMB)))
    lag = await worst_lag(task)
    detail, took = await task
    assert detail == "the template used more than 64 MB and was stopped"
    assert took < 3
    assert lag < 0.1
    assert rss_kb() - before < 100_000  # this process did not grow
    assert await render(pool, "{{ payload }}", payload="still fine") == "still fine"


async def test_a_worker_that_grew_is_replaced(pool: RenderPool) -> None:
    await render(pool, "{{ 1 }}")
    [first] = pool.pids
    detail, took = await failure(render(pool, GROWING_BOMB, time_limit=5))
    assert detail == "the template used more than 64 MB and was stopped"
    assert took < 3
    assert pool.pids == []  # it retired after answering
    assert not alive(first)
    assert await render(pool, "{{ 2 }}") == "2"
    assert pool.pids != [first]


@pytest.mark.slow
async def test_cpu_bomb_is_killed_at_the_deadline(pool: RenderPool) -> None:
    await render(pool, "{{ 1 }}")
    [first] = pool.pids
    task = asyncio.ensure_future(failure(render(pool, CPU_BOMB, time_limit=0.3)))
    lag = await worst_lag(task)
    detail, took = await task
    assert detail == "the template ran longer than 0.3 s and was stopped"
    assert 0.3 + GRACE_S <= took < 0.3 + GRACE_S + 1
    assert lag < 0.1
    assert not alive(first)
    assert await render(pool, "{{ 3 }}") == "3"  # a new worker
    [second] = pool.pids
    assert second != first


@pytest.mark.slow
async def test_a_full_pool_refuses_at_once() -> None:
    pool = RenderPool(workers=1, max_waiting=1)
    try:
        bombs = [asyncio.ensure_future(failure(render(pool, CPU_BOMB, 0.3))) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert pool.pending == 2
        detail, took = await failure(render(pool, "{{ 1 }}"))
        assert (
            detail
            == "the template renderer is busy (2 renders running or waiting); try again later"
        )
        assert took < 0.05
        for bomb in bombs:
            assert (await bomb)[0] == "the template ran longer than 0.3 s and was stopped"
        assert pool.pending == 0
        assert await render(pool, "{{ 4 }}") == "4"
    finally:
        pool.close()


async def test_busy_is_the_system_busy_errcode() -> None:
    pool = RenderPool(workers=1, max_waiting=0)
    try:
        first = asyncio.ensure_future(render(pool, "{{ 5 }}"))
        await asyncio.sleep(0)  # it takes the one place
        with pytest.raises(RobotError) as caught:
            await render(pool, "{{ 6 }}")
        assert caught.value.error is Errors.SYSTEM_BUSY
        assert await first == "5"
    finally:
        pool.close()


async def test_deep_payload(pool: RenderPool) -> None:
    """Payloads as deep as JSON allows (1 024 levels) reach the template."""
    deep: Any = 0
    for _ in range(1_024):
        deep = [deep]
    assert await render(pool, "{{ payload | length }}", payload=deep) == "1"
    detail, _ = await failure(render(pool, "{{ payload }}", payload=deep))
    assert detail == "the template nests too deeply (recursion) and was stopped"
    for _ in range(5_000):  # deeper than any JSON document the server accepts
        deep = [deep]
    detail, _ = await failure(render(pool, "{{ 1 }}", payload=deep))
    assert detail == "the payload cannot be rendered: object too deeply nested to marshal"


async def test_close_stops_the_workers() -> None:
    pool = RenderPool(workers=2)
    await asyncio.gather(render(pool, "{{ 1 }}"), render(pool, "{{ 2 }}"))
    pids = pool.pids
    assert len(pids) == 2
    pool.close()
    assert pool.pids == []
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(RuntimeError):
        await render(pool, "{{ 1 }}")
    pool.close()  # twice is fine


async def test_closing_during_a_render_answers_it() -> None:
    pool = RenderPool(workers=1)
    await render(pool, "{{ 1 }}")
    task = asyncio.ensure_future(failure(render(pool, CPU_BOMB, time_limit=5)))
    await asyncio.sleep(0.2)
    pool.close()
    detail, took = await task
    assert detail == "the server stopped while the template rendered"
    assert took < 2


async def test_workers_get_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONG_ADMIN_TOKEN", "s3cret-admin-token")
    monkeypatch.setenv("GONG_DATABASE_URL", "postgresql://gong:pw@db/gong")
    pool = RenderPool(workers=1)
    try:
        await render(pool, "{{ 1 }}")
        [pid] = pool.pids
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        pool.close()
    assert b"s3cret-admin-token" not in environ
    assert b"GONG_" not in environ
    assert b"PATH=" in environ


def test_the_docs_state_the_pool_limits() -> None:
    text = DOCS.read_text()
    for stated in (
        f"`GONG_TEMPLATE_WORKERS` ({DEFAULT_WORKERS} by default)",
        f"`GONG_TEMPLATE_MEMORY_MB` ({DEFAULT_MEMORY_MB} by default)",
        f"{WAITING_PER_WORKER} per worker",
        f"{GRACE_S:g} s",
    ):
        assert stated in text, stated
