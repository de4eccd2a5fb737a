"""``message_update`` on the live feed of a real server: a repeat counted by the quiet window and
an alert group resolving reach open streams as the message's new status, rendered by the server,
without an ``id:`` (the reader's resume point stays at its newest message)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN, ServerProcess, running_server
from tests.web.test_events import Events
from tests.web.webapp import csrf_of

PASSWORD = "update feed password"
SECRET = "update-source-secret"
OK = {"errcode": 0, "errmsg": "ok"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("updates")
    with running_server(data_dir, public=False, password=PASSWORD) as process:
        yield process


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        form = await c.get("/login")
        answer = await c.post(
            "/login",
            data={"username": "root", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        )
        assert answer.status_code == 303
        yield c


def _robot(server: ServerProcess, group: str, **spec: Any) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, headers=ADMIN) as api:
        group_id = api.post("/api/groups", json={"name": group}).json()["id"]
        answer = api.post(f"/api/groups/{group_id}/robots", json=spec)
        assert answer.status_code == 201, answer.text
        robot: dict[str, Any] = answer.json()
        return robot


async def _next_of(events: Events, kind: str) -> dict[str, str]:
    for _ in range(20):
        event = await events.next()
        if event.get("event") == kind:
            return event
    raise AssertionError(f"no {kind} event")


async def test_a_repeat_updates_the_shown_message(
    server: ServerProcess, client: httpx.AsyncClient
) -> None:
    robot = _robot(server, "quiet", name="Backup", keywords=["backup"], dedupe_window_s=300)
    body = {"msgtype": "text", "text": {"content": "backup failed"}}
    async with client.stream("GET", "/events") as stream:
        events = Events(stream)
        assert await events.next() == {"retry": "2000"}
        assert (await client.post(robot["webhook"], json=body)).json() == OK
        [posted] = await events.messages(1)
        assert "msg-status" not in posted["html"]
        assert (await client.post(robot["webhook"], json=body)).json() == OK
        update = await _next_of(events, "message_update")
    assert "id" not in update  # no "id:" line
    data = json.loads(update["data"])
    assert {k: data[k] for k in ("id", "group_id", "alert", "repeat")} == {
        "id": posted["id"],
        "group_id": posted["group_id"],
        "alert": None,
        "repeat": 2,
    }
    assert data["html"] == (
        f'<span class="msg-status" data-status-for="{posted["id"]}">\n'
        '  <span class="repeat-badge" title="posted 2 times in the quiet window">×2</span>\n'
        "</span>"
    )


def _notification(status: str, ends: str) -> dict[str, Any]:
    started = "2026-12-05T06:00:00Z"
    return {
        "version": "4",
        "groupKey": '{}:{alertname="Down"}',
        "status": status,
        "receiver": "gong",
        "groupLabels": {"alertname": "Down"},
        "commonLabels": {"alertname": "Down"},
        "commonAnnotations": {},
        "externalURL": "https://alertmanager.example",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "Down", "instance": "web-1"},
                "annotations": {"summary": "web-1 is down"},
                "startsAt": started,
                "endsAt": ends,
                "fingerprint": "cccc000000000001",
            }
        ],
    }


async def test_a_resolved_group_updates_the_firing_message(
    server: ServerProcess, client: httpx.AsyncClient
) -> None:
    robot = _robot(
        server, "alerts", name="AM", kind="alertmanager", settings={"source_secret": SECRET}
    )
    auth = {"Authorization": f"Bearer {SECRET}"}
    async with client.stream("GET", "/events") as stream:
        events = Events(stream)
        assert await events.next() == {"retry": "2000"}
        firing = _notification("firing", "0001-01-01T00:00:00Z")
        assert (await client.post(robot["webhook"], json=firing, headers=auth)).json() == OK
        [posted] = await events.messages(1)
        assert 'data-alert="firing"' in posted["html"]
        assert '<span class="alert-badge alert-firing">Firing</span>' in posted["html"]
        ended = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        resolved = _notification("resolved", ended)
        assert (await client.post(robot["webhook"], json=resolved, headers=auth)).json() == OK
        seen: dict[str, dict[str, str]] = {}
        while len(seen) < 2:  # the update, and the short resolved line as a new message
            event = await events.next()
            if event.get("event") in ("message", "message_update"):
                seen[event["event"]] = event
    update = seen["message_update"]
    line = json.loads(seen["message"]["data"])
    data = json.loads(update["data"])
    assert data["id"] == posted["id"] and "id" not in update
    assert data["alert"]["state"] == "resolved" and data["alert"]["resolved"] == 1
    assert '<span class="alert-badge alert-resolved">Resolved</span>' in data["html"]
    assert f'data-ms="{data["alert"]["resolved_at"]}" data-format="when"' in data["html"]
    assert line["id"] > posted["id"] and line["preview"] == "[RESOLVED:1] Down"
