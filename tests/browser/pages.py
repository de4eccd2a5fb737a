"""What the browser suites share: where screenshots go, and signing in as the admin user."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page

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
