"""Accessibility: every page of the web app passes axe-core (axe-playwright-python) with no
serious or critical violation, in light and dark, in Chinese and English, with real Chromium
against a real server. Pages are also checked in the states a person brings them to: the
composer's mention menu open, a confirmation dialog open, the account menu open, the template
editor showing its preview.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.polish_site import Site, ready, start_site
from tests.helpers import CHROMIUM, need

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: What fails a page: axe's two worst impacts.
BLOCKING = frozenset({"serious", "critical"})
AXE = Axe()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    site = start_site(tmp_path_factory.mktemp("a11y"))
    try:
        yield site
    finally:
        site.server.stop()


@pytest.fixture(scope="module")
def browser(site: Site, chromium: Browser) -> Browser:
    return chromium


def _violations(page: Page) -> list[str]:
    """The page's serious and critical axe violations, one line each."""
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:5]]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def _open_mention_menu(page: Page) -> None:
    page.locator("#composer-text").focus()
    page.keyboard.type("@")
    page.wait_for_selector("#mention-menu:not([hidden]) [role=option]")


def _open_dialog(page: Page) -> None:
    page.click("#delete-robot")
    page.wait_for_selector("#confirm-dialog[open]")


def _open_menu(page: Page) -> None:
    page.click("details.menu summary")
    page.wait_for_selector("details.menu[open] .menu-items")


def _template_preview(page: Page) -> None:
    page.wait_for_function(
        "() => document.querySelector('#template-preview article.msg')"
        " || document.querySelector('#template-status.error')"
    )


Step = Callable[[Page], None] | None


def _pages(site: Site) -> list[tuple[str, str | None, str, Step]]:
    """Every page: (name, account or None, path, what to do on it before checking)."""
    ops, robots = site.groups["ops"], site.groups["robots"]
    found: list[tuple[str, str | None, str, Step]] = [
        ("login", None, "/login", None),
        ("conversation list", "zhang", "/", None),
        ("conversation", "zhang", f"/groups/{ops}", None),
        ("conversation, mention menu open", "zhang", f"/groups/{ops}", _open_mention_menu),
        ("conversation with alerts", "zhang", f"/groups/{robots}", None),
        ("conversation, as an admin", "root", f"/groups/{ops}", _open_menu),
        ("search", "zhang", "/search?q=CI", None),
        ("search in a group, nothing found", "zhang", f"/search?group={ops}&q=nothing", None),
        ("group settings", "root", f"/groups/{ops}/settings", None),
        ("group settings, as a member", "zhang", f"/groups/{ops}/settings", None),
        ("members", "root", f"/groups/{ops}/members", None),
        ("new group", "root", "/groups/new", None),
        ("new robot", "root", f"/groups/{ops}/robots/new", None),
        ("accounts", "root", "/admin/users", None),
        ("account preferences", "zhang", "/account", None),
        ("error page", "zhang", "/groups/999999", None),
        ("robot, confirmation open", "root", f"/robots/{site.robots['CI']['id']}", _open_dialog),
    ]
    for kind, robot_id in site.kinds.items():
        step = _template_preview if kind == "template" else None
        found.append((f"robot page ({kind})", "root", f"/robots/{robot_id}", step))
    return found


@pytest.mark.parametrize(
    ("scheme", "locale", "lang"),
    [
        ("light", "zh-CN", "zh-CN"),
        ("dark", "zh-CN", "zh-CN"),
        ("light", "en-US", "en"),
        ("dark", "en-US", "en"),
    ],
)
def test_every_page_passes_axe(
    browser: Browser, site: Site, scheme: str, locale: str, lang: str
) -> None:
    pages: dict[str | None, Page] = {}
    contexts: list[Any] = []
    failures: dict[str, list[str]] = {}
    try:
        for name, user, path, step in _pages(site):
            if user not in pages:
                context = site.context(browser, user, locale=locale)
                contexts.append(context)
                pages[user] = context.new_page()
                pages[user].emulate_media(color_scheme=scheme)
            page = pages[user]
            ready(page, path)
            assert page.evaluate("document.documentElement.lang") == lang, name
            expected = "rgb(20, 21, 24)" if scheme == "dark" else "rgb(242, 243, 245)"
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") == expected
            if step is not None:
                step(page)
            found = _violations(page)
            if found:
                failures[name] = found
    finally:
        for context in contexts:
            context.close()
    assert failures == {}
