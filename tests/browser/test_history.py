"""Search, recall and retention in a real browser (Debian's Chromium, driven by Playwright)
against a real server.

Search over every conversation and inside one (``连接池`` finds ``数据库连接池耗尽``, the words
marked; a member never sees another group's messages), page back through older results, jump
from a result to the message in its conversation (in context, marked); recall a message live
(the other reader's page shows the placeholder without reloading; the API says recalled); a
reader who did not post it gets no "Recall"; retention saved in the group's settings.
Screenshots go to ``docs/screenshots/search.*.png`` and ``recall.*.png``, in Chinese and English (or to
``GONG_SCREENSHOTS_DIR``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.pages import shoot_both, sign_in
from tests.helpers import ADMIN, CHROMIUM, ServerProcess, gong_cli, need, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORDS = {"root": "history root password 1", "zhang": "zhang password 1", "li": "li password 1"}
OK = '{"errcode":0,"errmsg":"ok"}'
WATCH = """
window.__fired = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__fired.push("csp:" + e.violatedDirective + ":" + e.blockedURI));
"""
#: Messages posted to "ops" before the one search finds.
BEFORE = 5
#: Messages posted to "ops" after the one search finds, so that it is past the first page.
FILLER = 45
#: Messages about the pool in "ops" besides the first: more than a page of results (20).
POOL = 24


@dataclass
class Site:
    server: ServerProcess
    api: httpx.Client
    ops: int
    secret: int
    ops_token: str
    secret_token: str
    states: dict[str, Any] = field(default_factory=dict)
    #: The id of the message "数据库连接池耗尽" in ops.
    exhausted: int = 0

    def post(self, token: str, text: str) -> None:
        answer = httpx.post(
            f"{self.server.url}/robot/send?access_token={token}",
            json={"msgtype": "text", "text": {"content": text}},
        )
        assert answer.text == OK, answer.text

    def messages(self, group_id: int, limit: int = 100) -> list[dict[str, Any]]:
        answer = self.api.get(f"/api/groups/{group_id}/messages?limit={limit}")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["messages"]
        return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    env = {"GONG_LOGIN_ATTEMPTS": "50"}
    data = tmp_path_factory.mktemp("history")
    with (
        running_server(data, env, password=PASSWORDS["root"]) as server,
        httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as api,
    ):
        ops = int(api.post("/api/groups", json={"name": "运维 ops"}).json()["id"])
        secret = int(api.post("/api/groups", json={"name": "secret"}).json()["id"])
        api.post(f"/api/groups/{ops}/members", json={"name": "张三", "mobile": "13800000001"})
        api.post(f"/api/groups/{ops}/members", json={"name": "李四", "mobile": "13800000002"})
        spec = {"ip_allow": ["127.0.0.1"], "rate_limit": {"limit": 0}}
        tokens = [
            api.post(f"/api/groups/{g}/robots", json={"name": "Monitor", **spec}).json()[
                "access_token"
            ]
            for g in (ops, secret)
        ]
        cli_env = {"GONG_DATA_DIR": str(server.data_dir)}
        for user, mobile in (("zhang", "13800000001"), ("li", "13800000002")):
            gong_cli(
                ["user", "create", user, "--password-stdin", "--member", f"{ops}:{mobile}"],
                cli_env,
                input=PASSWORDS[user] + "\n",
            )
        site = Site(server, api, ops, secret, tokens[0], tokens[1])
        for n in range(BEFORE):
            site.post(site.ops_token, f"早班交接 {n + 1}")
        site.post(site.ops_token, "告警：db-1 数据库连接池耗尽，活跃连接 200/200")
        site.exhausted = int(site.messages(ops, 1)[0]["id"])
        for n in range(FILLER):
            site.post(site.ops_token, f"部署进度 {n + 1}/{FILLER}")
        for n in range(POOL):
            site.post(site.ops_token, f"连接池巡检 #{n + 1}: 正常")
        site.post(site.secret_token, "secret: 连接池 password rotated")
        yield site


@pytest.fixture(scope="module")
def browser(site: Site, chromium: Browser) -> Browser:
    return chromium


def _context(browser: Browser, site: Site, user: str) -> BrowserContext:
    """A context signed in as ``user`` (once per module, then reusing the session)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 820},
        base_url=site.server.url,
        storage_state=site.states.get(user),
        locale="en-US",
        timezone_id="Asia/Shanghai",
    )
    context.add_init_script(WATCH)
    if user not in site.states:
        page = context.new_page()
        sign_in(page, PASSWORDS[user], user)
        site.states[user] = context.storage_state()
        page.close()
    return context


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def _live(page: Page, url: str) -> None:
    _ready(page, url)
    page.wait_for_selector("body[data-live='1']")


def _shot(page: Page, name: str) -> None:
    shoot_both(page, name)


def _fired(page: Page) -> list[str]:
    fired: list[str] = page.evaluate("window.__fired")
    return fired


def _in_view(page: Page, message_id: int) -> bool:
    """Whether the message is wholly inside the scrolled list's view."""
    inside: bool = page.evaluate(
        """(id) => {
            const box = document.getElementById("m-" + id).getBoundingClientRect();
            const view = document.getElementById("messages").getBoundingClientRect();
            return box.top >= view.top && box.bottom <= view.bottom;
        }""",
        message_id,
    )
    return inside


def _hit_ids(page: Page) -> list[int]:
    ids: list[str] = page.locator(".search-hit").evaluate_all(
        "(all) => all.map((h) => h.dataset.messageId)"
    )
    return [int(i) for i in ids]


# -- search --------------------------------------------------------------------------------------


def test_search_all_conversations_marks_the_words_and_keeps_groups_apart(
    browser: Browser, site: Site
) -> None:
    context = _context(browser, site, "zhang")
    page = context.new_page()
    _ready(page, "/")
    box = page.locator(".sidebar-search input[name=q]")
    box.fill("连接池")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("h1").inner_text() == "Search all conversations"
    hits = page.locator(".search-hit")
    assert hits.count() == 20  # a page
    assert page.locator(".search-hit mark").first.inner_text() == "连接池"
    assert all(
        group == "运维 ops" for group in page.locator(".search-hit-group").all_inner_texts()
    )  # never the group zhang is not in
    assert "secret" not in page.locator("#search-results").inner_text()
    assert page.locator("#search-results time").first.inner_text() != ""

    # Older results: the rest, none twice, the oldest being the exhausted pool.
    first = _hit_ids(page)
    assert first == sorted(first, reverse=True)
    page.click("#search-older")
    page.wait_for_url(re.compile(r"before=\d+"))
    rest = _hit_ids(page)
    assert len(rest) == POOL + 1 - 20
    assert not set(first) & set(rest)
    assert rest[-1] == site.exhausted
    assert page.locator("#search-older").count() == 0
    last = page.locator(f".search-hit[data-message-id='{site.exhausted}']")
    assert last.locator(".search-hit-snippet").inner_text() == (
        "告警：db-1 数据库连接池耗尽，活跃连接 200/200"
    )
    assert last.locator("mark").inner_text() == "连接池"
    page.click("#search-newest")
    page.wait_for_url(re.compile(r"/search\?q=[^&]+$"))
    assert _hit_ids(page) == first

    # Nothing, and a query that breaks a rule: said in the page.
    _ready(page, "/search?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D")  # 不存在的词
    assert page.locator("#search-empty").inner_text() == "No messages match “不存在的词”."
    answer = page.goto("/search?q=x")
    assert answer is not None and answer.status == 422
    assert page.locator("#search-error").inner_text() == "search for at least 2 characters"
    answer = page.goto("/search?q=ok&before=soon")
    assert answer is not None and answer.status == 422
    assert "before must be an id" in page.locator("#search-error").inner_text()
    # A group zhang is not in is not there for zhang.
    answer = page.goto(f"/search?q=%E8%BF%9E%E6%8E%A5%E6%B1%A0&group={site.secret}")
    assert answer is not None and answer.status == 404
    assert _fired(page) == []
    context.close()

    # An admin sees every group; the screenshot shows both.
    context = _context(browser, site, "root")
    page = context.new_page()
    _ready(page, "/search?q=%E8%BF%9E%E6%8E%A5%E6%B1%A0")  # 连接池
    groups = page.locator(".search-hit-group").all_inner_texts()
    assert groups[0] == "secret" and set(groups) == {"secret", "运维 ops"}
    _shot(page, "search")
    context.close()


def test_search_in_a_conversation_and_jump_to_the_message(browser: Browser, site: Site) -> None:
    context = _context(browser, site, "li")
    page = context.new_page()
    _ready(page, f"/groups/{site.ops}")
    assert page.locator(f"#m-{site.exhausted}").count() == 0  # past the first page
    box = page.locator(".head-search input[name=q]")
    box.fill("数据库连接池")
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/search\?group={site.ops}&q="))
    assert page.locator("h1").inner_text() == "Search in 运维 ops"
    assert _hit_ids(page) == [site.exhausted]
    assert page.locator(".search-hit mark").inner_text() == "数据库连接池"

    page.click(".search-hit-link")
    page.wait_for_url(re.compile(rf"/groups/{site.ops}\?at={site.exhausted}#m-{site.exhausted}$"))
    page.wait_for_selector("body[data-ready='1']")
    target = page.locator(f"#m-{site.exhausted}")
    assert "msg-target" in (target.get_attribute("class") or "")
    assert target.is_visible()
    page.wait_for_load_state("load")
    assert _in_view(page, site.exhausted)  # scrolled to it, with what came before it in sight
    assert _in_view(page, site.exhausted - 1)
    # In context: the messages before it and after it, and a way to the newest.
    ids = [
        int(i)
        for i in page.locator("#message-list .msg").evaluate_all(
            "(all) => all.map((m) => m.dataset.messageId)"
        )
    ]
    assert ids == sorted(ids)
    assert ids.index(site.exhausted) == BEFORE  # the messages before it
    assert len(ids) == BEFORE + 1 + 30  # and a page of newer ones
    assert page.locator("#history-newer a").get_attribute("href") == f"/groups/{site.ops}"
    assert _fired(page) == []
    context.close()


# -- recall --------------------------------------------------------------------------------------


def _send(page: Page, text: str) -> int:
    """Post ``text`` with the composer; the id of the message once it is shown."""
    count = page.locator("#message-list .msg").count()
    page.locator("#composer-text").fill(text)
    page.locator("#composer-text").press("Enter")
    page.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {count + 1}"
    )
    # The answer to the post may come after the message shows live: wait for it too.
    page.wait_for_function(
        "() => !document.querySelector('#composer button[type=submit]').disabled"
        " && document.querySelector('#composer-text').value === ''"
    )
    return int(page.locator("#message-list .msg").last.get_attribute("data-message-id") or 0)


def _recall(page: Page, message_id: int) -> None:
    """Click the message's Recall and confirm in the dialog."""
    page.click(f"#m-{message_id} .msg-recall")
    page.click("#confirm-dialog[open] .confirm-yes")


def test_recall_live_for_every_reader(browser: Browser, site: Site) -> None:
    author_context = _context(browser, site, "zhang")
    reader_context = _context(browser, site, "li")
    author, reader = author_context.new_page(), reader_context.new_page()
    _live(author, f"/groups/{site.ops}")
    _live(reader, f"/groups/{site.ops}")
    wrong = _send(author, "发错群了：prod 数据库密码是 hunter2")
    kept = _send(author, "请忽略上一条")
    reader.wait_for_selector(f"#m-{kept}")

    # The author may recall what they posted; the other reader may not (no button).
    assert author.locator(f"#m-{wrong} .msg-recall").is_visible()
    assert reader.locator(f"#m-{wrong} .msg-recall").count() == 0
    assert reader.locator(".msg-recall").count() == 0  # robots' and zhang's: none are li's
    # A robot's message: nobody but an admin recalls it.
    assert author.locator("article.msg-robot .msg-recall").count() == 0

    # Recalling asks first (the page's dialog); cancelled, nothing happens.
    author.click(f"#m-{wrong} .msg-recall")
    author.wait_for_selector("#confirm-dialog[open]")
    assert author.inner_text("#confirm-dialog .confirm-title") == "Recall this message?"
    author.click("#confirm-dialog .confirm-cancel")
    assert author.locator(f"#m-{wrong} .bubble-text").is_visible()
    _recall(author, wrong)

    # The other reader's page shows the placeholder in place, without reloading.
    placeholder = f"#m-{wrong}.msg-recalled .bubble-recalled"
    reader.wait_for_selector(placeholder, timeout=15_000)
    author.wait_for_selector(placeholder, timeout=15_000)
    for page in (author, reader):
        message = page.locator(f"#m-{wrong}")
        assert message.locator(".bubble").inner_text() == "Message recalled"
        assert message.locator(".sender").inner_text() == "张三"
        assert message.locator("time").inner_text() != ""
        assert "hunter2" not in page.locator("#message-list").inner_text()
        assert message.locator(".msg-recall").count() == 0
    assert reader.locator(f"#m-{kept} .bubble-text").inner_text() == "请忽略上一条"

    # The API says so, and the content is gone.
    stored = {m["id"]: m for m in site.messages(site.ops, 5)}
    assert stored[wrong]["recalled"] is True
    assert stored[wrong]["recalled_by"] == "zhang"
    assert stored[wrong]["content"] is None
    assert stored[kept]["recalled"] is False

    # After a reload too; the list's line of a recalled last message says so.
    reader.reload()
    reader.wait_for_selector("body[data-ready='1']")
    assert reader.locator(f"#m-{wrong} .bubble").inner_text() == "Message recalled"
    last = _send(author, "再撤回一次")
    reader.wait_for_selector(f"#m-{last}")
    _recall(author, last)
    row = reader.locator(f'.conversation[data-group-id="{site.ops}"] .preview')
    reader.wait_for_function(
        f"""() => document.querySelector('.conversation[data-group-id="{site.ops}"] .preview')
                .textContent === "张三: [Message recalled]" """,
        timeout=15_000,
    )
    reader.reload()
    assert row.inner_text() == "张三: [Message recalled]"

    # Recalling twice is refused with the reason, in place.
    author.evaluate(
        """(id) => {
            const b = document.createElement("button");
            b.type = "button"; b.className = "msg-recall"; b.dataset.recall = String(id);
            b.textContent = "Recall";
            document.querySelector("#m-" + id + " .msg-head").appendChild(b);
        }""",
        last,
    )
    _recall(author, last)
    error = author.locator(f"#m-{last} .msg-recall-error")
    error.wait_for(timeout=15_000)
    assert error.inner_text() == f"Not recalled: message {last} was recalled already"
    error.evaluate("(e) => e.remove()")
    author.locator(f"#m-{last} .msg-recall").evaluate("(e) => e.remove()")
    assert _fired(author) == [] and _fired(reader) == []
    reader_context.close()

    # An admin may recall anything, a robot's message too; the picture shows both.
    admin_context = _context(browser, site, "root")
    admin = admin_context.new_page()
    _live(admin, f"/groups/{site.ops}")
    assert admin.locator(f"#m-{kept} .msg-recall").is_visible()
    assert admin.locator("article.msg-robot .msg-recall").count() > 0
    _shot(author, "recall")
    admin_context.close()
    author_context.close()


# -- retention -----------------------------------------------------------------------------------


def test_retention_is_saved_in_the_group_settings(browser: Browser, site: Site) -> None:
    context = _context(browser, site, "root")
    page = context.new_page()
    _ready(page, f"/groups/{site.secret}/settings")
    assert page.locator("#retention-summary").inner_text() == "Messages are kept forever."
    days = page.locator("input[name=retention_days]")
    count = page.locator("input[name=retention_count]")
    assert days.input_value() == "" and count.input_value() == ""
    days.fill("30")
    count.fill("1000")
    page.click("#group-form button[type=submit]")
    page.wait_for_url(re.compile(r"/settings\?done=1$"))
    assert page.locator(".notice[role=status]").inner_text() == "Saved."
    assert days.input_value() == "30" and count.input_value() == "1000"
    assert page.locator("#retention-summary").inner_text() == (
        "Messages are kept for 30 days and at most the newest 1000 messages; older ones are "
        "deleted."
    )
    group = site.api.get(f"/api/groups/{site.secret}").json()
    assert (group["retention_days"], group["retention_count"]) == (30, 1000)

    # Out of range (past the browser's own check): the rule, in the form, values kept.
    days.evaluate("(e) => e.removeAttribute('max')")
    days.fill("99999")
    page.click("#group-form button[type=submit]")
    error = page.locator(".form-error[role=alert]")
    assert error.inner_text() == (
        "Keep messages for (days): enter a whole number from 0 to 36500 (empty or 0: forever), "
        "not '99999'"
    )
    assert days.input_value() == "99999"
    assert site.api.get(f"/api/groups/{site.secret}").json()["retention_days"] == 30

    # Emptied: forever again.
    days.fill("")
    count.fill("0")
    page.click("#group-form button[type=submit]")
    page.wait_for_url(re.compile(r"/settings\?done=1$"))
    group = site.api.get(f"/api/groups/{site.secret}").json()
    assert (group["retention_days"], group["retention_count"]) == (None, None)
    assert page.locator("#retention-summary").inner_text() == "Messages are kept forever."
    context.close()

    # A member reads how long messages are kept, and has no form to change it.
    context = _context(browser, site, "zhang")
    page = context.new_page()
    _ready(page, f"/groups/{site.ops}/settings")
    assert page.locator("#retention-summary").inner_text() == "Messages are kept forever."
    assert page.locator("input[name=retention_days]").count() == 0
    context.close()
