"""The live feed (``GET /events``) against a real server: delivery, resume without gaps or
duplicates, heartbeats, the reset after a long absence, and a clean end at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli
from tests.web.webapp import csrf_of

PASSWORD = "live feed password"


@dataclass
class Live:
    server: ServerProcess
    env: dict[str, str]
    ops: int
    other: int
    token: str
    other_token: str


def _setup(server: ServerProcess) -> Live:
    """Two groups with a robot each (through the management API), and an account (the CLI)."""
    env = {"GONG_DATA_DIR": str(server.data_dir)}
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as api:
        ops = api.post("/api/groups", json={"name": "ops"}).json()["id"]
        other = api.post("/api/groups", json={"name": "other"}).json()["id"]
        api.post(f"/api/groups/{ops}/members", json={"name": "张三", "mobile": "13800000001"})
        unlimited = {"keywords": ["CI"], "rate_limit": {"limit": 0}}
        robot = api.post(f"/api/groups/{ops}/robots", json={"name": "CI", **unlimited}).json()
        other_robot = api.post(f"/api/groups/{other}/robots", json={"name": "X", **unlimited})
    gong_cli(
        ["user", "create", "zhang", "--password-stdin", "--member", f"{ops}:13800000001"],
        env,
        input=PASSWORD + "\n",
    )
    return Live(server, env, ops, other, robot["access_token"], other_robot.json()["access_token"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data = tmp_path_factory.mktemp("events")
    server = ServerProcess(env={"GONG_SSE_HEARTBEAT_SECONDS": "0.3"}, data_dir=data)
    server.start()
    try:
        yield _setup(server)
    finally:
        server.stop()


@pytest.fixture
async def client(live: Live) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.server.url, timeout=10) as c:
        form = await c.get("/login")
        answer = await c.post(
            "/login",
            data={"username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        )
        assert answer.status_code == 303
        yield c


async def _send(live: Live, text: str, token: str | None = None) -> None:
    async with httpx.AsyncClient(base_url=live.server.url) as c:
        r = await c.post(
            f"/robot/send?access_token={token or live.token}",
            json={"msgtype": "text", "text": {"content": f"CI {text}"}},
        )
    assert r.text == '{"errcode":0,"errmsg":"ok"}'


async def _newest(live: Live) -> int:
    result = json.loads(
        gong_cli(["messages", str(live.ops), "--limit", "1", "--json"], live.env).stdout
    )
    return int(result[0]["id"]) if result else 0


class Events:
    """Reads server-sent events from an open response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 5.0) -> dict[str, str]:
        event: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if line == "":
                    if event:
                        return event
                    continue
                if line.startswith(":"):
                    return {"comment": line[1:].strip()}
                name, _, value = line.partition(":")
                event[name] = value.removeprefix(" ")
        return event or {"end": "1"}

    async def messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Up to ``count`` message events, whatever arrived when ``timeout`` seconds are up."""
        found: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                while len(found) < count:
                    event = await self.next(timeout)
                    if event.get("event") == "message":
                        data = json.loads(event["data"])
                        assert event["id"] == str(data["id"])
                        found.append(data)
                    elif "end" in event:
                        break
        return found


async def test_sign_in_is_required(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.server.url) as c:
        r = await c.get("/events")
        assert (r.status_code, r.json()) == (
            401,
            {"error": {"code": "unauthorized", "message": "sign in first"}},
        )
        assert (await c.post("/events")).status_code == 405


async def test_live_delivery_and_resume(live: Live, client: httpx.AsyncClient) -> None:
    start = await _newest(live)
    await _send(live, "one")
    await _send(live, "two")
    async with client.stream("GET", "/events", headers={"Last-Event-ID": str(start + 1)}) as r:
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = Events(r)
        assert await events.next() == {"retry": "2000"}
        [two] = await events.messages(1)  # from the database
        assert (two["id"], two["group_id"], two["msgtype"]) == (start + 2, live.ops, "text")
        assert two["preview"] == "CI two"
        assert two["sender"] == {"type": "robot", "name": "CI", "user_id": None}
        assert f'data-message-id="{start + 2}" data-msgtype="text"' in two["html"]
        sent = time.monotonic()
        await _send(live, "three")
        [three] = await events.messages(1)  # live
        assert three["id"] == start + 3
        assert time.monotonic() - sent < 2
    await _send(live, "four")
    await _send(live, "elsewhere", live.other_token)  # not one of this user's groups
    await _send(live, "five")
    async with client.stream("GET", f"/events?after={start + 3}") as r:
        events = Events(r)
        resumed = await events.messages(2)
        await _send(live, "six")
        resumed += await events.messages(1)
    assert [m["preview"] for m in resumed] == ["CI four", "CI five", "CI six"]
    assert [m["id"] for m in resumed] == [start + 4, start + 6, start + 7]


async def test_no_gaps_or_duplicates_while_reconnecting(
    live: Live, client: httpx.AsyncClient
) -> None:
    start = await _newest(live)
    total = 40

    async def produce() -> None:
        async with httpx.AsyncClient(base_url=live.server.url) as c:
            for i in range(total):
                r = await c.post(
                    f"/robot/send?access_token={live.token}",
                    json={"msgtype": "text", "text": {"content": f"CI burst {i}"}},
                )
                assert r.status_code == 200
                await asyncio.sleep(0.005)

    producer = asyncio.create_task(produce())
    got: list[int] = []
    last = start
    try:
        for _ in range(30):  # bounded: at most 30 reconnections
            async with client.stream("GET", "/events", headers={"Last-Event-ID": str(last)}) as r:
                batch = await Events(r).messages(3, timeout=3)
            got += [m["id"] for m in batch]
            if batch:
                last = batch[-1]["id"]
            if len(got) >= total:
                break
    finally:
        await producer
    assert got == list(range(start + 1, start + total + 1))


async def test_heartbeat(live: Live, client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/events") as r:
        events = Events(r)
        assert await events.next() == {"retry": "2000"}
        assert await events.next(timeout=2) == {"comment": "ping"}


async def test_reset_after_a_long_absence(live: Live, client: httpx.AsyncClient) -> None:
    from gong.web.live.events import MAX_BACKLOG

    start = await _newest(live)
    async with httpx.AsyncClient(base_url=live.server.url) as c:
        url = f"/robot/send?access_token={live.token}"
        for i in range(MAX_BACKLOG + 1):
            await c.post(url, json={"msgtype": "text", "text": {"content": f"CI {i}"}})
    async with client.stream("GET", "/events", headers={"Last-Event-ID": str(start)}) as r:
        events = Events(r)
        assert await events.next() == {"retry": "2000"}
        assert await events.next() == {"event": "reset", "data": "{}"}
        assert await events.next() == {"end": "1"}


async def test_streams_end_at_shutdown(tmp_path: Path) -> None:
    server = ServerProcess(env={}, data_dir=tmp_path / "data")
    server.start()
    try:
        _setup(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            form = await c.get("/login")
            await c.post(
                "/login",
                data={"username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            )
            async with c.stream("GET", "/events") as r:
                events = Events(r)
                assert await events.next() == {"retry": "2000"}
                began = time.monotonic()
                stopping = asyncio.create_task(asyncio.to_thread(server.stop))
                assert await events.next(timeout=5) == {"end": "1"}
                assert time.monotonic() - began < 3  # not the 15 s grace period
                # uvicorn exits through the signal it was stopped with, once shut down cleanly
                assert await stopping in (0, -signal.SIGTERM)
    finally:
        server.stop()
    assert "Application shutdown complete." in server.log()
