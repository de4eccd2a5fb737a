"""The management API of issue-13 settings: a group's time zone, a robot's quiet window, mention
labels and upstream fit, and the ``alert`` and ``repeat`` of messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.web.app import create_app
from tests.conftest import make_client


@pytest.fixture
async def api(sqlite_settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = sqlite_settings.model_copy(
        update={"relay_enabled": False, "outgoing_allow_private": True}
    )
    app = create_app(settings, clock=clock)
    await app.startup()
    try:
        async with make_client(app) as client:
            yield client
    finally:
        await app.shutdown()


async def test_a_group_time_zone(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    group = (await api.post("/api/groups", json={"name": "ops"}, headers=admin_headers)).json()
    assert group["timezone"] is None
    url = f"/api/groups/{group['id']}"
    changed = await api.patch(url, json={"timezone": "Asia/Shanghai"}, headers=admin_headers)
    assert changed.status_code == 200 and changed.json()["timezone"] == "Asia/Shanghai"
    bad = await api.patch(url, json={"timezone": "Asia/Nowhere"}, headers=admin_headers)
    assert bad.status_code == 422
    assert "not a time zone" in bad.text and "Asia/Nowhere" in bad.text
    assert (await api.get(url, headers=admin_headers)).json()["timezone"] == "Asia/Shanghai"
    cleared = await api.patch(url, json={"timezone": ""}, headers=admin_headers)
    assert cleared.json()["timezone"] is None


async def test_quiet_window_and_repeat(
    api: httpx.AsyncClient, admin_headers: dict[str, str], clock: ManualClock
) -> None:
    group = (await api.post("/api/groups", json={"name": "ops"}, headers=admin_headers)).json()
    robot = (
        await api.post(
            f"/api/groups/{group['id']}/robots",
            json={"name": "disk", "keywords": ["disk"], "dedupe_window_s": 60},
            headers=admin_headers,
        )
    ).json()
    assert robot["dedupe_window_s"] == 60 and robot["mention_labels"] == []
    body = {"msgtype": "text", "text": {"content": "disk full on db-1"}}
    for _ in range(3):
        sent = await api.post(f"/robot/send?access_token={robot['access_token']}", json=body)
        assert sent.json() == {"errcode": 0, "errmsg": "ok"}
    page = (await api.get(f"/api/groups/{group['id']}/messages", headers=admin_headers)).json()
    (message,) = page["messages"]
    assert (message["repeat"], message["alert"]) == (3, None)


async def test_alert_settings_of_a_robot(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    group = (await api.post("/api/groups", json={"name": "ops"}, headers=admin_headers)).json()
    made = await api.post(
        f"/api/groups/{group['id']}/robots",
        json={
            "name": "am",
            "kind": "alertmanager",
            "mention_labels": ["owner"],
            "upstream": {"url": "http://127.0.0.1:9/robot/send?access_token=u", "fit": "split"},
        },
        headers=admin_headers,
    )
    assert made.status_code == 201, made.text
    robot = made.json()
    assert robot["mention_labels"] == ["owner"] and robot["upstream"]["fit"] == "split"
    url = f"/api/robots/{robot['id']}"
    patched = await api.patch(url, json={"upstream_fit": "summary"}, headers=admin_headers)
    assert patched.json()["upstream"]["fit"] == "summary"
    bad_label = await api.patch(
        url, json={"mention_labels": ["not-a-label"]}, headers=admin_headers
    )
    assert bad_label.status_code == 422
    custom = (
        await api.post(
            f"/api/groups/{group['id']}/robots",
            json={"name": "c", "keywords": ["k"]},
            headers=admin_headers,
        )
    ).json()
    conflict = await api.patch(
        f"/api/robots/{custom['id']}", json={"mention_labels": ["owner"]}, headers=admin_headers
    )
    assert conflict.status_code == 409 and "do not post alerts" in conflict.text
