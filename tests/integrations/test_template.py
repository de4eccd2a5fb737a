"""The template robot: any JSON through a sandboxed Jinja2 template, with time and size limits,
mentions from payload fields, and previews (API and CLI) that post nothing."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gong.integrations.source import Ignored
from gong.integrations.template import render
from gong.protocol.errors import Dialect, RobotError
from gong.web.app import GongApp
from tests.helpers import create_robot, gong_cli
from tests.integrations.conftest import MakeRobot, last_message
from tests.integrations.deliveries import payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

RUNAWAY = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"

SIMPLE_DEPLOY = """{
  "msgtype": "markdown",
  "markdown": {
    "title": {{ ("Deploy " ~ payload.service ~ " " ~ payload.status) | json }},
    "text": {{ ("#### " ~ (payload.service | md) ~ " → " ~ payload.env ~ "\\n\\nStatus **"
                ~ payload.status ~ "**\\n\\n@" ~ payload.owners | join(" @")) | json }}
  },
  "at": {"atMobiles": {{ payload.owners | json }}, "isAtAll": {{ payload.urgent | json }}}
}"""


async def _post(client: httpx.AsyncClient, robot: dict[str, Any], body: Any) -> httpx.Response:
    return await client.post(
        f"/robot/send?access_token={robot['access_token']}",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Source": "deployer"},
    )


async def test_template_robot_posts_with_mentions(
    app: GongApp,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
) -> None:
    robot = await make_robot("template", template=SIMPLE_DEPLOY)
    await app.runtime.groups.add_member(
        robot["group_id"], name="张三", mobile="13800000001", user_id=None
    )
    body = {
        "service": "pay_svc",
        "env": "生产",
        "status": "ok",
        "owners": ["13800000001", "13900000009"],
        "urgent": False,
    }
    answer = await _post(client, robot, body)
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    assert message["content"] == {
        "msgtype": "markdown",
        "markdown": {
            "title": "Deploy pay_svc ok",
            "text": "#### pay_svc → 生产\n\nStatus **ok**\n\n@13800000001 @13900000009",
        },
        "at": {"atMobiles": ["13800000001", "13900000009"], "atUserIds": [], "isAtAll": False},
    }
    assert [(m["name"], m["via"], m["in_text"]) for m in message["mentions"]] == [
        ("张三", "mobile", True)
    ]
    assert message["unresolved"] == ["13900000009"]
    assert message["payload"] == body


async def test_any_message_type_and_any_json(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """The template may write any DingTalk type; the payload may be any JSON value."""
    template = """{"msgtype": "actionCard", "actionCard": {
      "title": "Links", "text": "{{ payload | length }} links", "btnOrientation": "1",
      "btns": [{% for item in payload %}{"title": {{ item.name | json }},
               "actionURL": {{ item.url | json }}}{{ "," if not loop.last }}{% endfor %}]}}"""
    robot = await make_robot("template", template=template)
    items = [{"name": "A", "url": "https://a.example"}, {"name": "B", "url": "https://b.example"}]
    answer = await _post(client, robot, items)
    assert answer.json() == {"errcode": 0, "errmsg": "ok"}
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    assert message["content"] == {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "Links",
            "text": "2 links",
            "btns": [
                {"title": "A", "actionURL": "https://a.example"},
                {"title": "B", "actionURL": "https://b.example"},
            ],
            "btnOrientation": "1",
            "hideAvatar": "0",
        },
    }


async def test_runaway_loop_is_stopped(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("template", template=RUNAWAY)
    started = time.monotonic()
    answer = await _post(client, robot, {})
    took = time.monotonic() - started
    assert answer.status_code == 400
    assert answer.json() == {
        "errcode": 400401,
        "errmsg": "错误描述:the template ran longer than 1 s and was stopped;"
        "解决方案:请确认此机器人的类型与发送方一致;",
    }
    assert 0.9 < took < 3
    assert await last_message(client, admin_headers, robot) is None
    # The server is not stuck: the next delivery to another robot goes through.
    other = await make_robot("template", template='{"msgtype":"text","text":{"content":"hi"}}')
    assert (await _post(client, other, {})).json() == {"errcode": 0, "errmsg": "ok"}


@pytest.mark.parametrize(
    ("template", "errmsg"),
    [
        (
            "{% for i in range(100000) %}xxxxxxxxxx{% endfor %}",
            "错误描述:the template's output is longer than 100000 characters;",
        ),
        (
            '{{ "a" * 10000000 }}',
            "错误描述:the template did something the sandbox forbids: repetition longer than",
        ),
        (
            "{{ 9 ** 999999 }}",
            "错误描述:the template did something the sandbox forbids: a power larger than 4096 bits;",
        ),
        (
            "{% set x = [] %}{{ x.append(1) }}",
            "错误描述:the template did something the sandbox forbids: access to attribute",
        ),
        (
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "错误描述:the template nests too deeply (recursion) and was stopped;",
        ),
        ("{{ payload.missing.deeper }} not json", "错误描述:the template's output is not JSON"),
        ("{{ 1 / 0 }}", "错误描述:the template failed: ZeroDivisionError: division by zero;"),
        # The output is checked exactly as a custom robot's message is: DingTalk's own errcodes.
        (
            '{"msgtype": "markdown", "markdown": {"text": "no title"}}',
            "错误描述:参数 markdown --》 title",
        ),
        ('{"msgtype": "voice"}', "不支持的消息类型"),
    ],
)
async def test_template_limits(template: str, errmsg: str) -> None:
    with pytest.raises(RobotError) as caught:
        render(template, {"a": 1}, time_limit=0.5)
    assert caught.value.errmsg(Dialect.MODERN).startswith(errmsg)


async def test_runaway_loop_is_stopped_in_process() -> None:
    started = time.monotonic()
    with pytest.raises(RobotError) as caught:
        render(RUNAWAY, {}, time_limit=0.3)
    assert 0.25 < time.monotonic() - started < 1.5
    assert caught.value.params["detail"] == "the template ran longer than 0.3 s and was stopped"


async def test_template_sandbox_hides_internals() -> None:
    template = '{"msgtype":"text","text":{"content":"x{{ payload.__class__ }}{{ "".__class__ }}"}}'
    message = render(template, {"a": 1}).message
    assert message.to_wire() == {"msgtype": "text", "text": {"content": "x"}}


async def test_template_leaves_out_events() -> None:
    for template, why in (
        ("  {# nothing #}  ", "empty output"),
        ('{"msgtype": "empty"}', 'msgtype "empty"'),
        (
            '{% if payload.show %}{"msgtype":"text","text":{"content":"x"}}{% endif %}',
            "empty output",
        ),
    ):
        with pytest.raises(Ignored) as caught:
            render(template, {})
        assert caught.value.reason == f'event "template" was left out by the template ({why})'


async def test_template_big_output_is_cut_to_fit() -> None:
    template = '{"msgtype":"markdown","markdown":{"title":"t","text":{{ payload.lines | join("\\n") | json }}}}'
    message = render(template, {"lines": [f"line {i} " + "x" * 80 for i in range(600)]}).message
    wire = message.to_wire()
    assert len(json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode()) <= 20_000
    assert wire["markdown"]["text"].endswith("… (cut to fit the 20 000-byte limit)")


async def test_template_settings_are_checked(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("github")  # makes the group
    url = f"/api/groups/{robot['group_id']}/robots"
    bad = await client.post(
        url,
        json={"name": "t", "kind": "template", "settings": {"template": "{% if %}"}},
        headers=admin_headers,
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "code": "invalid",
        "message": "the template does not compile: Expected an expression, got 'end of statement "
        "block' (line 1)",
    }
    none = await client.post(url, json={"name": "t", "kind": "template"}, headers=admin_headers)
    assert none.json()["error"]["message"] == "a template robot needs a template"


async def test_template_preview_api(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    ok = await client.post(
        "/api/templates/preview",
        json={
            "template": SIMPLE_DEPLOY,
            "payload": {
                "service": "api",
                "env": "prod",
                "status": "ok",
                "owners": [],
                "urgent": True,
            },
        },
        headers=admin_headers,
    )
    assert ok.status_code == 200, ok.text
    out = ok.json()
    assert out["ignored"] is None
    assert out["message"]["markdown"]["title"] == "Deploy api ok"
    assert out["message"]["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": True}
    assert out["bytes"] == len(
        json.dumps(out["message"], ensure_ascii=False, separators=(",", ":")).encode()
    )
    slow = await client.post(
        "/api/templates/preview", json={"template": RUNAWAY, "payload": {}}, headers=admin_headers
    )
    assert slow.status_code == 422
    assert slow.json()["error"]["message"] == "the template ran longer than 1 s and was stopped"
    skipped = await client.post(
        "/api/templates/preview",
        json={"template": '{"msgtype":"empty"}', "payload": {}},
        headers=admin_headers,
    )
    assert skipped.json() == {
        "message": None,
        "ignored": 'event "template" was left out by the template (msgtype "empty")',
        "bytes": 0,
    }
    anonymous = await client.post("/api/templates/preview", json={"template": "x", "payload": 1})
    assert anonymous.status_code == 401


async def test_robot_preview_api(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, app: GongApp
) -> None:
    robot = await make_robot("github", source_secret="s3cret", exclude_events=["issues"])
    url = f"/api/robots/{robot['id']}/preview"
    push = json.loads(payload("github", "push"))
    answer = await client.post(
        url, json={"payload": push, "headers": {"X-GitHub-Event": "push"}}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"]["markdown"]["title"] == (
        "[binkkatal/sample_app] binkkatal pushed 1 commit to master"
    )
    issue = json.loads(payload("github", "issues_opened"))
    answer = await client.post(
        url, json={"payload": issue, "headers": {"x-github-event": "issues"}}, headers=admin_headers
    )
    assert answer.json()["ignored"] == 'event "issues.opened" is in this robot\'s exclude_events'
    answer = await client.post(url, json={"payload": push}, headers=admin_headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == (
        "no X-GitHub-Event header: this is not a GitHub webhook delivery"
    )
    group = await app.runtime.groups.get(robot["group_id"])
    custom = await create_robot(app.runtime, group.id, name="c", keywords=["k"])
    answer = await client.post(
        f"/api/robots/{custom.id}/preview", json={"payload": {}}, headers=admin_headers
    )
    assert answer.status_code == 422
    assert "previews are for integrations" in answer.json()["error"]["message"]


async def test_template_preview_cli(tmp_path: Path) -> None:
    """``gong template preview`` renders a saved payload; no database is needed."""
    template = tmp_path / "deploy.j2"
    template.write_text(SIMPLE_DEPLOY, encoding="utf-8")
    saved = tmp_path / "payload.json"
    saved.write_text(
        json.dumps(
            {"service": "web", "env": "测试", "status": "failed", "owners": ["1"], "urgent": False}
        ),
        encoding="utf-8",
    )
    env = {"GONG_DATA_DIR": str(tmp_path / "data")}
    result = gong_cli(
        ["template", "preview", "--template", str(template), "--payload", str(saved), "--json"], env
    )
    out = json.loads(result.stdout)
    assert out == {
        "message": {
            "msgtype": "markdown",
            "markdown": {
                "title": "Deploy web failed",
                "text": "#### web → 测试\n\nStatus **failed**\n\n@1",
            },
            "at": {"atMobiles": ["1"], "atUserIds": [], "isAtAll": False},
        },
        "ignored": None,
        "bytes": out["bytes"],
    }
    assert not (tmp_path / "data").exists()
    broken = tmp_path / "broken.j2"
    broken.write_text("{{ payload.", encoding="utf-8")
    failed = gong_cli(
        ["template", "preview", "--template", str(broken), "--payload", str(saved), "--json"],
        env,
        check=False,
    )
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error"]["message"].startswith("the template does not compile")


@pytest.mark.slow
async def test_preview_answers_503_when_the_renderer_is_busy(
    app: GongApp, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    renders = app.runtime.renders
    renders.max_waiting, kept = 0, renders.max_waiting
    bomb = "{{ ([[0] * 100] * 20000) | sum(start=[]) | length }}"  # one long C call
    try:
        running = [
            asyncio.ensure_future(
                client.post(
                    "/api/templates/preview",
                    json={"template": bomb, "payload": {}},
                    headers=admin_headers,
                )
            )
            for _ in range(renders.workers)
        ]
        while renders.pending < renders.workers:
            await asyncio.sleep(0.01)
        busy = await client.post(
            "/api/templates/preview",
            json={"template": "{{ 1 }}", "payload": {}},
            headers=admin_headers,
        )
        assert busy.status_code == 503
        assert busy.json() == {
            "error": {
                "code": "unavailable",
                "message": f"the template renderer is busy ({renders.workers} renders running or "
                "waiting); try again later",
            }
        }
        for answer in await asyncio.gather(*running):
            assert answer.json()["error"]["message"] == (
                "the template ran longer than 1 s and was stopped"
            )
    finally:
        renders.max_waiting = kept
