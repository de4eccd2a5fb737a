"""Notifications in a real Chromium (notification permission granted) against a real server:
a robot message that @-mentions the signed-in member raises a desktop notification with the
group, the sender and the text, in Chinese and in English; the title counts unread messages
(groups on do not disturb do not count); "someone @-mentioned you" leads to the message; the
account page and the group settings page keep the choices; the service worker shows what Web
Push brings.

``window.Notification`` is wrapped by a spy that records each notification and still makes the
real one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.pages import SCREENSHOTS
from tests.helpers import ADMIN, CHROMIUM, ServerProcess, gong_cli, need

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "zhang password 1"
ZHANG = "13800000001"
OK = '{"errcode":0,"errmsg":"ok"}'
SPY = """
window.__notes = [];
window.__shown = [];
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
(() => {
  const Real = window.Notification;
  if (!Real) return;
  function Spy(title, options) {
    window.__notes.push({ title: String(title), body: String((options || {}).body || ""),
                          tag: String((options || {}).tag || "") });
    const shown = new Real(title, options);
    window.__shown.push(shown);
    return shown;
  }
  Spy.prototype = Real.prototype;
  Object.defineProperty(Spy, "permission", { get: () => Real.permission });
  Spy.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Spy;
})();
"""


@dataclass
class Site:
    server: ServerProcess
    ops: int
    dev: int
    tokens: dict[int, str]
    states: dict[str, Any] = field(default_factory=dict)

    def send(self, group: int, text: str, **at: Any) -> int:
        """A robot message through the real robot API; its id."""
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": f"CI {text}"}}
        if at:
            body["at"] = at
        answer = httpx.post(
            f"{self.server.url}/robot/send?access_token={self.tokens[group]}", json=body
        )
        assert answer.text == OK
        with httpx.Client(base_url=self.server.url, headers=ADMIN) as api:
            newest = api.get(f"/api/groups/{group}/messages", params={"limit": 1}).json()
        return int(newest["messages"][0]["id"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    server = ServerProcess(env={}, data_dir=tmp_path_factory.mktemp("notify"))
    server.start()
    try:
        tokens: dict[int, str] = {}
        with httpx.Client(base_url=server.url, headers=ADMIN) as api:
            ops = api.post("/api/groups", json={"name": "ops"}).json()["id"]
            dev = api.post("/api/groups", json={"name": "dev"}).json()["id"]
            for group in (ops, dev):
                api.post(
                    f"/api/groups/{group}/members",
                    json={"name": "张三", "mobile": ZHANG, "userId": "zhangsan"},
                )
                robot = api.post(
                    f"/api/groups/{group}/robots",
                    json={"name": "构建机器人", "keywords": ["CI"], "rate_limit": {"limit": 0}},
                ).json()
                tokens[group] = robot["access_token"]
        members = ["--member", f"{ops}:{ZHANG}", "--member", f"{dev}:{ZHANG}"]
        gong_cli(
            ["user", "create", "zhang", "--password-stdin", *members],
            {"GONG_DATA_DIR": str(server.data_dir)},
            input=PASSWORD + "\n",
        )
        yield Site(server, ops, dev, tokens)
    finally:
        server.stop()


def _context(chromium: Browser, site: Site, locale: str) -> BrowserContext:
    context = chromium.new_context(
        base_url=site.server.url,
        locale=locale,
        permissions=["notifications"],
        storage_state=site.states.get("zhang"),
        viewport={"width": 1280, "height": 800},
    )
    context.add_init_script(SPY)
    if "zhang" not in site.states:
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "zhang")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        site.states["zhang"] = context.storage_state()
        page.close()
    return context


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("body[data-live='1']")


def _notes(page: Page, count: int) -> list[dict[str, str]]:
    page.wait_for_function(f"() => window.__notes.length >= {count}", timeout=5000)
    return list(page.evaluate("window.__notes"))


@pytest.mark.parametrize(
    ("locale", "banner"), [("zh-CN", "有人@你"), ("en-US", "Someone @-mentioned you")]
)
def test_a_mention_raises_a_desktop_notification_and_the_banner_leads_to_it(
    chromium: Browser, site: Site, locale: str, banner: str
) -> None:
    context = _context(chromium, site, locale)
    page = context.new_page()
    _ready(page, "/")
    assert page.evaluate("Notification.permission") == "granted"
    assert page.locator("#mention-banner").is_hidden()
    # Messages that do not mention me: no notification.
    site.send(site.dev, "nothing for you")
    message = site.send(site.ops, "构建失败 @13800000001 请看", atMobiles=[ZHANG])
    [note] = _notes(page, 1)
    assert note == {
        "title": "ops",
        "body": "构建机器人: CI 构建失败 @张三 请看",
        "tag": f"gong-group-{site.ops}",
    }
    # The first screen says someone @-mentioned me, and leads to the message.
    link = page.locator("#mention-banner")
    link.wait_for(state="visible")
    assert link.inner_text() == banner
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    language = "zh-CN" if locale == "zh-CN" else "en"
    page.screenshot(path=str(SCREENSHOTS / f"notify-banner.{language}.png"))
    link.click()
    page.wait_for_url(re.compile(rf"/groups/{site.ops}\?at={message}#m-{message}$"))
    page.wait_for_selector(f"#m-{message}.msg-target")
    # Read now: the banner is gone.
    page.locator("#mention-banner").wait_for(state="hidden")
    assert page.evaluate("window.__errors") == []
    context.close()


def test_clicking_the_notification_opens_the_message(chromium: Browser, site: Site) -> None:
    context = _context(chromium, site, "en-US")
    page = context.new_page()
    _ready(page, f"/groups/{site.dev}")
    message = site.send(site.ops, "click me", atUserIds=["zhangsan"])
    _notes(page, 1)
    page.evaluate("window.__shown[0].onclick()")
    page.wait_for_url(re.compile(rf"/groups/{site.ops}\?at={message}#m-{message}$"))
    page.wait_for_selector(f"#m-{message}.msg-target")
    # Looking at the group already: no notification for it.
    _ready(page, f"/groups/{site.ops}")
    page.bring_to_front()
    site.send(site.ops, "seen here", atUserIds=["zhangsan"])
    page.wait_for_function(
        "() => [...document.querySelectorAll('#message-list .bubble-text')]"
        ".some((b) => b.textContent.includes('seen here'))"
    )
    site.send(site.dev, "but dev", atUserIds=["zhangsan"])
    [note] = _notes(page, 1)
    assert note["title"] == "dev"
    context.close()


def test_the_title_counts_unread_messages_of_other_groups(chromium: Browser, site: Site) -> None:
    context = _context(chromium, site, "zh-CN")
    page = context.new_page()
    _ready(page, f"/groups/{site.dev}")
    _ready(page, f"/groups/{site.ops}")  # both read
    base = page.title()
    assert not base.startswith("(")
    site.send(site.dev, "one")
    page.wait_for_function(f"() => document.title === '(1) {base}'")
    site.send(site.dev, "two")
    page.wait_for_function(f"() => document.title === '(2) {base}'")
    # Messages of the group being read do not count.
    site.send(site.ops, "here")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#message-list .bubble-text')]"
        ".some((b) => b.textContent.includes('here'))"
    )
    assert page.title() == f"(2) {base}"
    # A group on do not disturb does not count (as in DingTalk), after a reload too.
    page.goto(f"/groups/{site.dev}/settings")
    page.click("form[action$='/mute'] button")
    _ready(page, f"/groups/{site.ops}")
    site.send(site.dev, "quiet")
    page.wait_for_function(
        f"() => document.querySelector('.conversation[data-group-id=\"{site.dev}\"]')"
        ".dataset.unread === '3'"
    )
    assert page.title() == base
    page.goto(f"/groups/{site.dev}/settings")
    page.click("form[action$='/mute'] button")
    _ready(page, "/")
    assert page.title() == "(3) Gong"  # the first screen
    _ready(page, f"/groups/{site.dev}")
    context.close()


def test_choices_on_the_account_and_group_settings_pages(chromium: Browser, site: Site) -> None:
    context = _context(chromium, site, "en-US")
    page = context.new_page()
    page.goto("/account")
    mentions = page.locator("input[name=notify_mentions]")
    assert page.is_checked("input[name=notify]") and mentions.is_checked()
    mentions.uncheck()
    page.click("#preferences-form button[type=submit]")
    page.wait_for_url(re.compile(r"/account\?saved=1$"))
    assert not page.is_checked("input[name=notify_mentions]")
    # @ me is off: a mention raises nothing; every message of dev is on: it does.
    page.goto(f"/groups/{site.dev}/settings")
    page.click("#notify-all-form button")
    page.wait_for_selector("#notify-all-form:has-text('You are notified of every message')")
    _ready(page, "/")
    site.send(site.ops, "muted mention", atUserIds=["zhangsan"])
    site.send(site.dev, "every message")
    [note] = _notes(page, 1)
    assert note["body"] == "构建机器人: CI every message"
    page.goto(f"/groups/{site.dev}/settings")
    page.click("#notify-all-form button")
    page.wait_for_selector("#notify-all-form:has-text('only when someone @-mentions you')")
    page.goto("/account")
    page.check("input[name=notify_mentions]")
    page.click("#preferences-form button[type=submit]")
    page.wait_for_url(re.compile(r"/account\?saved=1$"))
    assert page.is_checked("input[name=notify_mentions]")

    # "Allow desktop notifications": permission is granted; this Chromium has no push service,
    # which the page says in words, not with an exception.
    page.click("#notify-enable")
    status = page.locator("#notify-status")
    page.wait_for_function(
        "() => { const s = document.getElementById('notify-status').textContent;"
        " return s && !s.includes('Asking'); }",
        timeout=15000,
    )
    text = status.inner_text()
    assert "Desktop notifications are on" in text, text
    assert page.evaluate("window.__errors") == []
    page.screenshot(path=str(SCREENSHOTS / "notify-account-en.png"))
    context.close()


def test_the_service_worker_shows_a_push(chromium: Browser, site: Site) -> None:
    context = _context(chromium, site, "en-US")
    page = context.new_page()
    _ready(page, "/")
    page.evaluate(
        "async () => { await navigator.serviceWorker.register('/sw.js', {scope: '/'});"
        " await navigator.serviceWorker.ready; }"
    )
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if any(r["scopeURL"] == site.server.url + "/" for r in registrations):
            break
        page.wait_for_timeout(100)
    [registration] = [r for r in registrations if r["scopeURL"] == site.server.url + "/"][:1]
    payload = {
        "title": "ops",
        "body": "构建机器人: CI pushed",
        "tag": f"gong-group-{site.ops}",
        "url": f"/groups/{site.ops}",
        "group_id": site.ops,
        "message_id": 1,
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": site.server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(payload),
        },
    )
    shown: list[dict[str, str]] = []
    for _ in range(50):  # the worker shows it in its own time
        shown = page.evaluate(
            "async () => (await (await navigator.serviceWorker.ready).getNotifications())"
            ".map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}))"
        )
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [
        {
            "title": "ops",
            "body": "构建机器人: CI pushed",
            "tag": f"gong-group-{site.ops}",
            "url": f"/groups/{site.ops}",
        }
    ]
    context.close()
