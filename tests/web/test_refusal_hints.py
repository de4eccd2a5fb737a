"""Refusals that teach: a refused call's record carries a hint when Gong can tell what went
wrong, while the DingTalk answer stays byte-identical. Real app, real SQLite, calls through the
robot API; the records read back through the management API and the robot page."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from gong import i18n
from gong.clock import ManualClock
from gong.domain.hints import hint_text
from gong.domain.models import Refusal
from gong.protocol.signing import sign
from gong.web.app import GongApp
from tests.web.conftest import MakeRobot
from tests.web.test_robot_api import E_EXPIRED, E_IP, E_KEYWORD, E_SIGN, E_TOKEN, assert_body, post


async def _refusals(app: GongApp, robot_id: int, count: int = 1) -> list[Refusal]:
    for _ in range(100):  # refusals are written in the background
        found = await app.runtime.history.list_refusals(robot_id)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("the refusal was not recorded")


async def _api(client: httpx.AsyncClient, robot_id: int, admin: dict[str, str]) -> Any:
    answer = await client.get(f"/api/robots/{robot_id}/refusals", headers=admin)
    assert answer.status_code == 200
    return answer.json()


async def test_a_sign_encoded_twice(
    client: httpx.AsyncClient,
    make_robot: MakeRobot,
    clock: ManualClock,
    app: GongApp,
    admin_headers: dict[str, str],
) -> None:
    robot = await make_robot(signing=True)
    now = clock.now_ms()
    raw = sign(robot.secret or "", now)
    twice = quote(quote_plus(raw), safe="")  # as Apprise sends it
    assert "%25" in twice
    answer = await post(client, f"access_token={robot.access_token}&timestamp={now}&sign={twice}")
    assert_body(answer, E_SIGN)  # the answer is DingTalk's, unchanged
    [refusal] = await _refusals(app, robot.id)
    assert (refusal.reason, refusal.hint) == ("sign", "sign_encoded_twice")
    [shown] = await _api(client, robot.id, admin_headers)
    assert shown["hint_code"] == "sign_encoded_twice"
    assert shown["hint"].startswith("the sign was URL-encoded twice")
    # A sign that is simply wrong has no hint.
    await post(client, f"access_token={robot.access_token}&timestamp={now}&sign=wrong%252B")
    latest = (await _refusals(app, robot.id, 2))[0]
    assert (latest.reason, latest.hint) == ("sign", None)


async def test_a_timestamp_in_seconds_and_a_clock_that_is_off(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock, app: GongApp
) -> None:
    robot = await make_robot(signing=True)
    now = clock.now_ms()
    seconds = now // 1000
    query = f"access_token={robot.access_token}&timestamp={seconds}"
    answer = await post(client, f"{query}&sign={quote_plus(sign(robot.secret or '', seconds))}")
    assert_body(answer, E_EXPIRED)
    [refusal] = await _refusals(app, robot.id)
    assert (refusal.hint, refusal.hint_params) == ("timestamp_seconds", {"timestamp": str(seconds)})

    ahead = now + 2 * 3_600_000 + 5 * 60_000
    query = f"access_token={robot.access_token}&timestamp={ahead}"
    assert_body(
        await post(client, f"{query}&sign={quote_plus(sign(robot.secret or '', ahead))}"), E_EXPIRED
    )
    latest = (await _refusals(app, robot.id, 2))[0]
    assert (latest.hint, latest.hint_params) == ("clock_off", {"minutes": 125, "ahead": True})
    text = hint_text(latest.hint, latest.hint_params)
    assert text is not None and "125 minutes ahead" in str(text)
    with i18n.use("zh-CN"):
        assert "125" in text.translated() and text.translated() != str(text)


async def test_the_secret_sent_as_the_token(
    client: httpx.AsyncClient, make_robot: MakeRobot, app: GongApp
) -> None:
    robot = await make_robot(signing=True)
    assert robot.secret and robot.secret.startswith("SEC")
    assert_body(await post(client, f"access_token={robot.secret}"), E_TOKEN)
    [refusal] = await _refusals(app, robot.id)
    assert (refusal.reason, refusal.hint) == ("token_unknown", "secret_as_token")
    assert robot.secret not in str(hint_text(refusal.hint, refusal.hint_params))


async def test_a_missing_keyword_and_an_address_outside_the_list(
    client: httpx.AsyncClient,
    make_robot: MakeRobot,
    app: GongApp,
    admin_headers: dict[str, str],
) -> None:
    robot = await make_robot(keywords=["告警", "CI"])
    body = {"msgtype": "text", "text": {"content": "nothing to see"}}
    assert_body(await post(client, f"access_token={robot.access_token}", body), E_KEYWORD)
    [refusal] = await _refusals(app, robot.id)
    assert refusal.hint == "keyword_missing"
    [shown] = await _api(client, robot.id, admin_headers)
    assert shown["hint"] == "the message holds none of the robot's keywords: 告警, CI"

    fenced = await make_robot(ip_allow=["10.0.0.0/8"])
    assert_body(await post(client, f"access_token={fenced.access_token}"), E_IP)
    [refusal] = await _refusals(app, fenced.id)
    assert refusal.hint == "ip_not_allowed"
    assert str(hint_text(refusal.hint, refusal.hint_params)) == (
        "the call came from 203.0.113.7, which is not in the robot's allow list (10.0.0.0/8)"
    )
