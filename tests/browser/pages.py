"""What the browser suites share: where screenshots go (each in Chinese and English), and
signing in as the admin user."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Route

#: ``docs/screenshots`` unless ``GONG_SCREENSHOTS_DIR`` says otherwise.
SCREENSHOTS = Path(
    os.environ.get("GONG_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)


def sign_in(page: Page, password: str, username: str = "root") -> None:
    """Sign in through the login form and wait for the home page."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def speak_chinese(page: Page) -> None:
    """Every later request of ``page`` asks for Chinese (``Accept-Language``); the context's
    own routes still see them."""

    def chinese(route: Route) -> None:
        route.fallback(headers={**route.request.headers, "accept-language": "zh-CN,zh;q=0.9"})

    page.route("**/*", chinese)


def speak_english(page: Page) -> None:
    """Undo :func:`speak_chinese`."""
    page.unroute("**/*")


def shoot_both(
    page: Page,
    name: str,
    *,
    ready: Callable[[Page], None] | None = None,
    target: str | None = None,
) -> None:
    """Save ``<name>.en.png`` of the page as it is (the suites read English), then reload it
    asking for Chinese and save ``<name>.zh-CN.png``; the page is left in Chinese.

    ``ready`` waits for the reloaded page (default: the script has run); ``target`` shoots one
    element instead of the viewport."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(language: str) -> None:
        page.evaluate("document.activeElement && document.activeElement.blur()")
        path = str(SCREENSHOTS / f"{name}.{language}.png")
        if target is None:
            page.screenshot(path=path)
        else:
            element = page.locator(target).first
            element.scroll_into_view_if_needed()
            element.screenshot(path=path)

    shoot("en")
    speak_chinese(page)
    page.reload()
    if ready is not None:
        ready(page)
    else:
        page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    shoot("zh-CN")
