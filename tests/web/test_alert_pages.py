"""The settings pages of issue 13: a group's time zone, and a robot's alert owners, quiet window
and how a relay fits long messages. The forms only pass values to the services; these tests
check that what is typed arrives, what is stored is shown, and the services' refusals are shown."""

from __future__ import annotations

import re

import httpx
import pytest
from markupsafe import escape

from gong.domain.models import Group, RobotKind, Upstream, UpstreamFit
from gong.domain.users import User
from gong.web.app import GongApp
from tests.helpers import create_robot
from tests.web.webapp import HTML, make_user, sign_in

UPSTREAM = "https://oapi.dingtalk.com/robot/send?access_token=" + "a" * 64


@pytest.fixture
async def ops(app: GongApp) -> Group:
    return await app.runtime.groups.create("ops")


@pytest.fixture
async def admin(app: GongApp) -> User:
    return await make_user(app, "root", admin=True)


def _input(html: str, name: str) -> str:
    """The ``value`` of the input called ``name``."""
    found = re.search(rf'<input name="{name}"[^>]*\svalue="([^"]*)"', html)
    assert found, f"no input {name!r}"
    return found.group(1)


async def test_time_zone_of_a_group(
    app: GongApp, client: httpx.AsyncClient, ops: Group, admin: User
) -> None:
    server_zone = app.runtime.settings.timezone
    csrf = sign_in(client, app, admin)
    page = (await client.get(f"/groups/{ops.id}/settings", headers=HTML)).text
    assert _input(page, "timezone") == ""
    assert f'placeholder="{server_zone} (the server&#39;s)"' in page
    assert f"Empty: the server's time zone, <strong>{server_zone}</strong>." in page
    zones = re.findall(r'<option value="([^"]+)">', page.split('<datalist id="time-zones">')[1])
    assert zones[0] == "Asia/Shanghai" and "UTC" in zones and len(zones) == len(set(zones))

    form = {"csrf_token": csrf, "name": "ops", "timezone": " Asia/Tokyo "}
    saved = await client.post(f"/groups/{ops.id}/settings", data=form)
    assert saved.headers["location"] == f"/groups/{ops.id}/settings?done=1"
    assert (await app.runtime.groups.get(ops.id)).timezone == "Asia/Tokyo"
    page = (await client.get(f"/groups/{ops.id}/settings?done=1", headers=HTML)).text
    assert _input(page, "timezone") == "Asia/Tokyo"
    assert '<p class="notice" role="status">Saved.</p>' in page

    refused = await client.post(
        f"/groups/{ops.id}/settings",
        data={**form, "name": "ops team", "timezone": "Mars/Olympus"},
        headers=HTML,
    )
    assert refused.status_code == 422
    assert '<p class="form-error" role="alert">' in refused.text
    assert escape("'Mars/Olympus' is not a time zone") in refused.text
    assert _input(refused.text, "timezone") == "Mars/Olympus"  # kept to correct
    assert _input(refused.text, "name") == "ops team"
    group = await app.runtime.groups.get(ops.id)
    assert (group.name, group.timezone) == ("ops", "Asia/Tokyo")  # nothing changed

    # A form without the field (an older page) renames and leaves the zone alone.
    await client.post(f"/groups/{ops.id}/settings", data={"csrf_token": csrf, "name": "ops 2"})
    group = await app.runtime.groups.get(ops.id)
    assert (group.name, group.timezone) == ("ops 2", "Asia/Tokyo")
    # Empty: back to the server's.
    await client.post(f"/groups/{ops.id}/settings", data={**form, "timezone": ""})
    assert (await app.runtime.groups.get(ops.id)).timezone is None


async def test_members_do_not_see_the_group_form(
    app: GongApp, client: httpx.AsyncClient, ops: Group
) -> None:
    user = await make_user(app, "zhang")
    member = await app.runtime.groups.add_member(ops.id, name="张三", mobile="13800000001")
    assert app.web is not None
    await app.web.accounts.link(user.id, member.id)
    csrf = sign_in(client, app, user)
    page = await client.get(f"/groups/{ops.id}/settings", headers=HTML)
    assert page.status_code == 200 and 'name="timezone"' not in page.text
    refused = await client.post(
        f"/groups/{ops.id}/settings", data={"csrf_token": csrf, "name": "x", "timezone": "UTC"}
    )
    assert refused.status_code == 403
    assert (await app.runtime.groups.get(ops.id)).timezone is None


async def test_new_alert_robot_with_owners_and_a_quiet_window(
    app: GongApp, client: httpx.AsyncClient, ops: Group, admin: User
) -> None:
    csrf = sign_in(client, app, admin)
    form = (await client.get(f"/groups/{ops.id}/robots/new", headers=HTML)).text
    assert _input(form, "mention_labels") == "" and _input(form, "dedupe_window") == "0"
    assert 'name="upstream_fit"' not in form  # a new robot relays nothing yet
    made = await client.post(
        f"/groups/{ops.id}/robots",
        data={
            "csrf_token": csrf,
            "name": "AM",
            "kind": "alertmanager",
            "mention_labels": "owner, oncall\nteam,",
            "dedupe_window": "300",
        },
    )
    assert made.status_code == 303
    robot_id = int(made.headers["location"].split("/")[2].split("?")[0])
    robot = await app.runtime.robots.get(robot_id)
    assert (robot.mention_labels, robot.dedupe_window_s) == (("owner", "oncall", "team"), 300)
    page = (await client.get(f"/robots/{robot_id}", headers=HTML)).text
    assert _input(page, "mention_labels") == "owner, oncall, team"
    assert _input(page, "dedupe_window") == "300"

    changed = await client.post(
        f"/robots/{robot_id}",
        data={"csrf_token": csrf, "name": "AM", "mention_labels": "", "dedupe_window": "0"},
    )
    assert changed.headers["location"] == f"/robots/{robot_id}?done=saved"
    robot = await app.runtime.robots.get(robot_id)
    assert (robot.mention_labels, robot.dedupe_window_s) == ((), 0)

    bad = await client.post(
        f"/robots/{robot_id}",
        data={
            "csrf_token": csrf,
            "name": "AM",
            "mention_labels": "team-lead",
            "dedupe_window": "9",
        },
        headers=HTML,
    )
    assert bad.status_code in (409, 422)
    assert '<p class="form-error" role="alert">' in bad.text and "team-lead" in bad.text
    assert _input(bad.text, "mention_labels") == "team-lead"  # kept to correct
    too_long = await client.post(
        f"/robots/{robot_id}",
        data={"csrf_token": csrf, "name": "AM", "dedupe_window": "100000000"},
        headers=HTML,
    )
    assert too_long.status_code == 422 and "quiet window" in too_long.text
    assert (await app.runtime.robots.get(robot_id)).dedupe_window_s == 0


async def test_a_custom_robot_takes_no_owners(
    app: GongApp, client: httpx.AsyncClient, ops: Group, admin: User
) -> None:
    csrf = sign_in(client, app, admin)
    refused = await client.post(
        f"/groups/{ops.id}/robots",
        data={"csrf_token": csrf, "name": "CI", "keywords": "CI", "mention_labels": "owner"},
        headers=HTML,
    )
    assert refused.status_code == 422 and "do not post alerts" in refused.text
    robot = await create_robot(app.runtime, ops.id, name="CI", keywords=["CI"])
    page = (await client.get(f"/robots/{robot.id}", headers=HTML)).text
    assert 'name="mention_labels"' not in page and 'name="dedupe_window"' in page
    await client.post(
        f"/robots/{robot.id}",
        data={"csrf_token": csrf, "name": "CI", "keywords": "CI", "dedupe_window": "60"},
    )
    robot = await app.runtime.robots.get(robot.id)
    assert (robot.dedupe_window_s, robot.keywords) == (60, ("CI",))


async def test_a_relayed_robot_chooses_how_long_messages_fit(
    app: GongApp, client: httpx.AsyncClient, ops: Group, admin: User
) -> None:
    robot = await create_robot(
        app.runtime,
        ops.id,
        name="AM",
        kind=RobotKind.ALERTMANAGER,
        upstream=Upstream(UPSTREAM),
        check_addresses=False,
    )
    csrf = sign_in(client, app, admin)
    page = (await client.get(f"/robots/{robot.id}", headers=HTML)).text
    assert "When a message is too long for DingTalk" in page
    assert '<option value="summary" selected>' in page
    saved = await client.post(
        f"/robots/{robot.id}", data={"csrf_token": csrf, "name": "AM", "upstream_fit": "split"}
    )
    assert saved.headers["location"] == f"/robots/{robot.id}?done=saved"
    robot = await app.runtime.robots.get(robot.id)
    assert robot.upstream is not None and robot.upstream.fit is UpstreamFit.SPLIT
    assert robot.upstream.url == UPSTREAM  # the rest of the upstream is kept
    page = (await client.get(f"/robots/{robot.id}", headers=HTML)).text
    assert '<option value="split" selected>' in page
    odd = await client.post(
        f"/robots/{robot.id}",
        data={"csrf_token": csrf, "name": "AM", "upstream_fit": "truncate"},
        headers=HTML,
    )
    assert odd.status_code == 422 and "choose how long messages are sent" in odd.text
