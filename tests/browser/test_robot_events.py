"""An integration robot's page in a real browser (Debian's Chromium, driven by Playwright) against a
real server: the events it ignored are listed with why and how often, "Show these" changes its
filters so they are shown from then on, the event settings are in its form, and "try a sample"
draws what it would post for a documented delivery, as the chat draws it. Screenshots go to
``docs/screenshots/robot-ignored-events.*.png`` (Chinese and English) and ``robot-sample.png`` (or to
``GONG_SCREENSHOTS_DIR``)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.pages import SCREENSHOTS, shoot_both, sign_in, speak_english
from tests.helpers import ADMIN, CHROMIUM, ServerProcess, need, running_server
from tests.integrations.deliveries import deliver

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "robot page password 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    data_dir = tmp_path_factory.mktemp("robot-events")
    with running_server(data_dir, {"GONG_TIMEZONE": "UTC"}, password=PASSWORD) as process:
        yield process


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def page(server: ServerProcess, chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(
        viewport={"width": 1100, "height": 900}, base_url=server.url, locale="en-US"
    )
    page = context.new_page()
    sign_in(page, PASSWORD)
    try:
        yield page
    finally:
        context.close()


def _robot(api: httpx.Client, kind: str, **settings: Any) -> dict[str, Any]:
    group = api.post("/api/groups", json={"name": f"{kind} events"}).json()["id"]
    body = {"name": f"{kind} robot", "kind": kind, "settings": settings}
    answer = api.post(f"/api/groups/{group}/robots", json=body)
    assert answer.status_code == 201, answer.text
    robot: dict[str, Any] = answer.json()
    return robot


def _send(api: httpx.Client, robot: dict[str, Any], event: str, document: bytes) -> None:
    delivery = deliver("github", "push", document=document, secret=None)
    delivery.headers["X-GitHub-Event"] = event
    answer = api.post(
        "/robot/send",
        params={"access_token": robot["access_token"]},
        content=delivery.body,
        headers=delivery.headers,
    )
    assert answer.json()["errcode"] == 0
    assert answer.json()["errmsg"].startswith("ignored: ")


def test_ignored_events_are_listed_and_shown_with_one_click(api: httpx.Client, page: Page) -> None:
    robot = _robot(api, "github", exclude_events=["push"])
    push = deliver("github", "push", secret=None).body
    for _ in range(4):
        _send(api, robot, "push", push)
    member = {"action": "added", "member": {"login": "octocat"}, "sender": {"login": "root"}}
    _send(api, robot, "membership", json.dumps(member).encode())

    page.goto(f"/robots/{robot['id']}")
    rows = page.locator("table.ignored tbody tr")
    assert rows.count() == 2
    row = page.locator("table.ignored tr[data-event='push']")
    assert row.get_attribute("data-reason") == "filtered"
    assert row.locator("td").nth(2).inner_text() == "4"
    assert "event filters" in row.locator(".reason").inner_text()
    unknown = page.locator("table.ignored tr[data-event='membership.added']")
    assert "no message" in unknown.locator(".reason").inner_text()
    assert unknown.locator("button").inner_text() == "Show a short message"
    # The form holds the event settings as they are.
    assert page.input_value("textarea[name=exclude_events]") == "push"
    page.locator("#ignored-events").scroll_into_view_if_needed()

    def scrolled(page: Page) -> None:
        page.wait_for_selector("body[data-ready='1']")
        page.locator("#ignored-events").scroll_into_view_if_needed()

    shoot_both(page, "robot-ignored-events", ready=scrolled)
    speak_english(page)
    page.reload()
    page.wait_for_selector("body[data-ready='1']")

    row.locator("button.show-event").click()
    page.wait_for_url(re.compile(r"done=shown"))
    assert "shown from now on" in page.locator(".notice").inner_text()
    assert page.locator("table.ignored tr[data-event='push']").count() == 0
    assert page.input_value("textarea[name=exclude_events]") == ""
    settings = api.get(f"/api/robots/{robot['id']}").json()["settings"]
    assert "exclude_events" not in settings
    assert [e["event"] for e in api.get(f"/api/robots/{robot['id']}/events").json()] == [
        "membership.added"
    ]


def test_event_settings_are_saved_from_the_form(api: httpx.Client, page: Page) -> None:
    robot = _robot(api, "github")
    page.goto(f"/robots/{robot['id']}")
    page.fill("textarea[name=include_events]", "star\nworkflow_run.completed.success")
    page.check("input[name=show_unknown]")
    page.click("form.robot-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=saved"))
    settings = api.get(f"/api/robots/{robot['id']}").json()["settings"]
    assert settings["include_events"] == ["star", "workflow_run.completed.success"]
    assert settings["show_unknown"] is True
    page.uncheck("input[name=show_unknown]")
    page.fill("textarea[name=include_events]", "")
    page.click("form.robot-form button[type=submit]")
    page.wait_for_url(re.compile(r"done=saved"))
    settings = api.get(f"/api/robots/{robot['id']}").json()["settings"]
    assert "include_events" not in settings and "show_unknown" not in settings


def test_a_sample_is_drawn_as_the_chat_draws_it(api: httpx.Client, page: Page) -> None:
    robot = _robot(api, "jira")
    page.goto(f"/robots/{robot['id']}")
    options = page.locator("select[name=sample] option")
    assert options.count() >= 3
    page.select_option("select[name=sample]", "issue_created")
    page.click("#try-sample-button")
    page.wait_for_url(re.compile(r"sample=issue_created"))
    preview = page.locator(".sample-preview article.msg")
    assert preview.count() == 1
    assert preview.locator(".sender").inner_text() == "jira robot"
    assert preview.locator(".bubble").count() == 1
    assert api.get(f"/api/groups/{robot['group_id']}/messages").json()["messages"] == []
    preview.scroll_into_view_if_needed()
    page.locator(".sample-preview").screenshot(path=str(SCREENSHOTS / "robot-sample.png"))

    # A filtered sample says why nothing would be posted.
    api.patch(f"/api/robots/{robot['id']}", json={"settings": {"only_events": ["comment_*"]}})
    page.goto(f"/robots/{robot['id']}?sample=issue_created")
    assert "Nothing would be posted" in page.locator(".sample-preview").inner_text()
