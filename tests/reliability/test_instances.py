"""Several Gong instances behind a load balancer behave as one; faults lose nothing acknowledged."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli
from tests.reliability.conftest import RedisProcess

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
OK = {"errcode": 0, "errmsg": "ok"}


def make_robot(env: dict[str, str], *args: str) -> dict[str, object]:
    gong_cli(["group", "create", "ops", "--json"], env)
    return dict(
        json.loads(
            gong_cli(
                ["robot", "create", "1", "--name", "r", "--keyword", "k", *args, "--json"], env
            ).stdout
        )
    )


def test_two_instances_share_the_rate_limit(tmp_path: Path, shared_env: dict[str, str]) -> None:
    robot = make_robot(shared_env)
    a = ServerProcess(env=shared_env, data_dir=tmp_path / "a")
    b = ServerProcess(env=shared_env, data_dir=tmp_path / "b")
    a.start()
    b.start()
    try:
        body = {"msgtype": "text", "text": {"content": "k"}}
        answers = []
        for i in range(21):  # alternate instances, as a round-robin balancer would
            server = a if i % 2 else b
            answers.append(
                httpx.post(
                    f"{server.url}/robot/send?access_token={robot['access_token']}", json=body
                ).json()["errcode"]
            )
        assert answers == [0] * 20 + [410100]
        # Both instances see the block.
        for server in (a, b):
            url = f"{server.url}/robot/send?access_token={robot['access_token']}"
            assert httpx.post(url, json=body).json()["errcode"] == 410100
        page = httpx.get(f"{a.url}/api/groups/1/messages?limit=200", headers=ADMIN).json()
        assert len(page["messages"]) == 20
    finally:
        a.stop()
        b.stop()


def test_concurrent_burst_across_instances_accepts_exactly_the_limit(
    tmp_path: Path, shared_env: dict[str, str]
) -> None:
    robot = make_robot(shared_env, "--rate-limit", "50")
    servers = [ServerProcess(env=shared_env, data_dir=tmp_path / n) for n in "ab"]
    for s in servers:
        s.start()
    try:

        async def burst() -> list[int]:
            async with httpx.AsyncClient(timeout=10) as client:
                calls = [
                    client.post(
                        f"{servers[i % 2].url}/robot/send?access_token={robot['access_token']}",
                        json={"msgtype": "text", "text": {"content": f"k {i}"}},
                    )
                    for i in range(120)
                ]
                return [r.json()["errcode"] for r in await asyncio.gather(*calls)]

        codes = asyncio.run(burst())
        assert codes.count(0) == 50
        assert codes.count(410100) == 70
    finally:
        for s in servers:
            s.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_mid_load_loses_nothing_acknowledged(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data)}
    if backend == "postgres":
        env = {**env, **request.getfixturevalue("shared_env")}
        env.pop("GONG_REDIS_URL")
    robot = make_robot(env, "--rate-limit", "0")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    acknowledged: set[str] = set()
    url = f"{server.url}/robot/send?access_token={robot['access_token']}"

    async def load() -> None:
        deadline = time.monotonic() + 8
        counter = iter(range(100_000))

        async def sender(client: httpx.AsyncClient) -> None:
            while time.monotonic() < deadline:
                uid = f"m{next(counter)}"
                try:
                    r = await client.post(
                        url, json={"msgtype": "text", "text": {"content": f"k {uid}"}}
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if r.json() == OK:
                    acknowledged.add(uid)

        async with httpx.AsyncClient(timeout=5) as client:
            senders = [asyncio.create_task(sender(client)) for _ in range(16)]
            await asyncio.sleep(1.0 + random.random())
            server.stop(signal.SIGKILL)
            await asyncio.gather(*senders)

    asyncio.run(load())
    assert len(acknowledged) > 50, "the load did not get going before the kill"
    server.start()
    try:
        stored: set[str] = set()
        before = None
        while True:
            params = {"limit": 200, **({"before": before} if before else {})}
            page = httpx.get(
                f"{server.url}/api/groups/1/messages", params=params, headers=ADMIN
            ).json()
            stored |= {m["payload"]["text"]["content"].split()[1] for m in page["messages"]}
            before = page["next_before"]
            if before is None:
                break
        missing = acknowledged - stored
        assert not missing, f"{len(missing)} acknowledged messages were lost"
    finally:
        server.stop()


def test_redis_going_away_is_a_clear_error_then_recovers(
    tmp_path: Path, private_redis: RedisProcess
) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data), "GONG_REDIS_URL": private_redis.url}
    robot = make_robot(env)
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    url = f"{server.url}/robot/send?access_token={robot['access_token']}"
    body = {"msgtype": "text", "text": {"content": "k"}}
    try:
        assert httpx.post(url, json=body).json() == OK
        private_redis.stop()
        # No silent per-process limit: the sender is told to retry later.
        assert httpx.post(url, json=body).json() == {"errcode": -1, "errmsg": "系统繁忙"}
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503
        private_redis.start()
        deadline = time.monotonic() + 10
        while httpx.post(url, json=body).json() != OK:
            assert time.monotonic() < deadline, "did not recover after Redis came back"
            time.sleep(0.2)
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        assert "Traceback" not in server.log()
    finally:
        server.stop()
