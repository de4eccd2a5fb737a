"""The ``digest`` overflow policy: past the limit, accept, hold, and post one summary later."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gong.clock import ManualClock
from gong.web.app import GongApp

OK = b'{"errcode":0,"errmsg":"ok"}'
LIMITED = '{"errcode":410100,"errmsg":"发送速度太快而限流"}'.encode()


async def make_robot(
    client: httpx.AsyncClient, headers: dict[str, str], overflow: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    group = (await client.post("/api/groups", json={"name": "ops"}, headers=headers)).json()
    await client.post(
        f"/api/groups/{group['id']}/members",
        json={"name": "张三", "mobile": "13800000001"},
        headers=headers,
    )
    robot = (
        await client.post(
            f"/api/groups/{group['id']}/robots",
            json={
                "name": "ci",
                "keywords": ["CI"],
                "rate_limit": {"limit": 3, "window_s": 60, "block_s": 600},
                "overflow": overflow,
            },
            headers=headers,
        )
    ).json()
    return group, robot


def build(i: int, **extra: Any) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": f"CI build {i} failed"}, **extra}


async def messages(client: httpx.AsyncClient, group_id: int, headers: dict[str, str]) -> list[Any]:
    page = (await client.get(f"/api/groups/{group_id}/messages", headers=headers)).json()
    return list(reversed(page["messages"]))


async def test_reject_is_dingtalk_exact(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    _, robot = await make_robot(client, admin_headers, "reject")
    url = f"/robot/send?access_token={robot['access_token']}"
    answers = [(await client.post(url, json=build(i))).content for i in range(5)]
    assert answers == [OK, OK, OK, LIMITED, LIMITED]


async def test_digest_holds_the_overflow_and_summarises_it_when_the_window_opens(
    app: GongApp, client: httpx.AsyncClient, clock: ManualClock, admin_headers: dict[str, str]
) -> None:
    group, robot = await make_robot(client, admin_headers, "digest")
    url = f"/robot/send?access_token={robot['access_token']}"
    mention = {"at": {"atMobiles": ["13800000001"]}}
    answers = [
        (await client.post(url, json=build(i, **(mention if i == 5 else {})))).content
        for i in range(8)
    ]
    # A repeat of a held message's msgUuid is acknowledged and not held twice.
    answers.append((await client.post(url, json=build(7, msgUuid="u7"))).content)
    answers.append((await client.post(url, json=build(7, msgUuid="u7"))).content)
    assert answers == [OK] * 10
    posted = await messages(client, group["id"], admin_headers)
    assert [m["content"]["text"]["content"] for m in posted] == [
        "CI build 0 failed",
        "CI build 1 failed",
        "CI build 2 failed",
    ]
    info = (await client.get(f"/api/robots/{robot['id']}", headers=admin_headers)).json()
    assert info["stats"] == {"accepted": 9, "refused": 0}
    assert info["held"] == 6

    await asyncio.sleep(0.7)  # the summary task runs; the window is still full
    assert len(await messages(client, group["id"], admin_headers)) == 3

    clock.advance(60_000)
    for _ in range(40):
        posted = await messages(client, group["id"], admin_headers)
        if len(posted) == 4:
            break
        await asyncio.sleep(0.1)
    summary = posted[-1]
    assert summary["msgtype"] == "markdown"
    assert summary["sender"] == {"type": "robot", "name": "ci", "user_id": None}
    text = summary["content"]["markdown"]["text"]
    assert summary["content"]["markdown"]["title"] == "6 messages: CI build 3 failed"
    for i in range(3, 8):
        assert f"CI build {i} failed" in text
    assert text.endswith("\n\n@13800000001")
    assert summary["content"]["at"]["atMobiles"] == ["13800000001"]
    assert summary["mentions"] == [
        {"member_id": 1, "name": "张三", "via": "mobile", "value": "13800000001", "in_text": True}
    ]
    await asyncio.sleep(0.7)
    assert len(await messages(client, group["id"], admin_headers)) == 4  # one summary only
    # The summary took a slot of the window: two more fit, then the overflow is held again.
    answers = [(await client.post(url, json=build(10 + i))).content for i in range(3)]
    assert answers == [OK] * 3
    assert len(await messages(client, group["id"], admin_headers)) == 6
