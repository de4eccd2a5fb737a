"""Outgoing callbacks end to end in one process: a person's @-mention (web composer or the API
with an admin token) reaches a real HTTP server as DingTalk's callback, and what it answers —
now, or later through the sessionWebhook — is posted in the group as the robot."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import orjson

from gong.clock import ManualClock
from gong.domain.models import RateLimit
from gong.domain.service import group_channel
from gong.protocol.outgoing import OpaqueIds
from gong.protocol.signing import sign
from gong.schemas.records import MessageOut
from gong.web.app import GongApp
from tests.helpers import ADMIN_TOKEN, create_robot, update_robot
from tests.outgoing.callback_server import CallbackServer, text
from tests.outgoing.conftest import World, make_world
from tests.web.webapp import sign_in

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SESSION_URL = re.compile(r"http://gong\.test/robot/sendBySession\?session=([0-9a-f]{32})")


async def post_as(
    client: httpx.AsyncClient, app: GongApp, world: World, body: dict[str, Any], user: str = "zhang"
) -> httpx.Response:
    """Post from the web app as a signed-in person (session cookie + CSRF header)."""
    account = world.zhang_user if user == "zhang" else world.li_user
    csrf = sign_in(client, app, account)
    return await client.post(
        f"/api/groups/{world.group.id}/messages", json=body, headers={"X-CSRF-Token": csrf}
    )


async def newest(app: GongApp, world: World) -> dict[str, Any]:
    [message] = await app.runtime.history.list_messages(world.group.id, limit=1)
    return MessageOut.of(message).model_dump(mode="json")


async def test_callback_carries_every_field_and_header_and_the_answer_is_posted_live(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer, clock: ManualClock
) -> None:
    bot.answers = [text("pong")]
    world = await make_world(out_app, bot.url)
    live = await out_app.runtime.broker.subscribe(group_channel(world.group.id))
    events = aiter(live)
    body = {
        "msgtype": "text",
        "text": {"content": "@ping-bot ping @13800000002 @wangwu"},
        "at": {"atMobiles": ["13800000002"], "atUserIds": ["wangwu"]},
    }
    posted = await post_as(out_client, out_app, world, body)
    assert posted.status_code == 201
    assert posted.json() == {
        "id": posted.json()["id"],
        "group_id": world.group.id,
        "callbacks": [world.robot.id],
    }
    await out_app.runtime.callbacks.idle()

    (request,) = bot.wait(1)
    ids = OpaqueIds((await out_app.web.accounts.secret("outgoing_ids")).encode())  # type: ignore[union-attr]
    callback = request.json()
    session = SESSION_URL.fullmatch(callback["sessionWebhook"])
    assert session is not None
    now = clock.now_ms()
    assert callback == {
        "conversationId": ids.conversation(world.group.id),
        "atUsers": [
            {"dingtalkId": ids.robot(world.robot.id)},
            {"dingtalkId": ids.member(world.li.id)},
            {"dingtalkId": ids.member(world.wang.id), "staffId": "wangwu"},
        ],
        "chatbotUserId": ids.robot(world.robot.id),
        "msgId": ids.message(posted.json()["id"]),
        "senderNick": "张三",
        "isAdmin": False,
        "senderStaffId": "zhangsan",
        "sessionWebhookExpiredTime": now + 5_400_000,
        "createAt": now,
        "conversationType": "2",
        "senderId": ids.user(world.zhang_user.id),
        "conversationTitle": "发布群",
        "isInAtList": True,
        "sessionWebhook": f"http://gong.test/robot/sendBySession?session={session.group(1)}",
        "text": {"content": " ping @13800000002 @wangwu"},  # DingTalk keeps the space
        "msgtype": "text",
    }
    assert re.fullmatch(r"cid[A-Za-z0-9+/]{22}==", callback["conversationId"])
    assert re.fullmatch(r"\$:LWCP_v1:\$[A-Za-z0-9+/]{32}", callback["senderId"])
    assert (request.method, request.path) == ("POST", "/dingtalk")
    assert request.headers["token"] == "tok-123"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["timestamp"] == str(now)
    assert world.robot.secret is not None
    assert request.headers["sign"] == sign(world.robot.secret, now)  # raw Base64, not encoded

    # Live: the person's message, then the robot's answer.
    first = orjson.loads(await asyncio.wait_for(anext(events), 2))
    second = orjson.loads(await asyncio.wait_for(anext(events), 2))
    await live.close()
    assert (first["sender"]["type"], second["sender"]["type"]) == ("user", "robot")
    assert second["content"] == {"msgtype": "text", "text": {"content": "pong"}}
    assert second["robot_id"] == world.robot.id
    stored = await newest(out_app, world)
    assert (stored["sender"]["name"], stored["content"]) == (
        "ping-bot",
        {"msgtype": "text", "text": {"content": "pong"}},
    )
    log = await out_client.get(f"/api/robots/{world.robot.id}/outgoing", headers=ADMIN)
    assert log.json() == [
        {
            "id": 1,
            "robot_id": world.robot.id,
            "group_id": world.group.id,
            "message_id": posted.json()["id"],
            "sender_user_id": world.zhang_user.id,
            "state": "answered",
            "attempts": 1,
            "http_status": 200,
            "error": "",
            "duration_ms": log.json()[0]["duration_ms"],
            "answer_message_id": stored["id"],
            "created_at": now,
        }
    ]


async def test_ids_are_stable_and_distinct(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer
) -> None:
    world = await make_world(out_app, bot.url, signing=False)
    for words in ("@ping-bot one", "@ping-bot two"):
        await post_as(out_client, out_app, world, {"msgtype": "text", "text": {"content": words}})
    await post_as(
        out_client, out_app, world, {"msgtype": "text", "text": {"content": "@ping-bot 3"}}, "li"
    )
    await out_app.runtime.callbacks.idle()
    one, two, three = (r.json() for r in bot.wait(3))
    assert one["senderId"] == two["senderId"] != three["senderId"]
    assert one["conversationId"] == three["conversationId"]
    assert len({one["msgId"], two["msgId"], three["msgId"]}) == 3
    assert len({one["sessionWebhook"], two["sessionWebhook"]}) == 2
    assert (three["senderNick"], three["senderStaffId"]) == ("李四", "")  # no userId
    assert "timestamp" not in bot.received[0].headers  # no secret: token only
    assert "sign" not in bot.received[0].headers


async def test_admin_token_posts_as_a_named_account(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer
) -> None:
    bot.answers = [text("pong")]
    world = await make_world(out_app, bot.url)
    url = f"/api/groups/{world.group.id}/messages"
    ping = {"msgtype": "text", "text": {"content": "@ping-bot ping"}}
    made = await out_client.post(url + "?as_user=root", json=ping, headers=ADMIN)
    assert made.status_code == 201
    await out_app.runtime.callbacks.idle()
    callback = bot.wait(1)[0].json()
    assert (callback["senderNick"], callback["isAdmin"], callback["senderStaffId"]) == (
        "root",
        True,
        "",
    )
    assert (await newest(out_app, world))["content"]["text"]["content"] == "pong"

    refusals = [
        (await out_client.post(url, json=ping, headers=ADMIN), 422),
        (await out_client.post(url + "?as_user=nobody", json=ping, headers=ADMIN), 404),
        (await out_client.post(url + "?as_user=root", json=ping), 401),  # no session either
        (
            await out_client.post(
                url + "?as_user=root", json=ping, headers={"Authorization": "Bearer wrong"}
            ),
            401,
        ),
    ]
    assert [r.status_code for r, _ in refusals] == [code for _, code in refusals]
    other = await out_app.runtime.groups.create("elsewhere")
    hidden = await out_client.post(
        f"/api/groups/{other.id}/messages?as_user=li", json=ping, headers=ADMIN
    )
    assert hidden.status_code == 404  # li sees only her group


async def test_no_callback_without_mention_or_url_or_when_disabled(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer
) -> None:
    world = await make_world(out_app, bot.url)
    runtime = out_app.runtime
    await create_robot(runtime, world.group.id, name="ping", keywords=["x"])  # no outgoing URL
    for words in ("ping-bot without an at", "@ping hello"):
        await post_as(out_client, out_app, world, {"msgtype": "text", "text": {"content": words}})
    await runtime.robots.set_enabled(world.robot.id, False)
    await post_as(
        out_client, out_app, world, {"msgtype": "text", "text": {"content": "@ping-bot x"}}
    )
    await out_app.runtime.callbacks.idle()
    await asyncio.sleep(0.1)
    assert bot.received == []


async def test_session_webhook_answers_until_it_expires(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer, clock: ManualClock
) -> None:
    world = await make_world(out_app, bot.url)  # the callback answers {"msgtype":"empty"}
    await post_as(
        out_client, out_app, world, {"msgtype": "text", "text": {"content": "@ping-bot long job"}}
    )
    await out_app.runtime.callbacks.idle()
    count = await out_app.runtime.history.count_messages(world.group.id)
    assert count == 1  # empty: nothing posted
    hook = bot.wait(1)[0].json()["sessionWebhook"].replace("http://gong.test", "")
    later = {
        "msgtype": "markdown",
        "markdown": {"title": "done", "text": "#### done @zhangsan"},
        "at": {"atUserIds": ["zhangsan"]},
    }
    answered = await out_client.post(hook, json=later)
    assert (answered.status_code, answered.text) == (200, '{"errcode":0,"errmsg":"ok"}')
    stored = await newest(out_app, world)
    assert (stored["sender"]["type"], stored["robot_id"], stored["content"]["markdown"]) == (
        "robot",
        world.robot.id,
        {"title": "done", "text": "#### done @zhangsan"},
    )
    assert [m["member_id"] for m in stored["mentions"]] == [world.zhang.id]

    def envelope(r: httpx.Response) -> tuple[int, str]:
        return r.status_code, r.text

    session_unknown = (200, '{"errcode":300001,"errmsg":"session 不存在"}')
    assert envelope(await out_client.get(hook)) == (
        200,
        '{"errcode":43002,"errmsg":"需要POST请求"}',
    )
    assert envelope(
        await out_client.post(hook, content=b"{", headers={"Content-Type": "application/json"})
    ) == (200, '{"errcode":40035,"errmsg":"缺少参数 json"}')
    assert envelope(await out_client.post(hook, json={"text": {"content": "x"}})) == (
        200,
        '{"errcode":300001,"errmsg":"msgtype is null"}',
    )
    wrong = "/robot/sendBySession?session=" + "0" * 32
    assert envelope(await out_client.post(wrong, json=later)) == session_unknown
    assert envelope(await out_client.post("/robot/sendBySession", json=later)) == session_unknown
    clock.advance(5_400_000 - 1)
    assert envelope(await out_client.post(hook, json=later))[1] == '{"errcode":0,"errmsg":"ok"}'
    clock.advance(1)  # 90 minutes after the message
    assert envelope(await out_client.post(hook, json=later)) == session_unknown


async def test_session_webhook_applies_the_robot_state_and_rate_limit(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer
) -> None:
    world = await make_world(out_app, bot.url)
    runtime = out_app.runtime
    await update_robot(runtime, world.robot.id, rate_limit=RateLimit(1, 60, 0))
    await post_as(out_client, out_app, world, {"msgtype": "text", "text": {"content": "@ping-bot"}})
    await out_app.runtime.callbacks.idle()
    hook = bot.wait(1)[0].json()["sessionWebhook"].replace("http://gong.test", "")
    one = {"msgtype": "text", "text": {"content": "one"}}
    assert (await out_client.post(hook, json=one)).json()["errcode"] == 0
    assert (await out_client.post(hook, json=one)).json()["errcode"] == 410100
    await runtime.robots.set_enabled(world.robot.id, False)
    assert (await out_client.post(hook, json=one)).json() == {
        "errcode": 400102,
        "errmsg": "机器人已停用",
    }
