"""Operations against real server processes: metrics across workers, graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli
from tests.ops.test_observability import sample

pytestmark = pytest.mark.slow
OK = {"errcode": 0, "errmsg": "ok"}


def robot(env: dict[str, str], *args: str) -> dict[str, object]:
    gong_cli(["group", "create", "ops", "--json"], env)
    return dict(
        json.loads(
            gong_cli(
                ["robot", "create", "1", "--name", "r", "--keyword", "k", *args, "--json"], env
            ).stdout
        )
    )


def test_metrics_sum_over_worker_processes(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    data = tmp_path / "data"
    env = {
        "GONG_DATA_DIR": str(data),
        "GONG_REDIS_URL": redis_url,
        "GONG_REDIS_PREFIX": redis_prefix,
    }
    made = robot(env, "--rate-limit", "0")
    server = ServerProcess(env=env, data_dir=data, workers=2)
    server.start()
    try:
        url = f"{server.url}/robot/send?access_token={made['access_token']}"
        with httpx.Client(timeout=10) as client:  # new connections land on either worker
            for _ in range(40):
                assert (
                    httpx.post(url, json={"msgtype": "text", "text": {"content": "k"}}).json() == OK
                )
            scrapes = [client.get(f"{server.url}/metrics").text for _ in range(4)]
        for text in scrapes:  # whichever worker answers, it reports both workers' counts
            assert sample(text, "gong_robot_calls_total", errcode="0", reason="ok") == 40
            assert sample(text, "gong_messages_accepted_total", kind="custom") == 40
    finally:
        server.stop()


def test_graceful_shutdown_finishes_what_it_accepted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data)}
    made = robot(env, "--rate-limit", "0")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    url = f"{server.url}/robot/send?access_token={made['access_token']}"
    answers: list[dict[str, object]] = []
    failures: list[str] = []

    async def load() -> None:
        stop_at = time.monotonic() + 6

        async def sender(client: httpx.AsyncClient) -> None:
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                try:
                    r = await client.post(
                        url, json={"msgtype": "text", "text": {"content": f"k {n}"}}
                    )
                except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                    # The listener is closed, or a connection was closed before its request was
                    # read: not accepted, nothing stored, the sender retries.
                    return
                except httpx.HTTPError as exc:
                    failures.append(type(exc).__name__)
                    return
                answers.append(r.json())

        async with httpx.AsyncClient(
            timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        ) as client:
            tasks = [asyncio.create_task(sender(client)) for _ in range(16)]
            await asyncio.sleep(1.0)
            server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            await asyncio.gather(*tasks)

    asyncio.run(load())
    code = server.proc.wait(30) if server.proc else None  # type: ignore[union-attr]
    server.proc = None
    assert code in (0, -signal.SIGTERM)
    assert answers, "no request was answered before the shutdown"
    assert all(a == OK for a in answers), [a for a in answers if a != OK][:3]
    assert failures == [], "requests timed out"
    log = server.log()
    assert "Application shutdown complete" in log
    assert "writer stopped" in log
    server.start()
    try:
        count = 0
        before = None
        while True:
            page = httpx.get(
                f"{server.url}/api/groups/1/messages",
                params={"limit": 200, **({"before": before} if before else {})},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ).json()
            count += len(page["messages"])
            before = page["next_before"]
            if before is None:
                break
        # Every request the server began was finished and answered: stored == acknowledged.
        assert count == len(answers)
    finally:
        server.stop()
