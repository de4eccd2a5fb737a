"""Two Gong instances sharing PostgreSQL and Redis: a browser on one sees what the other gets."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.helpers import ServerProcess, gong_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_browser_on_instance_a_sees_a_message_posted_to_instance_b(
    tmp_path: Path, shared_env: dict[str, str], chromium: Browser
) -> None:
    env = {**shared_env, "GONG_DATA_DIR": str(tmp_path / "cli")}
    gong_cli(["group", "create", "ops", "--json"], env)
    gong_cli(["member", "add", "1", "--name", "张三", "--mobile", "13800000001", "--json"], env)
    robot = json.loads(
        gong_cli(["robot", "create", "1", "--name", "CI", "--keyword", "CI", "--json"], env).stdout
    )
    gong_cli(
        ["user", "create", "zhang", "--password-stdin", "--member", "1:13800000001"],
        env,
        input="zhang password 1\n",
    )
    a = ServerProcess(env=shared_env, data_dir=tmp_path / "a")
    b = ServerProcess(env=shared_env, data_dir=tmp_path / "b")
    a.start()
    b.start()
    context = chromium.new_context(base_url=a.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "zhang")
        page.fill("input[name=password]", "zhang password 1")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        page.goto("/groups/1")
        page.wait_for_selector("body[data-live='1']")
        sent = time.monotonic()
        answer = httpx.post(
            f"{b.url}/robot/send?access_token={robot['access_token']}",
            json={"msgtype": "text", "text": {"content": "CI: deployed by instance B"}},
        )
        assert answer.json() == {"errcode": 0, "errmsg": "ok"}
        message = page.wait_for_selector(
            ".msg[data-msgtype='text']:has-text('deployed by instance B')", timeout=2_000
        )
        assert message is not None
        assert time.monotonic() - sent < 2.0
        assert message.get_attribute("data-message-id")
    finally:
        context.close()
        a.stop()
        b.stop()
