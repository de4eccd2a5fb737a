"""Uptime Kuma over HTTP: every event against its golden, the bearer token, the opt-in pending
event, a down monitor resolved in place by the next up, and bad bodies."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integrations.checks import (
    OK,
    assert_bad_body,
    assert_refused,
    fixture_document,
    message_of,
    post,
    result,
    set_timezone,
    size,
)
from tests.integrations.conftest import MakeRobot, golden
from tests.integrations.deliveries import GOLDEN, SECRET, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

KIND = "uptime-kuma"


def _down() -> dict[str, Any]:
    return fixture_document(KIND, "monitor_down")


def _derived(status: int, msg: str) -> bytes:
    document = _down()
    document["heartbeat"].update(status=status, msg=msg)
    document["msg"] = f"[test] {msg}"
    return json.dumps(document).encode()


DERIVED = {
    "monitor_pending": _derived(2, "timeout of 16000ms exceeded"),
    "monitor_maintenance": _derived(3, "Maintenance"),
    "notice": json.dumps(
        {
            "heartbeat": None,
            "monitor": None,
            "msg": "[test][https://example.com] Certificate will expire in 7 days",
        }
    ).encode(),
}


@pytest.mark.parametrize("name", sorted(DERIVED))
async def test_derived_events(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, name: str
) -> None:
    robot = await make_robot(KIND, include_events=["monitor.pending"])
    delivery = deliver(KIND, "x", document=DERIVED[name], secret=None)
    answer, message = await post(client, admin_headers, robot, delivery)
    golden(GOLDEN / KIND / "events" / f"{name}.json", result(answer, message))
    assert answer.json() == OK


async def test_pending_is_opt_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    delivery = deliver(KIND, "x", document=DERIVED["monitor_pending"], secret=None)
    answer, message = await post(client, admin_headers, robot, delivery)
    assert answer.status_code == 200
    assert answer.json()["errmsg"].startswith('ignored: event "monitor.pending" is shown only')
    assert message is None


@pytest.mark.parametrize(
    ("authorization", "why"),
    [
        (None, "Authorization header is missing"),
        ("Bearer not-the-secret", "does not match"),
        (SECRET, "not Bearer"),
    ],
)
async def test_token_refusals(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    authorization: str | None,
    why: str,
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    delivery = deliver(KIND, "monitor_down", secret=None)
    if authorization is not None:
        delivery.headers["Authorization"] = authorization
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_refused(answer, message, why)


async def test_down_then_up_resolves_in_place(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    answer, down = await post(client, admin_headers, robot, deliver(KIND, "monitor_down"))
    assert answer.json() == OK
    assert down is not None and down["alert"]["state"] == "firing"
    answer, line = await post(client, admin_headers, robot, deliver(KIND, "monitor_up"))
    assert answer.json() == OK
    assert line is not None and line["id"] != down["id"]
    text = line["content"]["markdown"]["text"]
    assert text.startswith("#### ✅ Resolved: test")
    assert "Resolved at 2023-07-31 18:56:57 UTC after 42 s" in text
    first = await message_of(client, admin_headers, robot, down["id"])
    assert first["alert"]["state"] == "resolved"
    assert first["alert"]["resolved"] == 1


async def test_up_without_a_down_is_its_own_message(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    answer, up = await post(client, admin_headers, robot, deliver(KIND, "monitor_up", secret=None))
    assert answer.json() == OK
    assert up is not None
    assert up["content"]["markdown"]["title"] == "✅ [UP] test"
    assert up["alert"]["state"] == "resolved"


async def test_a_huge_message_fits(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    document = _down()
    document["heartbeat"]["msg"] = "connect ECONNREFUSED " * 50_000
    document["monitor"]["name"] = "n" * 100_000
    robot = await make_robot(KIND)
    body = json.dumps(document).encode()
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, "x", document=body, secret=None)
    )
    assert answer.json() == OK
    assert message is not None
    assert size(message["content"]) < 20_000


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (payload(KIND, "monitor_down")[:200], "not valid JSON"),
        (b'{"text": "hello"}', "not an Uptime Kuma webhook"),
        (b'{"heartbeat": {"status": "down"}, "monitor": null, "msg": ""}', "heartbeat.status"),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    body: bytes,
    detail: str,
) -> None:
    robot = await make_robot(KIND)
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, "x", document=body, secret=None)
    )
    assert_bad_body(answer, message, detail)


async def test_times_are_on_the_groups_clock(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    await set_timezone(client, admin_headers, robot, "Asia/Shanghai")
    _, message = await post(
        client, admin_headers, robot, deliver(KIND, "monitor_down", secret=None)
    )
    assert message is not None
    text = message["content"]["markdown"]["text"]
    assert text.endswith("at 2023-08-01 02:56:15 CST") and "UTC" not in text
