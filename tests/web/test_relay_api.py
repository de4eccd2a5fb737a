"""The management API of the relay: upstream settings and delivery records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.web.app import create_app
from tests.conftest import make_client

#: A public address (saving an upstream resolves its host; tests do not use the DNS).
UPSTREAM = "https://93.184.216.34/robot/send?access_token=" + "d" * 64
SECRET = "SEC" + "5" * 64


async def _api(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"relay_enabled": False}), clock=clock)
    await app.startup()
    try:
        async with make_client(app) as client:
            yield client
    finally:
        await app.shutdown()


@pytest.fixture
async def api(sqlite_settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its relay worker off, so delivery records stay as they were written."""
    async for client in _api(sqlite_settings, clock):
        yield client


@pytest.fixture
async def private_api(
    sqlite_settings: Settings, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    """As ``api``, with upstreams on private addresses allowed (``127.0.0.1:9``)."""
    allowed = sqlite_settings.model_copy(update={"outgoing_allow_private": True})
    async for client in _api(allowed, clock):
        yield client


async def make_group(api: httpx.AsyncClient, headers: dict[str, str]) -> int:
    group_id: int = (await api.post("/api/groups", json={"name": "ops"}, headers=headers)).json()[
        "id"
    ]
    return group_id


async def make_robot(
    api: httpx.AsyncClient, headers: dict[str, str], group_id: int, **body: Any
) -> httpx.Response:
    return await api.post(
        f"/api/groups/{group_id}/robots",
        json={"name": "alerts", "keywords": ["alert"], **body},
        headers=headers,
    )


async def test_a_robot_with_an_upstream(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    group_id = await make_group(api, admin_headers)
    made = await make_robot(
        api, admin_headers, group_id, upstream={"url": UPSTREAM, "secret": SECRET, "limit": 10}
    )
    assert made.status_code == 201
    robot = made.json()
    assert robot["upstream"] == {
        "url": UPSTREAM,
        "secret": SECRET,
        "limit": 10,
        "window_s": 60,
        "block_s": 600,
        "keyword": "",
        "fit": "summary",
    }
    assert robot["settings"] == {}
    shown = (await api.get(f"/api/robots/{robot['id']}", headers=admin_headers)).json()
    assert shown["upstream"] == robot["upstream"]
    assert shown["stats"] == {"accepted": 0, "refused": 0}
    assert shown["held"] == 0
    assert shown["deliveries"] == {"pending": 0, "sent": 0, "digested": 0, "failed": 0}

    # Absent keeps it; null removes it.
    kept = await api.patch(f"/api/robots/{robot['id']}", json={"name": "am"}, headers=admin_headers)
    assert kept.json()["upstream"] == robot["upstream"]
    removed = await api.patch(
        f"/api/robots/{robot['id']}", json={"upstream": None}, headers=admin_headers
    )
    assert removed.json()["upstream"] is None
    shown = (await api.get(f"/api/robots/{robot['id']}", headers=admin_headers)).json()
    assert shown["deliveries"] is None


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ({"url": "ftp://example.com/robot"}, "body.upstream.url: String should match pattern"),
        ({"url": "https://[::1/robot"}, "the upstream must be an http(s) webhook URL"),
        ({"url": "https:///robot/send"}, "the upstream must be an http(s) webhook URL"),
        ({"url": "https://example.com/x#frag"}, "the upstream URL cannot have a #fragment"),
        ({"url": UPSTREAM, "secret": "SEC with spaces"}, "body.upstream.secret: String should"),
    ],
)
async def test_a_bad_upstream_is_refused(
    api: httpx.AsyncClient, admin_headers: dict[str, str], upstream: dict[str, Any], message: str
) -> None:
    group_id = await make_group(api, admin_headers)
    response = await make_robot(api, admin_headers, group_id, upstream=upstream)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["message"].startswith(message)


async def test_limits_out_of_range_are_refused(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    group_id = await make_group(api, admin_headers)
    response = await make_robot(
        api, admin_headers, group_id, upstream={"url": UPSTREAM, "window_s": 7200}
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("body.upstream.window_s:")


async def test_relay_loops_are_refused(
    private_api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """This server refuses its own URL, private addresses allowed or not; a loop through
    robots of its database is refused by their tokens, whatever the host (another instance)."""
    api = private_api
    group_id = await make_group(api, admin_headers)
    first = (await make_robot(api, admin_headers, group_id)).json()
    itself = await api.patch(
        f"/api/robots/{first['id']}",
        json={"upstream": {"url": first["webhook"]}},
        headers=admin_headers,
    )
    assert itself.status_code == 422
    assert itself.json()["error"]["message"] == (
        "the upstream URL points at this Gong server itself"
    )

    def elsewhere(robot: dict[str, Any]) -> str:
        return f"http://127.0.0.1:9/robot/send?access_token={robot['access_token']}"

    own = await api.patch(
        f"/api/robots/{first['id']}",
        json={"upstream": {"url": elsewhere(first)}},
        headers=admin_headers,
    )
    assert own.status_code == 422
    assert own.json()["error"]["message"] == "a robot cannot relay to its own webhook"
    second = (
        await make_robot(api, admin_headers, group_id, upstream={"url": elsewhere(first)})
    ).json()
    loop = await api.patch(
        f"/api/robots/{first['id']}",
        json={"upstream": {"url": elsewhere(second)}},
        headers=admin_headers,
    )
    assert loop.status_code == 422
    assert (
        loop.json()["error"]["message"] == "this upstream relays back to the robot itself: a loop"
    )


async def test_delivery_records(
    api: httpx.AsyncClient, admin_headers: dict[str, str], clock: ManualClock
) -> None:
    group_id = await make_group(api, admin_headers)
    robot = (
        await make_robot(api, admin_headers, group_id, upstream={"url": UPSTREAM, "secret": SECRET})
    ).json()
    url = f"/robot/send?access_token={robot['access_token']}"
    for i in range(3):
        body = {"msgtype": "markdown", "markdown": {"title": f"alert {i}", "text": "**high**"}}
        assert (await api.post(url, json=body)).content == b'{"errcode":0,"errmsg":"ok"}'
    page = await api.get(
        f"/api/robots/{robot['id']}/deliveries", params={"limit": 2}, headers=admin_headers
    )
    assert page.status_code == 200
    messages = (await api.get(f"/api/groups/{group_id}/messages", headers=admin_headers)).json()
    ids = [m["id"] for m in messages["messages"]]
    assert page.json() == {
        "deliveries": [
            {
                "id": 3 - n,
                "robot_id": robot["id"],
                "message_id": ids[n],
                "held_id": None,
                "state": "pending",
                "msgtype": "markdown",
                "title": f"alert {2 - n}",
                "created_at": clock.now_ms(),
                "updated_at": clock.now_ms(),
                "send": None,
            }
            for n in range(2)
        ],
        "counts": {"pending": 3, "sent": 0, "digested": 0, "failed": 0},
        "next_before": 2,
    }
    older = await api.get(
        f"/api/robots/{robot['id']}/deliveries", params={"before": 2}, headers=admin_headers
    )
    assert [d["id"] for d in older.json()["deliveries"]] == [1]
    only = await api.get(
        f"/api/robots/{robot['id']}/deliveries",
        params={"message_id": ids[0]},
        headers=admin_headers,
    )
    assert [d["message_id"] for d in only.json()["deliveries"]] == [ids[0]]
    failed = await api.get(
        f"/api/robots/{robot['id']}/deliveries", params={"state": "failed"}, headers=admin_headers
    )
    assert failed.json()["deliveries"] == []


async def test_deliveries_need_an_admin_and_a_robot(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await api.get("/api/robots/1/deliveries")).status_code == 401
    missing = await api.get("/api/robots/99/deliveries", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "robot 99 does not exist"}}
