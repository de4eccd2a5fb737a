"""The robot page's tools, in process: the test message (through the robot's own send path,
answered as DingTalk answers), the template editor (saved as the API saves it, previewed as the
preview API renders), and the confirmations destructive forms carry. Also how ``@all`` and a
person's markdown title are drawn."""

from __future__ import annotations

import orjson
import pytest

from gong.domain.models import RobotKind
from gong.domain.specs import RobotPatch
from gong.domain.users import User
from gong.protocol.errors import Dialect, Errors
from gong.web.app import GongApp
from gong.web.render import message_view, preview, text_html
from tests.conftest import make_client
from tests.helpers import create_robot
from tests.web.webapp import HTML, make_user, sign_in

JSON = {"Accept": "application/json"}
TEMPLATE = (
    '{"msgtype": "markdown", "markdown": {"title": {{ ("Deploy " ~ payload.service) | json }}, '
    '"text": {{ ("#### Deploy " ~ payload.service) | json }}}}'
)


@pytest.fixture
async def admin(app: GongApp) -> User:
    return await make_user(app, "root", admin=True)


# -- the test message ------------------------------------------------------------------------------


async def test_the_test_message_is_posted_with_keyword_and_signature(
    app: GongApp, admin: User
) -> None:
    group = await app.runtime.groups.create("ops")
    robot = await create_robot(app.runtime, group.id, name="CI", keywords=["CI"], signing=True)
    async with make_client(app, "203.0.113.7") as client:
        csrf = sign_in(client, app, admin)
        answer = await client.post(
            f"/robots/{robot.id}/test", data={"csrf_token": csrf}, headers=JSON
        )
    assert answer.status_code == 200
    assert answer.json() == {"errcode": 0, "errmsg": "ok"}
    [message] = await app.runtime.history.list_messages(group.id)
    assert message.content["text"]["content"] == "CI Test message from Gong: this robot works."
    assert message.robot_id == robot.id


async def test_the_allow_list_judges_the_browser_s_address(app: GongApp, admin: User) -> None:
    group = await app.runtime.groups.create("ops")
    robot = await create_robot(app.runtime, group.id, name="Guarded", ip_allow=["10.0.0.0/8"])
    async with make_client(app, "203.0.113.7") as client:
        csrf = sign_in(client, app, admin)
        refused = await client.post(
            f"/robots/{robot.id}/test", data={"csrf_token": csrf}, headers=JSON
        )
        # Without scripts: the robot page, with the answer in words.
        page = await client.post(
            f"/robots/{robot.id}/test", data={"csrf_token": csrf}, headers=HTML
        )
    assert refused.json() == {"errcode": 310000, "errmsg": Errors.IP.message_for(Dialect.MODERN)}
    assert page.status_code == 200
    assert "Test message answered: errcode 310000" in page.text
    assert await app.runtime.history.list_messages(group.id) == []
    async with make_client(app, "10.9.8.7") as inside:
        csrf = sign_in(inside, app, admin)
        allowed = await inside.post(
            f"/robots/{robot.id}/test", data={"csrf_token": csrf}, headers=JSON
        )
    assert allowed.json() == {"errcode": 0, "errmsg": "ok"}


async def test_the_test_message_needs_an_admin_a_form_token_and_a_custom_robot(
    app: GongApp, admin: User
) -> None:
    group = await app.runtime.groups.create("ops")
    robot = await create_robot(app.runtime, group.id, name="CI", keywords=["CI"])
    github = await create_robot(app.runtime, group.id, name="gh", kind=RobotKind.GITHUB)
    member = await make_user(app, "zhang")
    async with make_client(app) as client:
        csrf = sign_in(client, app, admin)
        forged = await client.post(f"/robots/{robot.id}/test", data={}, headers=JSON)
        wrong_kind = await client.post(
            f"/robots/{github.id}/test", data={"csrf_token": csrf}, headers=JSON
        )
        csrf = sign_in(client, app, member)
        not_admin = await client.post(
            f"/robots/{robot.id}/test", data={"csrf_token": csrf}, headers=JSON
        )
    assert forged.status_code == 403
    assert wrong_kind.status_code == 422
    assert "custom robots" in wrong_kind.json()["error"]["message"]
    assert not_admin.status_code == 403
    assert await app.runtime.history.list_messages(group.id) == []


# -- the template editor ---------------------------------------------------------------------------


async def _template_robot(app: GongApp) -> tuple[int, int]:
    group = await app.runtime.groups.create("ops")
    robot = await create_robot(
        app.runtime,
        group.id,
        name="deploys",
        kind=RobotKind.TEMPLATE,
        settings={"template": TEMPLATE},
    )
    return group.id, robot.id


async def test_the_template_preview_draws_the_message(app: GongApp, admin: User) -> None:
    group_id, robot_id = await _template_robot(app)
    async with make_client(app) as client:
        csrf = sign_in(client, app, admin)
        headers = {**JSON, "X-CSRF-Token": csrf}
        url = f"/robots/{robot_id}/template/preview"

        async def ask(template: object, payload: object) -> tuple[int, dict[str, object]]:
            body = orjson.dumps({"template": template, "payload": payload})
            answer = await client.post(url, content=body, headers=headers)
            return answer.status_code, answer.json()

        status, drawn = await ask(TEMPLATE, '{"service": "pay"}')
        assert status == 200
        assert "<h4>Deploy pay</h4>" in str(drawn["html"])
        assert 'class="msg msg-robot' in str(drawn["html"])
        assert drawn["ignored"] is None and int(str(drawn["bytes"])) > 0

        status, ignored = await ask("   {# nothing #}", "{}")
        assert (status, ignored["html"], ignored["ignored"]) == (200, "", ignored["ignored"])
        assert ignored["ignored"]

        status, broken = await ask("{{ payload.", "{}")
        assert status == 422 and broken["error"]["code"] == "invalid"  # type: ignore[index]
        status, not_json = await ask(TEMPLATE, "{service: pay}")
        assert status == 422
        assert "the sample delivery is not JSON" in not_json["error"]["message"]  # type: ignore[index]
        status, blank = await ask(" ", "{}")
        assert (status, blank["error"]["message"]) == (422, "write a template to preview")  # type: ignore[index]

        forged = await client.post(url, content=b"{}", headers=JSON)
        assert forged.status_code == 403
        garbage = await client.post(url, content=b"not json", headers=headers)
        assert garbage.status_code == 422
    assert await app.runtime.history.list_messages(group_id) == []


async def test_the_template_is_saved_from_the_robot_page(app: GongApp, admin: User) -> None:
    _, robot_id = await _template_robot(app)
    changed = TEMPLATE.replace("#### Deploy", "#### Shipped")
    async with make_client(app) as client:
        csrf = sign_in(client, app, admin)
        page = await client.get(f"/robots/{robot_id}", headers=HTML)
        assert 'id="template-editor"' in page.text
        assert 'id="template-text"' in page.text
        saved = await client.post(
            f"/robots/{robot_id}/template", data={"csrf_token": csrf, "template": changed}
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == f"/robots/{robot_id}?done=template#template-editor"
        assert (await app.runtime.robots.get(robot_id)).settings["template"] == changed

        refused = await client.post(
            f"/robots/{robot_id}/template",
            data={"csrf_token": csrf, "template": "{{ broken"},
            headers=HTML,
        )
        assert refused.status_code in (409, 422)
        assert 'class="form-error"' in refused.text
        assert "{{ broken" in refused.text  # what was typed is kept
    assert (await app.runtime.robots.get(robot_id)).settings["template"] == changed


# -- confirmations ---------------------------------------------------------------------------------


async def test_destructive_forms_carry_a_confirmation(app: GongApp, admin: User) -> None:
    group = await app.runtime.groups.create("ops")
    robot = await create_robot(app.runtime, group.id, name="CI", keywords=["CI"], signing=True)
    await app.runtime.robots.update(robot.id, RobotPatch(enabled=True))
    async with make_client(app) as client:
        sign_in(client, app, admin)
        page = (await client.get(f"/robots/{robot.id}", headers=HTML)).text
        settings = (await client.get(f"/groups/{group.id}/settings", headers=HTML)).text
    assert (
        'data-confirm="Delete robot “CI”? Its webhook stops working at once; its messages stay."'
        in page
    )
    assert "The old webhook stops working at once" in page
    assert 'data-confirm-button="Regenerate secret"' in page
    assert 'data-confirm="Dissolve group “ops”?' in settings
    # Without scripts, a required box (inside <noscript>) asks instead.
    assert page.count('<noscript><label class="confirm-check"><input type="checkbox"') == 3


# -- drawing ---------------------------------------------------------------------------------------


def test_at_all_is_highlighted_when_the_message_mentions_everyone() -> None:
    assert str(text_html("@all 发布", [], [], at_all=True)) == (
        '<span class="at at-all">@all</span> 发布'
    )
    assert str(text_html("@所有人 发布", [], [], at_all=True)) == (
        '<span class="at at-all">@所有人</span> 发布'
    )
    # Not at everyone: the words are only words; nor inside a longer name.
    assert str(text_html("@all 发布", [], [], at_all=False)) == "@all 发布"
    assert str(text_html("@allen", [], [], at_all=True)) == "@allen"
    view = message_view(
        {
            "id": 1,
            "group_id": 1,
            "msgtype": "text",
            "content": {"msgtype": "text", "text": {"content": "CI @all 今晚发布"}},
            "at_all": True,
        }
    )
    assert '<span class="at at-all">@all</span>' in str(view.body)


def test_a_person_s_markdown_title_shows_mentions_as_names() -> None:
    line = preview(
        {
            "msgtype": "markdown",
            "content": {"markdown": {"title": "@zhangsan 看一下", "text": "## @zhangsan 看一下"}},
            "mentions": [{"member_id": 1, "name": "张三", "value": "zhangsan", "via": "userId"}],
        }
    )
    assert line == "@张三 看一下"
