"""One Chromium for every browser test module (launching it costs a second or two)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.helpers import CHROMIUM, need


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


# Two Gong instances sharing one PostgreSQL and one Redis (tests/browser/test_instances.py).
from tests.reliability.conftest import shared_env  # noqa: E402, F401
