"""Retries, final failures, and the note only the sender sees — through every read path."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from gong.domain.models import Outgoing
from gong.web.app import GongApp
from tests.helpers import update_robot
from tests.outgoing.callback_server import Answer, CallbackServer, text
from tests.outgoing.conftest import World, make_world
from tests.outgoing.test_callbacks import ADMIN, post_as
from tests.web.webapp import HTML, sign_in

PING = {"msgtype": "text", "text": {"content": "@ping-bot ping"}}


async def call_log(client: httpx.AsyncClient, world: World) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = (
        await client.get(f"/api/robots/{world.robot.id}/outgoing", headers=ADMIN)
    ).json()
    return calls


async def ping(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    assert (await post_as(client, app, world, PING)).status_code == 201
    await app.runtime.callbacks.idle()


def outcome(call: dict[str, Any]) -> tuple[Any, ...]:
    return call["state"], call["attempts"], call["http_status"], call["error"]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([Answer(500), Answer(502), text("pong")], ("answered", 3, 200, "")),
        ([Answer(503)], ("failed", 3, 503, "HTTP 503 (3 attempts)")),
        ([Answer(404)], ("failed", 1, 404, "HTTP 404")),
        ([Answer(302)], ("failed", 1, 302, "HTTP 302")),
        (
            [Answer(body=b"pong")],
            ("failed", 1, 200, "the answer is not JSON"),
        ),
        (
            [Answer(body=b'{"msgtype":"link","link":{"title":"t","text":"x","messageUrl":"u"}}')],
            (
                "failed",
                1,
                200,
                "msgtype 'link' cannot answer a callback (text, markdown, actionCard, feedCard "
                "or empty)",
            ),
        ),
        (
            [Answer(body=b'{"msgtype":"markdown","markdown":{"text":"no title"}}')],
            (
                "failed",
                1,
                200,
                "the answer is not a valid message: 错误描述:参数 markdown --》 title 缺失，"
                "或者参数格式不正确; 解决方案:请填充上对应参数;参考链接:请参考本接口对应文档查看"
                "参数获取方式，或者在https://open.dingtalk.com/document/  搜索对应文档;",
            ),
        ),
        ([Answer(body=b"")], ("no_answer", 1, 200, "")),
        ([Answer(delay=0.8)], ("failed", 3, None, "no answer within 0.4 s (3 attempts)")),
    ],
    ids=[
        "5xx-then-ok",
        "5xx",
        "4xx",
        "redirect",
        "not-json",
        "link",
        "bad-markdown",
        "empty",
        "timeout",
    ],
)
async def test_retries_and_final_failures(
    out_app: GongApp,
    out_client: httpx.AsyncClient,
    bot: CallbackServer,
    answers: list[Answer],
    expected: tuple[Any, ...],
) -> None:
    bot.answers = answers
    world = await make_world(out_app, bot.url)
    await ping(out_app, out_client, world)
    (call,) = await call_log(out_client, world)
    assert outcome(call) == expected
    assert len(bot.received) == expected[1]
    notes = [
        m
        for m in await out_app.runtime.history.list_messages(
            world.group.id, viewer=world.zhang_user.id
        )
        if m.sender_type == "system"
    ]
    if expected[0] == "failed":
        assert [(n.content["text"]["content"], n.visible_to_user_id) for n in notes] == [
            (f"ping-bot did not answer: {expected[3]}", world.zhang_user.id)
        ]
    else:
        assert notes == []


async def test_a_closed_port_is_retried_then_fails(
    out_app: GongApp, out_client: httpx.AsyncClient
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    world = await make_world(out_app, f"http://127.0.0.1:{port}/")
    await ping(out_app, out_client, world)
    (call,) = await call_log(out_client, world)
    assert call["state"] == "failed" and call["attempts"] == 3 and call["http_status"] is None
    assert call["error"].startswith("cannot connect: ") and call["error"].endswith("(3 attempts)")


async def test_the_failure_note_is_seen_by_the_sender_only(
    out_app: GongApp, bot: CallbackServer
) -> None:
    bot.answers = [Answer(404)]
    world = await make_world(out_app, bot.url)
    runtime = out_app.runtime
    assert out_app.web is not None
    inbox = out_app.web.inbox
    transport = httpx.ASGITransport(app=out_app)  # type: ignore[arg-type]
    zhang = httpx.AsyncClient(transport=transport, base_url="http://gong.test")
    li = httpx.AsyncClient(transport=transport, base_url="http://gong.test")
    root = httpx.AsyncClient(transport=transport, base_url="http://gong.test")
    sign_in(li, out_app, world.li_user)
    sign_in(root, out_app, world.root)
    # li reads the group first, so anything new would be unread for her
    await li.get(f"/groups/{world.group.id}", headers=HTML)
    await ping(out_app, zhang, world)
    messages = await runtime.history.list_messages(world.group.id, viewer=world.zhang_user.id)
    note, mine = messages[0], messages[1]
    assert (note.sender_type, note.visible_to_user_id) == ("system", world.zhang_user.id)
    assert note.content["text"]["content"] == "ping-bot did not answer: HTTP 404"

    # The sender: the page, the history, the SSE resume, the conversation list.
    page = (await zhang.get(f"/groups/{world.group.id}", headers=HTML)).text
    assert f'data-message-id="{note.id}"' in page and "Only you can see this" in page
    history = (await zhang.get(f"/groups/{world.group.id}/history?before={note.id + 1}")).json()
    assert f'data-message-id="{note.id}"' in history["html"]
    backlog = await inbox.messages_after([world.group.id], mine.id - 1, 10, world.zhang_user.id)
    assert [m.id for m in backlog] == [mine.id, note.id]
    (row,) = await inbox.conversations(world.zhang_user)
    assert row.last is not None and row.last.id == note.id

    # Anybody else: not in the page, the history, the resume, the list, the unread count.
    for client, user in ((li, world.li_user), (root, world.root)):
        page = (await client.get(f"/groups/{world.group.id}", headers=HTML)).text
        assert f'data-message-id="{note.id}"' not in page and "did not answer" not in page
        history = (
            await client.get(f"/groups/{world.group.id}/history?before={note.id + 1}")
        ).json()
        assert "did not answer" not in history["html"]
        backlog = await inbox.messages_after([world.group.id], 0, 10, user.id)
        assert note.id not in [m.id for m in backlog]
        (row,) = await inbox.conversations(user)
        assert row.last is not None and row.last.id == mine.id
    await li.get(f"/groups/{world.group.id}", headers=HTML)  # marks read up to mine
    (row,) = await inbox.conversations(world.li_user)
    assert row.unread == 0

    # The management API and the CLI read the group's messages: no private notes.
    listed = await zhang.get(f"/api/groups/{world.group.id}/messages", headers=ADMIN)
    assert [m["id"] for m in listed.json()["messages"]] == [mine.id]
    assert (await zhang.get(f"/api/messages/{note.id}", headers=ADMIN)).status_code == 404
    for client in (zhang, li, root):
        await client.aclose()


async def test_the_note_is_published_to_the_sender_only(
    out_app: GongApp, bot: CallbackServer
) -> None:
    """Live: the note goes to the sender's own channel, never to the group's."""
    bot.answers = [Answer(500)]
    world = await make_world(out_app, bot.url)
    broker = out_app.runtime.broker
    group_events = await broker.subscribe(f"group:{world.group.id}")
    mine = await broker.subscribe(f"user:{world.zhang_user.id}")
    others = await broker.subscribe(f"user:{world.li_user.id}", f"user:{world.root.id}")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=out_app),  # type: ignore[arg-type]
        base_url="http://gong.test",
    )
    await ping(out_app, client, world)
    await client.aclose()
    note = await asyncio.wait_for(anext(aiter(mine)), 2)
    assert b'"visible_to_user_id":%d' % world.zhang_user.id in note
    assert b"did not answer" in note
    seen = [await asyncio.wait_for(anext(aiter(group_events)), 2)]
    with pytest.raises(TimeoutError):
        seen.append(await asyncio.wait_for(anext(aiter(group_events)), 0.3))
    assert b"did not answer" not in seen[0]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(aiter(others)), 0.3)
    for sub in (group_events, mine, others):
        await sub.close()


async def test_answer_past_the_robot_rate_limit_is_a_failure(
    out_app: GongApp, out_client: httpx.AsyncClient, bot: CallbackServer
) -> None:
    bot.answers = [text("pong")]
    world = await make_world(out_app, bot.url)
    from gong.domain.models import RateLimit

    await update_robot(out_app.runtime, world.robot.id, rate_limit=RateLimit(1, 60, 0))
    await ping(out_app, out_client, world)
    await ping(out_app, out_client, world)
    first, second = reversed(await call_log(out_client, world))
    assert first["state"] == "answered"
    assert outcome(second) == (
        "failed",
        1,
        200,
        "the answer was refused: 410100 发送速度太快而限流",
    )


async def test_robot_page_sets_the_callback_and_shows_the_log(
    out_app: GongApp, bot: CallbackServer
) -> None:
    bot.answers = [Answer(500)]
    world = await make_world(out_app, bot.url)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=out_app),  # type: ignore[arg-type]
        base_url="http://gong.test",
    )
    csrf = sign_in(client, out_app, world.root)
    page = f"/robots/{world.robot.id}"
    saved = await client.post(
        page + "/outgoing",
        data={"csrf_token": csrf, "outgoing_url": bot.url + "?v=2", "outgoing_token": "new-tok"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == page + "?done=outgoing"
    robot = await out_app.runtime.robots.get(world.robot.id)
    assert robot.outgoing == Outgoing(url=bot.url + "?v=2", token="new-tok")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=out_app),  # type: ignore[arg-type]
        base_url="http://gong.test",
    ) as person:
        await ping(out_app, person, world)
    shown = (await client.get(page, headers=HTML)).text
    assert 'value="new-tok"' in shown
    assert '<tr data-state="failed">' in shown and "failed: HTTP 500 (3 attempts)" in shown
    refused = await client.post(
        page + "/outgoing",
        data={"csrf_token": csrf, "outgoing_url": "ftp://x", "outgoing_token": "t"},
    )
    assert refused.status_code == 422 and "must be an http(s) URL" in refused.text
    removed = await client.post(page + "/outgoing", data={"csrf_token": csrf, "remove": "1"})
    assert removed.headers["location"] == page + "?done=no-outgoing"
    assert (await out_app.runtime.robots.get(world.robot.id)).outgoing is None
    sign_in(client, out_app, world.zhang_user)
    assert (await client.get(page, headers=HTML)).status_code == 403  # admins only
    await client.aclose()
