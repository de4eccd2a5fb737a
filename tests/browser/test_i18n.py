"""The web app in Chinese and in English, in a real browser against a real server: the page's
language follows the browser's, and message times are written in the page's language and the
group's time zone (not the browser's)."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.pages import sign_in
from tests.helpers import ADMIN, CHROMIUM, ServerProcess, need, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "i18n password 1"


@dataclass
class Site:
    server: ServerProcess
    api: httpx.Client
    group: int
    robot_token: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    # The server speaks Chinese unless asked otherwise, and its own zone is UTC.
    env = {"GONG_DEFAULT_LANGUAGE": "zh-CN", "GONG_TIMEZONE": "UTC", "GONG_LOGIN_ATTEMPTS": "50"}
    with (
        running_server(tmp_path_factory.mktemp("i18n"), env, password=PASSWORD) as server,
        httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as api,
    ):
        group = api.post("/api/groups", json={"name": "运维 ops"}).json()["id"]
        patched = api.patch(f"/api/groups/{group}", json={"timezone": "Asia/Shanghai"})
        assert patched.status_code == 200, patched.text
        robot = api.post(f"/api/groups/{group}/robots", json={"name": "CI", "keywords": ["CI"]})
        assert robot.status_code == 201, robot.text
        yield Site(server, api, group, robot.json()["access_token"])


@pytest.fixture(scope="module")
def browser(site: Site, chromium: Browser) -> Browser:
    return chromium


def _post(site: Site, text: str) -> int:
    answer = httpx.post(
        f"{site.server.url}/robot/send?access_token={site.robot_token}",
        json={"msgtype": "text", "text": {"content": text}},
        timeout=10,
    )
    assert answer.json()["errcode"] == 0, answer.text
    messages = site.api.get(f"/api/groups/{site.group}/messages?limit=1").json()["messages"]
    return int(messages[0]["created_at"])


def _open(browser: Browser, site: Site, locale: str) -> Page:
    context = browser.new_context(
        base_url=site.server.url,
        locale=locale,  # Accept-Language
        timezone_id="America/New_York",  # not the group's: times must not follow it
        viewport={"width": 1280, "height": 800},
    )
    return context.new_page()


@pytest.mark.parametrize(
    ("locale", "lang", "words"),
    [
        (
            "zh-CN",
            "zh-CN",
            {
                "sign_in": "登录",
                "today": "今天",
                "robot": "机器人",
                "placeholder": "发消息到 运维 ops · 输入 @ 提及成员",
                "send": "发送",
                "members": "群成员",
            },
        ),
        (
            "en-US",
            "en",
            {
                "sign_in": "Sign in",
                "today": "Today",
                "robot": "Robot",
                "placeholder": "Message 运维 ops · @ to mention",
                "send": "Send",
                "members": "Members",
            },
        ),
    ],
)
def test_the_app_in_the_browsers_language_and_the_groups_time_zone(
    browser: Browser, site: Site, locale: str, lang: str, words: dict[str, str]
) -> None:
    created = _post(site, f"CI build for {locale} passed")
    page = _open(browser, site, locale)
    try:
        page.goto("/login")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("button[type=submit]").inner_text() == words["sign_in"]
        sign_in(page, PASSWORD)
        page.goto(f"/groups/{site.group}")
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.evaluate("window.gongText.lang") == lang
        chat = page.locator("#chat")
        assert chat.get_attribute("data-timezone") == "Asia/Shanghai"
        assert page.locator(".head-links a").first.inner_text() == words["members"]
        assert page.locator("#composer-text").get_attribute("placeholder") == words["placeholder"]
        assert page.locator("#composer button[type=submit]").inner_text() == words["send"]

        last = page.locator("#message-list article").last
        assert last.locator(".robot-tag").inner_text() == words["robot"]
        # The group's clock (Asia/Shanghai, 24 hours), whatever the browser's zone.
        shanghai = dt.datetime.fromtimestamp(created / 1000, ZoneInfo("Asia/Shanghai"))
        assert last.locator("time").inner_text() == f"{shanghai:%H:%M}"
        title = last.locator("time").get_attribute("title") or ""
        assert re.search(r"GMT\+8|CST", title), title
        # The day separator says "today" in the group's zone and the page's language.
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        if shanghai.date() == today:
            assert page.locator(".day-separator").last.inner_text() == words["today"]

        # A live message is drawn in the reader's language too.
        count = page.locator("#message-list article").count()
        _post(site, f"CI live for {locale}")
        page.wait_for_function(
            f"document.querySelectorAll('#message-list article').length > {count}"
        )
        live = page.locator("#message-list article").last
        assert live.locator(".robot-tag").inner_text() == words["robot"]
    finally:
        page.context.close()
