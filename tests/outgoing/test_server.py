"""Outgoing robots against a real ``gong serve``: the example bot as its own process, answering
now and later through the sessionWebhook; ``gong post`` and ``gong robot create
--outgoing-url`` from the command line, with the answers reaching a browser's live feed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli
from tests.web.webapp import csrf_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORD = "zhang password 1"


@dataclass
class Site:
    server: ServerProcess
    env: dict[str, str]
    group: int
    robot: dict[str, Any]
    bot_url: str


def _start_bot(token: str, secret: str) -> tuple[subprocess.Popen[str], str]:
    bot = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples" / "ping_bot.py"),
            "--port",
            "0",
            "--token",
            token,
            "--secret",
            secret,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert bot.stdout is not None
    line = bot.stdout.readline()
    found = re.search(r"listening on (http://127\.0\.0\.1:\d+/)", line)
    assert found, line
    return bot, found.group(1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = ServerProcess(
        env={"GONG_OUTGOING_ALLOW_PRIVATE": "1"}, data_dir=tmp_path_factory.mktemp("outgoing")
    )
    server.start()
    bot: subprocess.Popen[str] | None = None
    try:
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as api:
            group = api.post("/api/groups", json={"name": "ops"}).json()["id"]
            api.post(
                f"/api/groups/{group}/members",
                json={"name": "张三", "mobile": "13800000001", "userId": "zhangsan"},
            )
            robot = api.post(
                f"/api/groups/{group}/robots",
                json={"name": "ping-bot", "signing": True, "rate_limit": {"limit": 0}},
            ).json()
            bot, bot_url = _start_bot("bot-token", robot["secret"])
            robot = api.patch(
                f"/api/robots/{robot['id']}",
                json={"outgoing": {"url": bot_url, "token": "bot-token"}},
            ).json()
        env = {
            "GONG_DATA_DIR": str(server.data_dir),
            "GONG_PORT": str(server.port),
            "GONG_OUTGOING_ALLOW_PRIVATE": "1",
        }
        gong_cli(
            ["user", "create", "zhang", "--password-stdin", "--member", f"{group}:13800000001"],
            env,
            input=PASSWORD + "\n",
        )
        yield Site(server, env, group, robot, bot_url)
    finally:
        if bot is not None:
            bot.terminate()
            bot.wait(5)
            assert bot.stdout is not None
            bot.stdout.close()
        server.stop()


def _messages(site: Site) -> list[dict[str, Any]]:
    with httpx.Client(base_url=site.server.url, headers=ADMIN) as api:
        page = api.get(f"/api/groups/{site.group}/messages?limit=20").json()
    return list(page["messages"])


def _wait_for(site: Site, content: str, limit_s: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for message in _messages(site):
            if message["content"].get("text", {}).get("content") == content:
                return message
        time.sleep(0.1)
    raise AssertionError(f"no message {content!r}: {_messages(site)[:3]}")


def test_the_example_bot_answers_now_and_later(site: Site) -> None:
    url = f"{site.server.url}/api/groups/{site.group}/messages?as_user=zhang"
    for words in ("@ping-bot ping", "@ping-bot later 部署完成"):
        posted = httpx.post(
            url, json={"msgtype": "text", "text": {"content": words}}, headers=ADMIN
        )
        assert posted.status_code == 201, posted.text
        assert posted.json()["callbacks"] == [site.robot["id"]]
    pong = _wait_for(site, "pong")
    later = _wait_for(site, "later: 部署完成")
    for answer in (pong, later):
        assert (answer["sender"]["type"], answer["robot_id"]) == ("robot", site.robot["id"])
    calls = json.loads(gong_cli(["outgoing", str(site.robot["id"]), "--json"], site.env).stdout)
    assert [(c["state"], c["attempts"], c["http_status"]) for c in calls] == [
        ("no_answer", 1, 200),
        ("answered", 1, 200),
    ]
    assert calls[1]["answer_message_id"] == pong["id"]


def test_a_bot_refuses_a_callback_with_the_wrong_token(site: Site) -> None:
    """The bot checks the token header: a robot configured with another token is refused 403."""
    with httpx.Client(base_url=site.server.url, headers=ADMIN) as api:
        other = api.post(
            f"/api/groups/{site.group}/robots",
            json={
                "name": "impostor",
                "keywords": ["k"],
                "outgoing": {"url": site.bot_url, "token": "wrong"},
            },
        ).json()
    result = gong_cli(
        ["post", str(site.group), "--as", "zhang", "@impostor ping", "--json"], site.env
    )
    (call,) = json.loads(result.stdout)["callbacks"]
    assert (call["robot"], call["state"], call["http_status"], call["error"]) == (
        "impostor",
        "failed",
        403,
        "HTTP 403",
    )
    assert call["robot_id"] == other["id"]


def test_gong_post_reaches_the_live_feed_with_the_answer(site: Site) -> None:
    with httpx.Client(base_url=site.server.url, timeout=10) as browser:
        form = browser.get("/login")
        browser.post(
            "/login",
            data={"username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        )
        with browser.stream("GET", "/events") as stream:
            result = gong_cli(
                ["post", str(site.group), "--as", "zhang", "@ping-bot ping @张三", "--json"],
                site.env,
            )
            posted = json.loads(result.stdout)
            (call,) = posted["callbacks"]
            assert (call["robot"], call["state"]) == ("ping-bot", "answered")
            wanted = {posted["id"], call["answer_message_id"]}
            seen: list[dict[str, Any]] = []
            deadline = time.monotonic() + 10
            for line in stream.iter_lines():
                if line.startswith("data: ") and line != "data: {}":
                    event = json.loads(line[len("data: ") :])
                    if event["id"] in wanted:
                        seen.append(event)
                if len(seen) == 2 or time.monotonic() > deadline:
                    break
    assert [(e["id"], e["sender"]["type"]) for e in seen] == [
        (posted["id"], "user"),
        (call["answer_message_id"], "robot"),
    ]
    assert ">pong<" in seen[1]["html"]
    stored = _messages(site)
    mine = next(m for m in stored if m["id"] == posted["id"])
    assert mine["content"] == {
        "msgtype": "text",
        "text": {"content": "@ping-bot ping @zhangsan"},
        "at": {"atMobiles": [], "atUserIds": ["zhangsan"], "isAtAll": False},
    }


def test_cli_sets_the_callback_and_refuses_internal_urls(site: Site) -> None:
    made = gong_cli(
        [
            "robot",
            "create",
            str(site.group),
            "--name",
            "ops-bot",
            "--keyword",
            "k",
            "--outgoing-url",
            site.bot_url,
            "--outgoing-token",
            "T0k",
            "--json",
        ],
        site.env,
    )
    robot = json.loads(made.stdout)
    assert robot["outgoing"] == {"url": site.bot_url, "token": "T0k"}
    env = {**site.env, "GONG_OUTGOING_ALLOW_PRIVATE": "0"}
    refused = gong_cli(
        ["robot", "update", str(robot["id"]), "--outgoing-url", "http://10.1.2.3/", "--json"],
        env,
        check=False,
    )
    assert refused.returncode == 1
    assert json.loads(refused.stdout) == {
        "error": {
            "code": "invalid",
            "message": "the outgoing URL points at 10.1.2.3, a private address; "
            "GONG_OUTGOING_ALLOW_PRIVATE=1 allows internal addresses",
        }
    }
    own = gong_cli(
        [
            "robot",
            "update",
            str(robot["id"]),
            "--outgoing-url",
            f"{site.server.url}/robot/send",
            "--json",
        ],
        site.env,
        check=False,
    )
    assert json.loads(own.stdout)["error"]["message"] == (
        "the outgoing URL points at this Gong server itself"
    )
    cleared = gong_cli(["robot", "update", str(robot["id"]), "--no-outgoing", "--json"], site.env)
    assert json.loads(cleared.stdout)["outgoing"] is None
    generated = gong_cli(
        ["robot", "update", str(robot["id"]), "--outgoing-url", site.bot_url, "--json"], site.env
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", json.loads(generated.stdout)["outgoing"]["token"])
    assert os.environ.get("GONG_OUTGOING_ALLOW_PRIVATE") is None
