"""The web app in a real browser (Debian's Chromium, driven by Playwright) against a real server.

Sign in, create a robot from the UI, post every message type through ``/robot/send`` with a real
HTTP client and check how each is drawn (DOM structure, not only text), see messages arrive live,
see "@ you", scroll back through history, post with @-completion, use a phone-sized screen, and
check that hostile messages fire no script. Screenshots go to ``docs/screenshots/``, in Chinese and English (or to
``GONG_SCREENSHOTS_DIR``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from gong.domain.models import RobotKind
from tests.browser.pages import shoot_both, speak_english
from tests.helpers import ADMIN_TOKEN, CHROMIUM, ServerProcess, gong_cli, need, now_ms, signed_url

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORDS = {"root": "root password 1", "zhang": "zhang password 1"}
OK = '{"errcode":0,"errmsg":"ok"}'
#: Pictures robots link to live on hosts the browser cannot reach; the page routes serve these.
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270"><defs><linearGradient '
    'id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#36cfc9"/><stop offset="1" '
    'stop-color="#1677ff"/></linearGradient></defs><rect width="480" height="270" fill="url(#g)"/>'
    '<circle cx="360" cy="80" r="46" fill="#fff" opacity=".45"/><path d="M0 270 L170 130 L300 '
    '230 L380 170 L480 250 L480 270 Z" fill="#fff" opacity=".35"/></svg>'
)
WATCH = """
window.__fired = [];
window.alert = window.confirm = window.prompt = (m) => { window.__fired.push(String(m)); };
document.addEventListener("securitypolicyviolation",
    (e) => window.__fired.push("csp:" + e.violatedDirective + ":" + e.blockedURI));
"""


@dataclass
class Site:
    server: ServerProcess
    ops: int
    dev: int
    xss: int
    history: int
    helper_token: str
    history_token: str
    states: dict[str, Any] = field(default_factory=dict)
    robot: dict[str, str] = field(default_factory=dict)


def _api(site_url: str) -> httpx.Client:
    return httpx.Client(base_url=site_url, headers=ADMIN, timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    server = ServerProcess(
        env={"GONG_LOGIN_ATTEMPTS": "50"}, data_dir=tmp_path_factory.mktemp("browser")
    )
    server.start()
    try:
        with _api(server.url) as api:
            groups = [
                api.post("/api/groups", json={"name": n}).json()["id"]
                for n in ("ops", "dev", "xss", "history")
            ]
            ops, dev, xss, history = groups
            for group in groups:
                api.post(
                    f"/api/groups/{group}/members",
                    json={"name": "张三", "mobile": "13800000001", "userId": "zhangsan"},
                )
            api.post(f"/api/groups/{ops}/members", json={"name": "李四", "mobile": "13800000002"})
            unlimited = {"keywords": ["CI"], "rate_limit": {"limit": 0}}
            helper = api.post(f"/api/groups/{xss}/robots", json={"name": "Fuzz", **unlimited})
            older = api.post(f"/api/groups/{history}/robots", json={"name": "Log", **unlimited})
        env = {"GONG_DATA_DIR": str(server.data_dir)}
        gong_cli(
            ["user", "create", "root", "--admin", "--password-stdin"],
            env,
            input=PASSWORDS["root"] + "\n",
        )
        members = [arg for g in groups for arg in ("--member", f"{g}:13800000001")]
        gong_cli(
            ["user", "create", "zhang", "--password-stdin", *members],
            env,
            input=PASSWORDS["zhang"] + "\n",
        )
        yield Site(
            server,
            ops,
            dev,
            xss,
            history,
            helper.json()["access_token"],
            older.json()["access_token"],
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(site: Site, chromium: Browser) -> Browser:
    """The package's Chromium, once this module's server is up."""
    return chromium


def _context(
    browser: Browser, site: Site, user: str | None, width: int = 1280, height: int = 800
) -> BrowserContext:
    """A browser context (signed in as ``user`` once per module, then reusing the session)."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        base_url=site.server.url,
        storage_state=site.states.get(user) if user else None,
        locale="en-US",
        timezone_id="Asia/Shanghai",
    )
    context.route(
        re.compile(r"^https?://img\.example/"),
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=PICTURE),
    )
    context.add_init_script(WATCH)
    if user and user not in site.states:
        page = context.new_page()
        _sign_in(page, user)
        site.states[user] = context.storage_state()
        page.close()
    return context


def _sign_in(page: Page, user: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def _pictures_ready(page: Page) -> None:
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("body[data-live='1']")  # the live feed is connected


def _fired(page: Page) -> list[str]:
    return list(page.evaluate("window.__fired"))


@pytest.fixture(scope="module")
def robot(browser: Browser, site: Site) -> dict[str, str]:
    """A robot created from the UI by the admin: name, keyword, signing and an IP range."""
    context = _context(browser, site, "root")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.server.url)
    page = context.new_page()
    page.goto(f"/groups/{site.ops}/settings")
    page.click("#add-robot")
    page.wait_for_url(re.compile(r"/robots/new$"))
    assert page.locator("select[name=kind] option").count() == len(RobotKind)
    page.fill("#robot-form input[name=name]", "CI")
    page.fill("#robot-form textarea[name=keywords]", "CI\n构建")
    assert page.is_checked("#robot-form input[name=signing]")  # signing is on by default
    page.fill("#robot-form textarea[name=ip_allow]", "127.0.0.0/8")
    page.click("#robot-form button[type=submit]")
    page.wait_for_url(re.compile(r"/robots/\d+\?done=created$"))
    webhook = page.input_value("#webhook")
    secret = page.input_value("#secret")
    assert re.fullmatch(
        re.escape(site.server.url) + r"/robot/send\?access_token=[0-9a-f]{64}", webhook
    )
    assert re.fullmatch(r"SEC[0-9a-f]{64}", secret)
    assert "timestamp=" in page.input_value("#curl") and "CI Hello from Gong" in page.input_value(
        "#curl"
    )
    page.click("button[data-copy=webhook]")
    page.wait_for_function(
        "() => document.querySelector('button[data-copy=webhook]').textContent === 'Copied'"
    )
    assert page.evaluate("navigator.clipboard.readText()") == webhook
    robot_id = page.url.split("/")[4].split("?")[0]
    context.close()
    site.robot.update(webhook=webhook, secret=secret, id=robot_id)
    return site.robot


def _post(site: Site, robot: dict[str, str], body: dict[str, Any]) -> None:
    token = robot["webhook"].split("access_token=")[1]
    url = signed_url(site.server.url, token, robot["secret"], now_ms())
    answer = httpx.post(url, json=body, timeout=10)
    assert answer.text == OK, (body, answer.text)


def _post_plain(site: Site, token: str, body: dict[str, Any]) -> None:
    answer = httpx.post(f"{site.server.url}/robot/send?access_token={token}", json=body)
    assert answer.text == OK, (body, answer.text)


WRAPPED = (
    "dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com%2Frelease&pc_slide=false"
)
FIVE: list[dict[str, Any]] = [
    {
        "msgtype": "text",
        "text": {
            "content": "CI 构建失败 @13800000001，请看 https://ci.example.com/builds/42 ，cc @13912348000"
        },
        "at": {"atMobiles": ["13800000001", "13912348000"]},
    },
    {
        "msgtype": "link",
        "link": {
            "title": "CI · Release 2.4 is out",
            "text": "Faster builds, a new dashboard and many fixes. Read the notes to see what changed "
            "in every component, and how to upgrade a running installation without downtime.",
            "messageUrl": WRAPPED,
            "picUrl": "https://img.example/release.png",
        },
    },
    {
        "msgtype": "markdown",
        "markdown": {
            "title": "CI 杭州天气",
            "text": "#### 杭州天气 @13800000001\n> 9度，西北风1级，空气良89，相对湿度73%\n\n"
            "**今天** *多云*，<font color=#fa541c>注意降温</font>\n"
            "1. 上午 12°\n2. 下午 15°\n\n- 风力 1 级\n- 湿度 73%\n\n"
            f"[详细预报]({WRAPPED})\n![](https://img.example/weather.png)",
        },
        "at": {"atMobiles": ["13800000001"]},
    },
    {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "CI 乔布斯 20 年前想打造的苹果咖啡厅",
            "text": "### 乔布斯 20 年前想打造的苹果咖啡厅\n"
            "Apple Store 的设计正从原来满满的科技感走向生活化",
            "btnOrientation": "0",
            "singleTitle": "阅读全文",
            "singleURL": "https://www.dingtalk.com/",
        },
    },
    {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "CI deploy web-1.2.3?",
            "text": "**web-1.2.3** passed every check.\n\nDeploy it?",
            "btnOrientation": 1,
            "hideAvatar": "1",
            "btns": [
                {"title": "Approve", "actionURL": "https://deploy.example/ok"},
                {"title": "Reject", "actionURL": "https://deploy.example/no"},
            ],
        },
    },
    {
        "msgtype": "feedCard",
        "feedCard": {
            "links": [
                {
                    "title": "CI 时代的火车向前开",
                    "messageURL": "https://www.dingtalk.com/",
                    "picURL": "https://img.example/train.png",
                },
                {
                    "title": "钉钉 7.0 发布",
                    "messageURL": WRAPPED,
                    "picURL": "https://img.example/7.png",
                },
                {
                    "title": "Gong 0.1 released",
                    "messageURL": "https://gong.example/",
                    "picURL": "https://img.example/gong.png",
                },
            ]
        },
    },
]


def _articles(page: Page, msgtype: str) -> Any:
    return page.locator(f"#message-list article[data-msgtype={msgtype}]")


def test_robot_created_from_the_ui(robot: dict[str, str]) -> None:
    assert robot["id"].isdigit()


def test_every_message_type_is_drawn_as_dingtalk_does(
    browser: Browser, site: Site, robot: dict[str, str]
) -> None:
    for body in FIVE:
        _post(site, robot, body)
    context = _context(browser, site, "zhang", height=1700)  # tall enough to show them all
    page = context.new_page()
    _ready(page, f"/groups/{site.ops}")
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    assert page.locator("#message-list .msg").count() == len(FIVE)
    for article in page.locator("#message-list article").all():
        assert article.get_attribute("data-message-id", timeout=1000)
        assert article.locator(".sender").inner_text() == "CI"
    # Avatar and name on each message (the avatar is the default robot picture, loaded).
    avatars = page.locator("#message-list img.avatar")
    assert avatars.count() == len(FIVE) - 1  # one card hides it (hideAvatar 1)
    assert all(a.evaluate("(i) => i.naturalWidth > 0") for a in avatars.all())
    assert page.locator(".day-separator").inner_text() == "Today"

    text = _articles(page, "text")
    assert text.locator(".bubble-text .at").inner_text() == "@张三"  # resolved and highlighted
    assert text.locator(".at-masked").inner_text() == "@139****8000"  # not a member: masked
    assert text.locator("a").get_attribute("href") == "https://ci.example.com/builds/42"
    assert "mentions-me" in (text.get_attribute("class") or "")

    link = _articles(page, "link").locator("a.card-link")
    assert link.get_attribute("href") == "https://example.com/release"  # dingtalk:// unwrapped
    assert link.get_attribute("target") == "_blank"
    assert link.locator(".link-title").inner_text() == "CI · Release 2.4 is out"
    clamp = link.locator(".link-text").evaluate("(e) => getComputedStyle(e).webkitLineClamp")
    assert clamp == "3"
    assert link.locator("img.link-pic").evaluate("(i) => i.naturalWidth") == 480

    md = _articles(page, "markdown").locator(".card-markdown")
    assert md.locator("h4").inner_text() == "杭州天气 @13800000001"
    assert md.locator("blockquote p").count() == 1
    assert md.locator("strong").inner_text() == "今天"
    assert md.locator("em").inner_text() == "多云"
    assert md.locator("font").get_attribute("color") == "#fa541c"
    assert md.locator("ol > li").count() == 2 and md.locator("ul > li").count() == 2
    assert md.locator("a").get_attribute("href") == "https://example.com/release"
    assert md.locator("img").get_attribute("src") == "https://img.example/weather.png"
    assert md.locator(".at").count() == 0  # markdown notifies without highlighting

    [single, double] = _articles(page, "actionCard").all()
    assert single.locator(".buttons-vertical a.card-button").count() == 1
    assert single.locator("a.card-button").get_attribute("href") == "https://www.dingtalk.com/"
    assert single.locator(".md h3").count() == 1
    assert single.locator(".avatar").count() == 1
    assert double.locator(".avatar").count() == 0  # hideAvatar 1
    buttons = double.locator(".buttons-horizontal a.card-button")
    assert [b.inner_text() for b in buttons.all()] == ["Approve", "Reject"]
    first, second = (b.bounding_box() for b in buttons.all())
    assert first and second and first["y"] == second["y"] and first["x"] < second["x"]

    feed = _articles(page, "feedCard").locator("li.feed-item")
    assert feed.count() == 3
    assert [f.locator(".feed-title").inner_text() for f in feed.all()] == [
        "CI 时代的火车向前开",
        "钉钉 7.0 发布",
        "Gong 0.1 released",
    ]
    assert feed.nth(1).locator("a").get_attribute("href") == "https://example.com/release"
    assert all(
        f.locator("img.feed-pic").evaluate("(i) => i.naturalWidth") == 480 for f in feed.all()
    )
    # The list shows the newest message's title, as DingTalk does for a feedCard.
    row = page.locator(f'.conversation[data-group-id="{site.ops}"]')
    assert row.locator(".preview").inner_text() == "CI: CI 时代的火车向前开"
    assert _fired(page) == []
    shoot_both(page, "conversation-desktop", ready=_pictures_ready)
    context.close()

    phone = _context(browser, site, "zhang", width=375, height=812)
    page = phone.new_page()
    _ready(page, "/")
    assert page.locator(".sidebar").is_visible() and not page.locator(".main").is_visible()
    page.click(f'.conversation[data-group-id="{site.ops}"] a')
    page.wait_for_url(re.compile(rf"/groups/{site.ops}$"))
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    assert not page.locator(".sidebar").is_visible()
    assert page.locator("#chat").is_visible() and page.locator("a.back").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing overflows
    assert page.locator("#composer-text").is_visible()
    shoot_both(page, "conversation-phone", ready=_pictures_ready)
    speak_english(page)
    page.click("a.back")
    page.wait_for_url(re.compile(r"/$"))
    phone.close()


def test_live_messages_unread_and_at_you(browser: Browser, site: Site) -> None:
    context = _context(browser, site, "zhang")
    page = context.new_page()
    _ready(page, f"/groups/{site.xss}")
    before = page.locator("#message-list .msg").count()
    began = time.monotonic()
    _post_plain(site, site.helper_token, {"msgtype": "text", "text": {"content": "CI live one"}})
    page.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {before + 1}",
        timeout=2000,
    )
    assert time.monotonic() - began < 2
    assert page.locator("#message-list .msg").last.locator(".bubble-text").inner_text() == (
        "CI live one"
    )

    # A message in another group mentions me: "@ you" and the unread count, live.
    history_row = page.locator(f'.conversation[data-group-id="{site.history}"]')
    assert history_row.locator(".at-you").is_hidden()
    _post_plain(
        site,
        site.history_token,
        {"msgtype": "text", "text": {"content": "CI @zhangsan"}, "at": {"atUserIds": ["zhangsan"]}},
    )
    history_row.locator(".at-you").wait_for(state="visible", timeout=2000)
    assert history_row.locator(".unread-badge").inner_text() == "1"
    assert history_row.locator(".preview").inner_text() == "Log: CI @张三"
    # The list moved the group to the top.
    assert page.locator(".conversation").first.get_attribute("data-group-id") == str(site.history)

    # Muted (do not disturb): the count goes quiet, "@ you" still shows, live and after a reload.
    history_row.locator("a").click()  # reading the group clears its mark
    page.wait_for_url(re.compile(rf"/groups/{site.history}$"))
    page.goto(f"/groups/{site.history}/settings")
    page.click("form[action$='/mute'] button")
    _ready(page, f"/groups/{site.xss}")
    row = page.locator(f'.conversation[data-group-id="{site.history}"]')
    assert "muted" in (row.get_attribute("class") or "")
    assert row.locator(".at-you").is_hidden()
    _post_plain(
        site,
        site.history_token,
        {"msgtype": "text", "text": {"content": "CI all!"}, "at": {"isAtAll": True}},
    )
    row.locator(".at-you").wait_for(state="visible", timeout=2000)
    page.reload()
    row = page.locator(f'.conversation[data-group-id="{site.history}"]')
    assert row.locator(".at-you").is_visible()
    assert row.locator(".unread-badge").evaluate("(e) => getComputedStyle(e).backgroundColor") == (
        "rgb(228, 230, 234)"
    )  # grey: muted
    assert _fired(page) == []
    context.close()


XSS: list[dict[str, Any]] = [
    {
        "msgtype": "text",
        "text": {
            "content": "CI <script>window.__pwned=1;alert('text')</script>"
            "<img src=x onerror=\"alert('img')\">"
        },
    },
    {
        "msgtype": "markdown",
        "markdown": {
            "title": "CI <img src=x onerror=alert('title')>",
            "text": (
                "CI <script>alert('md')</script>\n\n<img src=x onerror=alert('md-img')>\n\n"
                "[click](javascript:alert('md-link'))\n\n[data](data:text/html,<script>alert(1)</script>)\n\n"
                "![x](data:image/svg+xml,<svg onload=alert('svg')>)\n\n"
                "<a href=\"javascript:alert('a')\">a</a> <svg><script>alert('svg2')</script></svg>\n\n"
                '<font color="red" onmouseover="alert(\'font\')">hover</font>\n\n'
                "[x](dingtalk://dingtalkclient/page/link?url=javascript%3Aalert('wrapped'))\n\n"
                "<iframe src=\"javascript:alert('iframe')\"></iframe> **broken *markdown [x]("
            ),
        },
    },
    {
        "msgtype": "link",
        "link": {
            "title": "CI <b onmouseover=alert('b')>t</b>",
            "text": "t",
            "messageUrl": "javascript:alert('link')",
            "picUrl": "javascript:alert('pic')",
        },
    },
    {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "CI x",
            "text": "<style>body{display:none}</style>x",
            "btns": [
                {"title": "<img src=x onerror=alert('btn')>", "actionURL": "javascript:alert(1)"},
                {"title": "data", "actionURL": "data:text/html,<script>alert(2)</script>"},
            ],
        },
    },
    {
        "msgtype": "feedCard",
        "feedCard": {
            "links": [
                {
                    "title": "CI \"><script>alert('feed')</script>",
                    "messageURL": "vbscript:msgbox(1)",
                    "picURL": "data:image/png;base64,iVBORw0KGgo=",
                }
            ]
        },
    },
]


def _inert(page: Page) -> None:
    page.wait_for_timeout(300)  # let any injected handler run, if there were one
    assert _fired(page) == []
    assert page.evaluate("window.__pwned") is None
    found = page.evaluate("""() => {
        const list = document.getElementById('message-list');
        const bad = [];
        for (const el of list.querySelectorAll('*')) {
            for (const a of el.attributes) {
                if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
                if (/^(href|src)$/.test(a.name) && !/^(https?:|dingtalk:|\\/)/i.test(a.value))
                    bad.push(el.tagName + ' ' + a.name + '=' + a.value);
            }
            if (/^(SCRIPT|IFRAME|SVG|STYLE|OBJECT|EMBED)$/i.test(el.tagName)) bad.push(el.tagName);
        }
        return bad;
    }""")
    assert found == []


def test_hostile_messages_fire_no_script(browser: Browser, site: Site) -> None:
    for body in XSS:
        _post_plain(site, site.helper_token, body)
    context = _context(browser, site, "zhang")
    page = context.new_page()
    _ready(page, f"/groups/{site.xss}")
    for target in (
        "article[data-msgtype=markdown] font",
        "article[data-msgtype=link] .link-title",
        "article[data-msgtype=actionCard] .card-button",
    ):
        page.locator(target).first.hover()
    _inert(page)
    text = page.locator("#message-list article[data-msgtype=text]").filter(has_text="<script>")
    assert "<script>window.__pwned=1;alert('text')</script>" in text.inner_text()  # shown as text
    md = page.locator("article[data-msgtype=markdown] .card-markdown")
    assert "[click](javascript:alert('md-link'))" in md.inner_text()
    assert page.locator("article[data-msgtype=link] a").count() == 0  # no link, no picture
    assert page.locator("article[data-msgtype=link] img.link-pic").count() == 0
    # The same payloads arriving live go through the same rendering.
    count = page.locator("#message-list .msg").count()
    for body in XSS:
        _post_plain(site, site.helper_token, body)
    page.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {count + len(XSS)}"
    )
    page.locator("#message-list .msg").last.hover()
    _inert(page)
    context.close()


def test_scroll_back_through_history(browser: Browser, site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as client:
        for i in range(1, 71):
            answer = client.post(
                f"/robot/send?access_token={site.history_token}",
                json={"msgtype": "text", "text": {"content": f"CI line {i}"}},
            )
            assert answer.text == OK
    with _api(site.server.url) as api:
        stored = api.get(f"/api/groups/{site.history}/messages?limit=200").json()["messages"]
    total = len(stored)
    assert 70 <= total < 90
    context = _context(browser, site, "zhang")
    page = context.new_page()
    _ready(page, f"/groups/{site.history}")
    messages = page.locator("#message-list .msg")
    assert messages.count() == 30
    assert messages.last.inner_text().endswith("CI line 70")
    assert page.locator("#history-start").is_hidden()
    for expected in (60, total):
        page.locator("#messages").evaluate("(e) => { e.scrollTop = 0; }")
        page.wait_for_function(
            f"() => document.querySelectorAll('#message-list .msg').length === {expected}"
        )
    page.locator("#history-start").wait_for(state="visible")
    ids = [int(x) for x in messages.evaluate_all("(all) => all.map((m) => m.dataset.messageId)")]
    assert ids == sorted(m["id"] for m in stored)
    assert messages.nth(total - 70).inner_text().endswith("CI line 1")
    context.close()


def test_composer_with_at_completion(browser: Browser, site: Site) -> None:
    context = _context(browser, site, "zhang")
    page = context.new_page()
    _ready(page, f"/groups/{site.ops}")
    box = page.locator("#composer-text")
    box.click()
    box.type("please check @李")
    options = page.locator("#mention-menu .mention-option")
    page.wait_for_function(
        "() => document.querySelectorAll('#mention-menu .mention-option').length === 1"
    )
    assert options.first.inner_text() == "李四\n13800000002"
    box.press("Enter")  # picks the suggestion
    assert box.input_value() == "please check @李四 "
    box.type("and @C")
    page.locator("#mention-menu .mention-option").filter(has_text="CI").click()
    box.type("rebuild")
    count = page.locator("#message-list .msg").count()
    box.press("Enter")  # sends
    page.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {count + 1}"
    )
    mine = page.locator("#message-list .msg").last
    assert "mine" in (mine.get_attribute("class") or "")
    assert mine.locator(".at").inner_text() == "@李四"
    assert mine.locator(".bubble-text").inner_text() == "please check @李四 and @CI rebuild"
    page.wait_for_function("() => document.getElementById('composer-text').value === ''")
    with _api(site.server.url) as api:
        stored = api.get(f"/api/groups/{site.ops}/messages?limit=1").json()["messages"][0]
    assert stored["sender"]["name"] == "张三" and stored["sender"]["type"] == "user"
    assert stored["content"] == {
        "msgtype": "text",
        "text": {"content": "please check @13800000002 and @CI rebuild"},
        "at": {"atMobiles": ["13800000002"], "atUserIds": [], "isAtAll": False},
    }
    page.check("#composer-markdown")
    box.type("**bold** move")
    box.press("Enter")
    page.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {count + 2}"
    )
    assert page.locator("#message-list .msg").last.locator(
        ".card-markdown strong"
    ).inner_text() == ("bold")
    context.close()


def test_refused_calls_are_explained(browser: Browser, site: Site, robot: dict[str, str]) -> None:
    token = robot["webhook"].split("access_token=")[1]
    url = signed_url(site.server.url, token, robot["secret"], now_ms())
    refused = httpx.post(url, json={"msgtype": "text", "text": {"content": "no keyword here"}})
    assert json.loads(refused.text)["errcode"] == 310000
    context = _context(browser, site, "root")
    page = context.new_page()
    for _ in range(20):  # refusals are recorded in the background
        page.goto(f"/robots/{robot['id']}")
        if page.locator("table.refusals tr[data-reason=keyword]").count():
            break
        page.wait_for_timeout(100)
    reason = page.locator("table.refusals tr[data-reason=keyword] .reason").first
    assert reason.evaluate("(e) => e.firstChild.textContent") == (
        "the message contains none of the robot's keywords"
    )
    assert (
        reason.locator(".refusal-hint")
        .inner_text()
        .startswith("the message holds none of the robot's keywords: CI")
    )
    page.click("#disable")
    page.wait_for_url(re.compile(r"done=disabled$"))
    assert page.locator("#robot-state").inner_text() == "disabled"
    page.click("#enable")
    page.wait_for_url(re.compile(r"done=enabled$"))
    old = page.input_value("#webhook")
    page.click("#regenerate-token")
    page.click("#confirm-dialog[open] .confirm-yes")  # it names what breaks first
    page.wait_for_url(re.compile(r"done=token$"))
    assert page.input_value("#webhook") != old
    assert (
        json.loads(httpx.post(old, json={"msgtype": "text", "text": {"content": "CI"}}).text)[
            "errcode"
        ]
        == 300005
    )
    assert _fired(page) == []
    context.close()
