"""Outgoing robots in a real browser against a real server: @-mention a robot from the composer
(with @-completion) and see its answer arrive live; a failed callback leaves a note that only
the sender sees, live and after a reload."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli
from tests.outgoing.callback_server import Answer, CallbackServer, Received, text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(
    os.environ.get("GONG_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORDS = {"zhang": "zhang password 1", "li": "li password 12"}


@dataclass
class Site:
    server: ServerProcess
    bot: CallbackServer
    group: int
    robots: dict[str, int]
    states: dict[str, Any] = field(default_factory=dict)


def _respond(request: Received) -> Answer:
    if request.path == "/ping":
        words = request.json()["text"]["content"].strip()
        return text("pong" if words == "ping" else f"? {words}")
    return Answer(500)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Browser) -> Iterator[Site]:
    bot = CallbackServer(respond=_respond).start()
    server = ServerProcess(
        env={
            "GONG_OUTGOING_ALLOW_PRIVATE": "1",
            "GONG_OUTGOING_BACKOFF_SECONDS": "0.05",
            "GONG_LOGIN_ATTEMPTS": "50",
        },
        data_dir=tmp_path_factory.mktemp("outgoing-browser"),
    )
    server.start()
    try:
        robots: dict[str, int] = {}
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as api:
            group = api.post("/api/groups", json={"name": "deploys"}).json()["id"]
            for name, mobile in (("张三", "13800000001"), ("李四", "13800000002")):
                api.post(f"/api/groups/{group}/members", json={"name": name, "mobile": mobile})
            for name, path in (("ping-bot", "/ping"), ("broken-bot", "/broken")):
                made = api.post(
                    f"/api/groups/{group}/robots",
                    json={
                        "name": name,
                        "keywords": ["never"],
                        "outgoing": {"url": f"http://127.0.0.1:{bot.port}{path}", "token": "t"},
                    },
                )
                robots[name] = made.json()["id"]
        env = {"GONG_DATA_DIR": str(server.data_dir)}
        for user, mobile in (("zhang", "13800000001"), ("li", "13800000002")):
            gong_cli(
                ["user", "create", user, "--password-stdin", "--member", f"{group}:{mobile}"],
                env,
                input=PASSWORDS[user] + "\n",
            )
        yield Site(server, bot, group, robots)
    finally:
        server.stop()
        bot.stop()


def _page(browser: Browser, site: Site, user: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=site.server.url,
        storage_state=site.states.get(user),
        locale="en-US",
    )
    page = context.new_page()
    if user not in site.states:
        page.goto("/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PASSWORDS[user])
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        site.states[user] = context.storage_state()
    page.goto(f"/groups/{site.group}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("body[data-live='1']")
    return context, page


def _count(page: Page, selector: str) -> int:
    return int(page.locator(selector).count())


def test_mention_a_robot_from_the_composer_and_see_its_answer_live(
    chromium: Browser, site: Site
) -> None:
    context, page = _page(chromium, site, "zhang")
    box = page.locator("#composer-text")
    box.click()
    box.type("@pin")
    page.locator("#mention-menu .mention-option").filter(has_text="ping-bot").click()
    assert box.input_value() == "@ping-bot "
    box.type("ping")
    box.press("Enter")
    answer = page.locator("#message-list .msg-robot .bubble-text", has_text="pong")
    answer.wait_for(timeout=10_000)
    robot_message = page.locator("#message-list .msg").last
    assert robot_message.locator(".sender").inner_text() == "ping-bot"
    assert robot_message.locator(".bubble-text").inner_text() == "pong"
    mine = page.locator("#message-list .msg.mine").last
    assert mine.locator(".bubble-text").inner_text() == "@ping-bot ping"
    (callback,) = [r for r in site.bot.received if r.path == "/ping"]
    assert callback.json()["text"]["content"] == " ping"
    assert callback.json()["senderNick"] == "张三"
    assert callback.headers["token"] == "t"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "outgoing-robot.png"))
    context.close()


def test_a_failed_callback_is_shown_to_the_sender_only(chromium: Browser, site: Site) -> None:
    other_context, other = _page(chromium, site, "li")
    context, page = _page(chromium, site, "zhang")
    before = _count(other, "#message-list .msg")
    box = page.locator("#composer-text")
    box.click()
    box.type("@broken-bot deploy")
    box.press("Escape")
    box.press("Enter")
    note = page.locator("#message-list .msg-private")
    note.wait_for(timeout=10_000)
    assert note.inner_text() == (
        "broken-bot did not answer: HTTP 500 (3 attempts) Only you can see this"
    )
    # The other account got the message live, and nothing else.
    other.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {before + 1}"
    )
    other.wait_for_timeout(500)
    assert _count(other, "#message-list .msg") == before + 1
    assert "did not answer" not in other.locator("#message-list").inner_text()
    other.reload()
    other.wait_for_selector("body[data-ready='1']")
    assert "did not answer" not in other.locator("#message-list").inner_text()
    assert "did not answer" not in other.locator("#conversations").inner_text()
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert _count(page, "#message-list .msg-private") == 1
    context.close()
    other_context.close()
