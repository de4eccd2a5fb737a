"""The SDK against a real Gong server, over a socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gong.sdk import (
    AsyncRobot,
    IPNotAllowedError,
    KeywordError,
    Pacer,
    RateLimitedError,
    Robot,
    SignatureError,
    TokenError,
)
from tests.helpers import ADMIN_TOKEN, ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def gong(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(env={}, data_dir=tmp_path_factory.mktemp("sdk-gong"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, server.url + path, headers=ADMIN, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def group(gong: ServerProcess) -> int:
    group_id: int = api(gong, "POST", "/api/groups", json={"name": "sdk"})["id"]
    api(
        gong,
        "POST",
        f"/api/groups/{group_id}/members",
        json={"name": "张三", "mobile": "13800000001"},
    )
    return group_id


def make_robot(server: ServerProcess, group_id: int, **body: Any) -> dict[str, Any]:
    robot: dict[str, Any] = api(
        server, "POST", f"/api/groups/{group_id}/robots", json={"name": "sdk", **body}
    )
    return robot


def messages(server: ServerProcess, group_id: int) -> list[dict[str, Any]]:
    page: list[dict[str, Any]] = api(
        server, "GET", f"/api/groups/{group_id}/messages", params={"limit": 200}
    )["messages"]
    return page


def test_signed_send_with_mention_is_stored(gong: ServerProcess, group: int) -> None:
    robot = make_robot(gong, group, keywords=["CI"], signing=True)
    webhook = robot["webhook"].replace("http://127.0.0.1:8000", gong.url)
    with Robot(webhook, robot["secret"]) as client:
        result = client.send_text("CI green", at_mobiles=["13800000001"], msg_uuid="run-1")
        assert result.ok
        assert result.raw == '{"errcode":0,"errmsg":"ok"}'
        assert client.send_text("CI green", at_mobiles=["13800000001"], msg_uuid="run-1").ok
    stored = [m for m in messages(gong, group) if m["robot_id"] == robot["id"]]
    assert len(stored) == 1  # the repeat with the same msgUuid was not stored twice
    assert stored[0]["content"]["text"] == {"content": "CI green\n@13800000001"}
    assert stored[0]["mentions"][0]["in_text"] is True


def test_refusals_raise_typed_errors(gong: ServerProcess, group: int) -> None:
    robot = make_robot(gong, group, keywords=["CI"], signing=True)
    webhook = robot["webhook"].replace("http://127.0.0.1:8000", gong.url)
    with Robot(webhook, "SEC" + "0" * 64) as client, pytest.raises(SignatureError) as sig:
        client.send_text("CI")
    assert sig.value.errcode == 310000
    assert "签名不匹配" in sig.value.errmsg
    with Robot(webhook, robot["secret"]) as client, pytest.raises(KeywordError) as kw:
        client.send_text("no keyword here")
    assert kw.value.errcode == 310000
    unknown = f"{gong.url}/robot/send?access_token={'0' * 64}"
    with Robot(unknown) as client, pytest.raises(TokenError) as tok:
        client.send_text("CI")
    assert (tok.value.errcode, tok.value.errmsg) == (300005, "token is not exist")
    fenced = make_robot(gong, group, ip_allow=["192.0.2.0/24"])
    fenced_url = fenced["webhook"].replace("http://127.0.0.1:8000", gong.url)
    with Robot(fenced_url) as client, pytest.raises(IPNotAllowedError):
        client.send_text("CI")


def test_rate_limit_and_the_pacer_that_avoids_it(gong: ServerProcess, group: int) -> None:
    limit = {"limit": 3, "window_s": 60, "block_s": 600}
    robot = make_robot(gong, group, keywords=["CI"], rate_limit=limit)
    webhook = robot["webhook"].replace("http://127.0.0.1:8000", gong.url)
    with Robot(webhook) as client:
        for _ in range(3):
            client.send_text("CI")
        with pytest.raises(RateLimitedError) as caught:
            client.send_text("CI")
    assert (caught.value.errcode, caught.value.errmsg) == (410100, "发送速度太快而限流")

    paced = make_robot(gong, group, keywords=["CI"], rate_limit=limit)
    paced_url = paced["webhook"].replace("http://127.0.0.1:8000", gong.url)
    client = Robot(paced_url, pacer=Pacer(3, 60, mode="digest"))
    results = [client.send_text(f"CI run {i}") for i in range(8)]
    assert [r.queued for r in results] == [False] * 3 + [True] * 5
    client.close(flush=False)
    stats = api(gong, "GET", f"/api/robots/{paced['id']}")["stats"]
    assert stats == {"accepted": 3, "refused": 0}


async def test_async_robot_sends_every_type(gong: ServerProcess, group: int) -> None:
    robot = make_robot(gong, group, keywords=["CI"], signing=True, rate_limit={"limit": 0})
    webhook = robot["webhook"].replace("http://127.0.0.1:8000", gong.url)
    async with AsyncRobot(webhook, robot["secret"]) as client:
        await client.send_text("CI text")
        await client.send_link("CI link", "body", "https://example.com/l")
        await client.send_markdown("CI md", "**bold**", at_mobiles=["13800000001"])
        await client.send_action_card("CI card", "text", [("Open", "https://example.com/o")])
        await client.send_feed_card([("CI feed", "https://example.com/f", "")])
    stored = [m for m in messages(gong, group) if m["robot_id"] == robot["id"]]
    assert sorted(m["msgtype"] for m in stored) == sorted(
        ["text", "link", "markdown", "actionCard", "feedCard"]
    )
    md = next(m for m in stored if m["msgtype"] == "markdown")
    assert md["content"]["markdown"]["text"] == "**bold**\n\n@13800000001"
