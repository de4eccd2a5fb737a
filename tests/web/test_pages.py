"""The web app's pages and endpoints, in process: who sees what, and what each change does."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import httpx
import orjson
import pytest
from markupsafe import escape

from gong.domain.models import Group, Member, RateLimit
from gong.domain.users import User
from gong.web.app import GongApp
from gong.web.pages.robots import REASONS
from tests.conftest import make_client
from tests.helpers import ADMIN_TOKEN, create_robot
from tests.web.webapp import HTML, csrf_of, make_user, sign_in


@dataclass
class World:
    ops: Group
    dev: Group
    zhang: Member
    li: Member
    admin: User
    user: User


@pytest.fixture
async def world(app: GongApp) -> World:
    runtime = app.runtime
    ops = await runtime.groups.create("ops")
    dev = await runtime.groups.create("dev")
    zhang = await runtime.groups.add_member(
        ops.id, name="张三", mobile="13800000001", user_id="zhangsan"
    )
    li = await runtime.groups.add_member(ops.id, name="李四", mobile="13800000002")
    await runtime.groups.add_member(dev.id, name="王五", mobile="13800000003")
    admin = await make_user(app, "root", admin=True)
    user = await make_user(app, "zhang", members=(zhang.id,))
    return World(ops, dev, zhang, li, admin, user)


async def _robot_send(client: httpx.AsyncClient, token: str, body: dict[str, object]) -> str:
    return (await client.post(f"/robot/send?access_token={token}", json=body)).text


def _articles(html: str) -> list[str]:
    return re.findall(
        r'<article class="msg[^"]*" id="m-\d+" data-message-id="(\d+)" '
        r'data-msgtype="(\w+)"',
        html,
    )  # type: ignore[return-value]


async def test_conversation_list(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    runtime = app.runtime
    robot = await create_robot(runtime, world.ops.id, name="CI", keywords=["CI"])
    ok = '{"errcode":0,"errmsg":"ok"}'
    assert (
        await _robot_send(
            client,
            robot.access_token,
            {
                "msgtype": "markdown",
                "markdown": {"title": "CI weather", "text": "# CI\n@13800000001"},
                "at": {"atMobiles": ["13800000001"]},
            },
        )
        == ok
    )
    assert (
        await _robot_send(
            client,
            robot.access_token,
            {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": "CI deploy?",
                    "text": "x",
                    "singleTitle": "go",
                    "singleURL": "https://e/",
                },
            },
        )
        == ok
    )
    sign_in(client, app, world.user)
    page = await client.get("/", headers=HTML)
    assert page.status_code == 200
    rows = re.findall(
        r'<li class="conversation[^"]*" data-group-id="(\d+)" data-unread="(\d+)" '
        r'data-mentioned="(\d)"',
        page.text,
    )
    assert rows == [(str(world.ops.id), "2", "1")]  # the member sees only their group
    assert "CI: CI deploy?" in page.text  # the actionCard's title, as DingTalk shows it
    assert '<span class="at-you">[@ you]</span>' in page.text
    assert f'data-my-members="{{&#34;{world.ops.id}&#34;:{world.zhang.id}}}"' in page.text

    sign_in(client, app, world.admin)
    page = await client.get("/", headers=HTML)
    rows = re.findall(r'data-group-id="(\d+)" data-unread="(\d+)" data-mentioned="(\d)"', page.text)
    # Admins see every group (newest message first); nobody @-mentioned them.
    assert rows == [(str(world.ops.id), "2", "0"), (str(world.dev.id), "0", "0")]


async def test_conversation_page(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    robot = await create_robot(
        app.runtime, world.ops.id, name="CI", keywords=["CI"], rate_limit=RateLimit(0, 60, 600)
    )
    for i in range(35):
        await _robot_send(
            client, robot.access_token, {"msgtype": "text", "text": {"content": f"CI build {i}"}}
        )
    sign_in(client, app, world.user)
    page = await client.get(f"/groups/{world.ops.id}", headers=HTML)
    assert page.status_code == 200
    shown = _articles(page.text)
    assert [int(i) for i, _ in shown] == list(range(6, 36))  # the newest 30, oldest first
    assert {t for _, t in shown} == {"text"}
    assert 'data-next-before="6"' in page.text
    assert "<script>" not in page.text
    assert re.findall(r"<script[^>]*>", page.text) == [
        '<script src="/i18n/en.js?v=' + page.text.split("en.js?v=")[1].split('"')[0] + '" defer>',
        '<script src="/static/gong.js?v='
        + page.text.split("gong.js?v=")[1].split('"')[0]
        + '" defer>',
        '<script src="/static/notify.js?v='
        + page.text.split("notify.js?v=")[1].split('"')[0]
        + '" defer>',
        '<script type="application/json" id="mentionables">',
    ]
    mentionables = orjson.loads(page.text.split('id="mentionables">')[1].split("</script>")[0])
    assert mentionables == [
        {"kind": "member", "name": "李四", "mobile": "13800000002", "userId": ""},
        {"kind": "robot", "name": "CI"},
    ]
    # Opening the conversation read it.
    assert app.web is not None
    [line] = await app.web.inbox.conversations(world.user)
    assert (line.unread, line.last_read_id) == (0, 35)

    older = await client.get(f"/groups/{world.ops.id}/history?before=6")
    body = older.json()
    assert body["next_before"] is None
    assert [int(i) for i, _ in _articles(body["html"])] == [1, 2, 3, 4, 5]

    hidden = await client.get(f"/groups/{world.dev.id}", headers=HTML)
    assert hidden.status_code == 404
    assert f"group {world.dev.id} does not exist" in hidden.text
    assert (await client.get(f"/groups/{world.dev.id}/history?before=9")).status_code == 404


async def test_read_and_mute(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    csrf = sign_in(client, app, world.user)
    robot = await create_robot(app.runtime, world.ops.id, name="CI", keywords=["CI"])
    for _ in range(3):
        await _robot_send(
            client, robot.access_token, {"msgtype": "text", "text": {"content": "CI"}}
        )
    url = f"/groups/{world.ops.id}/read"
    assert (await client.post(url, json={"up_to": 2})).status_code == 403
    assert (
        await client.post(url, json={"up_to": 2}, headers={"X-CSRF-Token": csrf})
    ).status_code == 204
    assert app.web is not None
    [line] = await app.web.inbox.conversations(world.user)
    assert line.unread == 1
    bad = await client.post(url, content=b"{", headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422
    # Reading past the newest message stops at the newest.
    await client.post(url, json={"up_to": 10**12}, headers={"X-CSRF-Token": csrf})
    [line] = await app.web.inbox.conversations(world.user)
    assert (line.unread, line.last_read_id) == (0, 3)

    muted = await client.post(
        f"/groups/{world.ops.id}/mute", data={"csrf_token": csrf, "muted": "1", "next": "//evil"}
    )
    assert (muted.status_code, muted.headers["location"]) == (303, f"/groups/{world.ops.id}")
    page = await client.get("/", headers=HTML)
    assert 'class="conversation muted"' in page.text


async def test_people_post(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    csrf = sign_in(client, app, world.user)
    url = f"/api/groups/{world.ops.id}/messages"
    body = {
        "msgtype": "text",
        "text": {"content": "@13800000002 please look @CI"},
        "at": {"atMobiles": ["13800000002"]},
    }
    robot = await create_robot(app.runtime, world.ops.id, name="CI", keywords=["x"])
    assert (await client.post(url, json=body)).status_code == 403  # no CSRF header
    posted = await client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert (posted.status_code, posted.json()) == (
        201,
        {"id": 1, "group_id": world.ops.id, "callbacks": []},
    )
    message = await app.runtime.history.get_message(1)
    assert (message.sender_type, message.sender_name, message.sender_user_id) == (
        "user",
        "张三",
        world.user.id,
    )
    assert message.mentions == [
        {
            "member_id": world.li.id,
            "name": "李四",
            "via": "mobile",
            "value": "13800000002",
            "in_text": True,
        }
    ]
    assert message.content == {
        **body,
        "at": {"atMobiles": ["13800000002"], "atUserIds": [], "isAtAll": False},
    }

    md = {"msgtype": "markdown", "markdown": {"title": "t", "text": "**hi**"}}
    assert (await client.post(url, json=md, headers={"X-CSRF-Token": csrf})).status_code == 201

    for bad, message_text in [
        (
            {"msgtype": "link", "link": {"title": "t", "text": "t", "messageUrl": "https://e/"}},
            'people post "text" or "markdown" messages',
        ),
        ({"msgtype": "text", "text": {}}, "错误描述:参数 text --》 content 缺失"),
        ([1], 'people post "text" or "markdown" messages'),
    ]:
        refused = await client.post(url, json=bad, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 422
        assert refused.json()["error"]["message"].startswith(message_text)
    not_json = await client.post(url, content=b"{", headers={"X-CSRF-Token": csrf})
    # The web app's own request also gets the words in the reader's language ("text").
    assert not_json.json()["error"] == {
        "code": "invalid",
        "message": "the body is not JSON",
        "text": "the body is not JSON",
    }
    other = await client.post(
        f"/api/groups/{world.dev.id}/messages", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert other.status_code == 404
    await app.runtime.groups.update(world.ops.id, dissolved=True)
    closed = await client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert closed.status_code == 422
    assert robot.name == "CI"


async def test_person_posts_reports_robot_mentions(app: GongApp, world: World) -> None:
    from gong.protocol.messages import parse_message

    assert app.web is not None
    robot = await create_robot(app.runtime, world.ops.id, name="CI", keywords=["x"])
    await create_robot(app.runtime, world.ops.id, name="Deploy", keywords=["x"])
    posted = await app.runtime.posting.post(
        user=world.user,
        group=world.ops,
        member=world.zhang,
        message=parse_message({"msgtype": "text", "text": {"content": "@CI rebuild please"}}),
    )
    assert [r.id for r in posted.robots] == [robot.id]
    [line] = await app.web.inbox.conversations(world.user)
    assert line.last_read_id == posted.message_id  # your own message is read


async def test_robot_pages(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    csrf = sign_in(client, app, world.user)
    assert (await client.get(f"/groups/{world.ops.id}/robots/new", headers=HTML)).status_code == 403
    csrf = sign_in(client, app, world.admin)
    form = await client.get(f"/groups/{world.ops.id}/robots/new", headers=HTML)
    assert form.status_code == 200
    kinds = re.findall(r'<option value="(\w+)"', form.text)
    assert kinds[:10] == [
        "custom",
        "github",
        "gitlab",
        "jira",
        "travis",
        "trello",
        "codeup",
        "alertmanager",
        "grafana",
        "template",
    ]
    new = f"/groups/{world.ops.id}/robots"
    insecure = await client.post(
        new, data={"csrf_token": csrf, "name": "ci", "kind": "custom"}, headers=HTML
    )
    assert insecure.status_code == 422
    assert "a custom robot needs at least one security setting" in insecure.text
    bad_avatar = await client.post(
        new,
        data={
            "csrf_token": csrf,
            "name": "ci",
            "keywords": "CI",
            "avatar_url": "javascript:alert(1)",
        },
        headers=HTML,
    )
    assert "the avatar must be an http or https image URL" in bad_avatar.text
    created = await client.post(
        new,
        data={
            "csrf_token": csrf,
            "name": "ci",
            "kind": "custom",
            "keywords": "CI\n构建, CI",
            "signing": "1",
            "ip_allow": "203.0.113.0/24\n127.0.0.1",
            "rate_limit": "5",
            "rate_window": "60",
            "rate_block": "0",
            "overflow": "reject",
            "avatar_url": "https://img.example/ci.png",
        },
    )
    assert created.status_code == 303
    robot_id = int(created.headers["location"].split("/")[2].split("?")[0])
    robot = await app.runtime.robots.get(robot_id)
    assert (robot.keywords, robot.ip_allow, robot.rate_limit.limit, robot.rate_limit.block_s) == (
        ("CI", "构建"),
        ("203.0.113.0/24", "127.0.0.1"),
        5,
        0,
    )
    assert robot.secret is not None and robot.secret.startswith("SEC")
    page = await client.get(created.headers["location"], headers=HTML)
    assert page.status_code == 200
    assert "Robot created. Copy its webhook below." in page.text
    assert f'value="http://gong.test/robot/send?access_token={robot.access_token}"' in page.text
    assert f'value="{robot.secret}"' in page.text
    assert "&#34;content&#34;: &#34;CI Hello from Gong&#34;" in page.text  # the curl line
    integration = await client.post(new, data={"csrf_token": csrf, "name": "gh", "kind": "github"})
    assert integration.status_code == 303  # integration kinds need no custom security setting
    github = await app.runtime.robots.get(robot_id + 1)
    assert github.kind == "github"

    avatar = await client.get(f"/robots/{robot_id}/avatar")
    assert (avatar.status_code, avatar.headers["location"]) == (302, "https://img.example/ci.png")
    assert (await client.get(f"/robots/{github.id}/avatar")).headers[
        "location"
    ] == "/static/robot.svg"


async def test_robot_actions(app: GongApp, client: httpx.AsyncClient, world: World) -> None:
    robot = await create_robot(app.runtime, world.ops.id, name="CI", keywords=["CI"])
    csrf = sign_in(client, app, world.admin)
    async with make_client(app, "198.51.100.9") as outsider:
        wrong = await _robot_send(
            outsider, robot.access_token, {"msgtype": "text", "text": {"content": "no keyword"}}
        )
    assert '"errcode":310000' in wrong
    for _ in range(50):  # refusals are written in the background
        if await app.runtime.history.list_refusals(robot.id):
            break
        await asyncio.sleep(0.02)
    page = await client.get(f"/robots/{robot.id}", headers=HTML)
    assert '<tr data-reason="keyword" data-hint="keyword_missing">' in page.text
    assert f'<td class="reason">{escape(REASONS["keyword"])}<p class="refusal-hint">' in page.text
    # The hint names what was expected (the robot page is an admin's).
    assert "the message holds none of the robot&#39;s keywords: CI</p>" in page.text
    assert REASONS["keyword"] == "the message contains none of the robot's keywords"
    assert "198.51.100.9" in page.text

    rotated = await client.post(f"/robots/{robot.id}/token", data={"csrf_token": csrf})
    assert rotated.headers["location"] == f"/robots/{robot.id}?done=token"
    ok = {"msgtype": "text", "text": {"content": "CI"}}
    assert '"errcode":300005' in await _robot_send(client, robot.access_token, ok)
    robot = await app.runtime.robots.get(robot.id)
    assert await _robot_send(client, robot.access_token, ok) == '{"errcode":0,"errmsg":"ok"}'

    await client.post(f"/robots/{robot.id}/disable", data={"csrf_token": csrf})
    assert '"errcode":400102' in await _robot_send(client, robot.access_token, ok)
    await client.post(f"/robots/{robot.id}/enable", data={"csrf_token": csrf})
    secret = await client.post(f"/robots/{robot.id}/secret", data={"csrf_token": csrf})
    assert secret.headers["location"] == f"/robots/{robot.id}?done=secret"
    assert (await app.runtime.robots.get(robot.id)).secret is not None

    saved = await client.post(
        f"/robots/{robot.id}",
        data={
            "csrf_token": csrf,
            "name": "CI bot",
            "keywords": "",
            "signing": "",
            "ip_allow": "",
            "rate_limit": "0",
            "rate_window": "60",
            "rate_block": "600",
            "overflow": "reject",
        },
        headers=HTML,
    )
    assert saved.status_code == 409  # valid on its own, not for this robot: a conflict
    assert "a custom robot needs at least one security setting" in saved.text
    saved = await client.post(
        f"/robots/{robot.id}",
        data={
            "csrf_token": csrf,
            "name": "CI bot",
            "keywords": "CI",
            "signing": "",
            "ip_allow": "",
            "rate_limit": "0",
            "rate_window": "60",
            "rate_block": "600",
            "overflow": "reject",
        },
    )
    assert saved.headers["location"] == f"/robots/{robot.id}?done=saved"
    robot = await app.runtime.robots.get(robot.id)
    assert (robot.name, robot.secret, robot.rate_limit.unlimited) == ("CI bot", None, True)
    bad_number = await client.post(
        f"/robots/{robot.id}",
        data={"csrf_token": csrf, "name": "CI bot", "keywords": "CI", "rate_limit": "many"},
        headers=HTML,
    )
    assert "rate limit must be a whole number" in bad_number.text
    assert (
        await client.post(f"/robots/{robot.id}/explode", data={"csrf_token": csrf})
    ).status_code == 422
    no_csrf = await client.post(f"/robots/{robot.id}/delete", data={}, headers=HTML)
    assert no_csrf.status_code == 403
    deleted = await client.post(f"/robots/{robot.id}/delete", data={"csrf_token": csrf})
    assert deleted.headers["location"] == f"/groups/{world.ops.id}/settings"


async def test_groups_members_and_accounts(
    app: GongApp, client: httpx.AsyncClient, world: World
) -> None:
    csrf = sign_in(client, app, world.user)
    members = await client.get(f"/groups/{world.ops.id}/members", headers=HTML)
    assert members.status_code == 200
    assert "张三" in members.text and "李四" in members.text
    assert "Add a member" not in members.text  # members may look, admins change
    assert (
        await client.post(f"/groups/{world.ops.id}/members", data={"csrf_token": csrf, "name": "x"})
    ).status_code == 403
    settings_page = await client.get(f"/groups/{world.ops.id}/settings", headers=HTML)
    assert settings_page.status_code == 200
    assert "Add a robot" not in settings_page.text
    assert (await client.get("/admin/users", headers=HTML)).status_code == 403

    csrf = sign_in(client, app, world.admin)
    added = await client.post(
        f"/groups/{world.ops.id}/members",
        data={"csrf_token": csrf, "name": "赵六", "mobile": "13800000004", "username": "zhao"},
        headers=HTML,
    )
    assert added.status_code == 404
    assert "there is no account called &#39;zhao&#39;" in added.text
    zhao = await make_user(app, "zhao")
    added = await client.post(
        f"/groups/{world.ops.id}/members",
        data={"csrf_token": csrf, "name": "赵六", "mobile": "13800000004", "username": "zhao"},
    )
    assert added.status_code == 303
    assert app.web is not None
    assert [m.name for m in await app.web.accounts.members_of(zhao.id)] == ["赵六"]
    twice = await client.post(
        f"/members/{world.li.id}/link", data={"csrf_token": csrf, "username": "zhao"}, headers=HTML
    )
    assert twice.status_code == 409
    await client.post(f"/members/{world.li.id}/remove", data={"csrf_token": csrf})
    assert [m.name for m in await app.runtime.groups.members(world.ops.id)] == [
        "张三",
        "赵六",
    ]
    await client.post(f"/members/{world.zhang.id}/unlink", data={"csrf_token": csrf})
    assert await app.web.accounts.members_of(world.user.id) == []

    made = await client.post("/groups", data={"csrf_token": csrf, "name": "new team"})
    group_id = int(made.headers["location"].split("/")[2])
    await client.post(f"/groups/{group_id}/settings", data={"csrf_token": csrf, "name": "renamed"})
    await client.post(f"/groups/{group_id}/dissolve", data={"csrf_token": csrf})
    group = await app.runtime.groups.get(group_id)
    assert (group.name, group.dissolved) == ("renamed", True)
    empty = await client.post("/groups", data={"csrf_token": csrf, "name": " "}, headers=HTML)
    assert empty.status_code == 422

    short = await client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "wu", "password": "short"},
        headers=HTML,
    )
    assert "a password needs at least 8 characters" in short.text
    await client.post(
        "/admin/users",
        data={"csrf_token": csrf, "username": "wu", "password": "long enough", "is_admin": "1"},
    )
    wu = await app.web.accounts.find_user("wu")
    assert wu is not None and wu.is_admin
    await client.post(f"/admin/users/{wu.id}/delete", data={"csrf_token": csrf})
    assert await app.web.accounts.find_user("wu") is None
    me = await client.post(
        f"/admin/users/{world.admin.id}/delete", data={"csrf_token": csrf}, headers=HTML
    )
    assert me.status_code == 409


async def test_security_headers_and_errors(
    app: GongApp, client: httpx.AsyncClient, world: World
) -> None:
    sign_in(client, app, world.user)
    page = await client.get("/", headers=HTML)
    assert page.headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    missing = await client.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404
    assert "404 · Not found" in missing.text
    api = await client.get("/api/groups", headers=HTML)  # the management API keeps JSON errors
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "unauthorized"
    js = await client.get("/static/gong.js")
    assert js.status_code == 200
    assert "EventSource" in js.text
    assert csrf_of(page.text)


async def test_ids_out_of_range_are_not_found(
    app: GongApp, client: httpx.AsyncClient, world: World
) -> None:
    sign_in(client, app, world.admin)
    for path in ("/groups/99999999999", "/robots/99999999999", "/groups/1/members?x=1"):
        answer = await client.get(path, headers=HTML)
        assert answer.status_code == (200 if path.endswith("x=1") else 404), path
    huge = await client.get(f"/groups/{world.ops.id}/history?before={2**64}")
    assert huge.status_code == 422
    api = await client.get(
        f"/api/groups/{world.ops.id}/messages?before={2**64}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert api.status_code == 422
