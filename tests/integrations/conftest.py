"""Helpers for the integration suites: robots made through the API, deliveries over HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gong.clock import ManualClock
from gong.config import Settings
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.helpers import ADMIN_TOKEN, ServerProcess
from tests.integrations.deliveries import GOLDEN, Delivery

MakeRobot = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_robot(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> MakeRobot:
    """Create a robot of ``kind`` with integration ``settings`` (unlimited rate unless given).

    The first robot of a test creates its group.
    """
    group: dict[str, int] = {}

    async def make(kind: str, rate_limit: int = 0, **settings: Any) -> dict[str, Any]:
        if "id" not in group:
            answer = await client.post("/api/groups", json={"name": "dev"}, headers=admin_headers)
            assert answer.status_code == 201, answer.text
            group["id"] = answer.json()["id"]
        body: dict[str, Any] = {
            "name": f"{kind} robot",
            "kind": kind,
            "rate_limit": {"limit": rate_limit, "window_s": 60, "block_s": 600},
        }
        if settings:
            body["settings"] = settings
        answer = await client.post(
            f"/api/groups/{group['id']}/robots", json=body, headers=admin_headers
        )
        assert answer.status_code == 201, answer.text
        robot: dict[str, Any] = answer.json()
        return robot

    return make


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(1_800_000_000_000)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(
    tmp_path_factory: pytest.TempPathFactory, clock: ManualClock
) -> AsyncIterator[GongApp]:
    """One started app (SQLite) per test module: tests here add their own robots and groups.

    Modules using it mark their tests ``pytest.mark.asyncio(loop_scope="module")``.
    """
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("gong") / "data",
        admin_token=ADMIN_TOKEN,
        public_url="http://gong.test",
    )
    gong = create_app(settings, clock=clock)
    await gong.startup()
    try:
        yield gong
    finally:
        await gong.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(app: GongApp) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client of the real ``gong serve`` of a module that starts one as its ``server``."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


async def send(
    client: httpx.AsyncClient, robot: dict[str, Any], delivery: Delivery
) -> httpx.Response:
    return await client.post(
        f"/robot/send?access_token={robot['access_token']}",
        content=delivery.body,
        headers=delivery.headers,
    )


async def last_message(
    client: httpx.AsyncClient, admin_headers: dict[str, str], robot: dict[str, Any]
) -> dict[str, Any] | None:
    """The newest message of the robot's group, if it is this robot's."""
    answer = await client.get(
        f"/api/groups/{robot['group_id']}/messages?limit=1", headers=admin_headers
    )
    found = answer.json()["messages"]
    if not found or found[0]["robot_id"] != robot["id"]:
        return None
    message: dict[str, Any] = found[0]
    return message


def golden(path: Path, actual: Any) -> None:
    """Compare ``actual`` with the golden file in full; ``GONG_UPDATE_GOLDEN=1`` rewrites it."""
    text = json.dumps(actual, ensure_ascii=False, indent=2) + "\n"
    if os.environ.get("GONG_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), (
        f"no golden file {path.relative_to(GOLDEN)}: run with GONG_UPDATE_GOLDEN=1"
    )
    assert json.loads(path.read_text(encoding="utf-8")) == actual, f"differs from {path}"
