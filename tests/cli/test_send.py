"""``gong send``: one message to a webhook, as a user runs it, against a fake DingTalk."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from gong.cli import app
from tests.fakes import KEYWORD, FakeDingTalk
from tests.helpers import free_port, gong_cli

SECRET = "SEC" + "7" * 64


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDingTalk]:
    server = FakeDingTalk(secret=SECRET).start()
    try:
        yield server
    finally:
        server.stop()


runner = CliRunner()


def send(fake: FakeDingTalk, *args: str, stdin: str | None = None, check: bool = True) -> Result:
    """``gong send …`` in process, with the webhook and secret in the environment."""
    env = {"GONG_WEBHOOK": fake.url, "GONG_WEBHOOK_SECRET": SECRET}
    result = runner.invoke(app, ["send", *args], input=stdin, env=env)
    if check:
        assert result.exit_code == 0, result.output
    return result


def last_body(fake: FakeDingTalk) -> dict[str, object]:
    body = dict(fake.received[-1].body)
    assert str(body.pop("msgUuid")).isalnum()
    return body


def test_text_with_mentions(fake: FakeDingTalk) -> None:
    result = send(fake, "text", "deploy done", "--at", "13800000001", "--at-user", "lisi")
    assert result.stdout == '{"errcode":0,"errmsg":"ok"}\n'
    assert last_body(fake) == {
        "msgtype": "text",
        "text": {"content": "deploy done\n@13800000001 @lisi"},
        "at": {"atMobiles": ["13800000001"], "atUserIds": ["lisi"], "isAtAll": False},
    }
    assert fake.received[-1].answered == 0  # the signature checked out


def test_markdown_from_stdin_and_from_a_file(fake: FakeDingTalk, tmp_path: Path) -> None:
    send(fake, "markdown", "-", "--title", "周报", stdin="## 本周\n- 完成 **发布**\n")
    assert last_body(fake) == {
        "msgtype": "markdown",
        "markdown": {"title": "周报", "text": "## 本周\n- 完成 **发布**\n"},
    }
    report = tmp_path / "report.md"
    report.write_text("# from a file", encoding="utf-8")
    result = send(fake, "markdown", "--title", "t", "--file", str(report), "--at-all", "--json")
    answer = json.loads(result.stdout)
    assert answer["errcode"] == 0
    assert answer["errmsg"] == "ok"
    assert last_body(fake) == {
        "msgtype": "markdown",
        "markdown": {"title": "t", "text": "# from a file"},
        "at": {"atMobiles": [], "atUserIds": [], "isAtAll": True},
    }
    assert answer["msgUuid"] == fake.received[-1].body["msgUuid"]


def test_link_action_card_and_feed_card(fake: FakeDingTalk) -> None:
    send(
        fake,
        "link",
        "body",
        "--title",
        "T",
        "--url",
        "https://example.com/a",
        "--msg-uuid",
        "fixed",
    )
    assert fake.received[-1].body == {
        "msgtype": "link",
        "link": {"title": "T", "text": "body", "messageUrl": "https://example.com/a", "picUrl": ""},
        "msgUuid": "fixed",
    }
    send(fake, "action-card", "card", "--title", "C", "--button", "Open=https://example.com/?a=1")
    assert last_body(fake) == {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "C",
            "text": "card",
            "singleTitle": "Open",
            "singleURL": "https://example.com/?a=1",
            "btnOrientation": "0",
            "hideAvatar": "0",
        },
    }
    send(
        fake,
        "action-card",
        "card",
        "--title",
        "C",
        "--button",
        "Yes=https://example.com/y",
        "--button",
        "No=https://example.com/n",
        "--horizontal",
    )
    assert last_body(fake)["actionCard"] == {
        "title": "C",
        "text": "card",
        "btnOrientation": "1",
        "hideAvatar": "0",
        "btns": [
            {"title": "Yes", "actionURL": "https://example.com/y"},
            {"title": "No", "actionURL": "https://example.com/n"},
        ],
    }
    send(
        fake,
        "feed-card",
        "--link",
        "A=https://example.com/a|https://example.com/a.png",
        "--link",
        "B=https://example.com/b",
    )
    assert last_body(fake) == {
        "msgtype": "feedCard",
        "feedCard": {
            "links": [
                {
                    "title": "A",
                    "messageURL": "https://example.com/a",
                    "picURL": "https://example.com/a.png",
                },
                {"title": "B", "messageURL": "https://example.com/b", "picURL": ""},
            ]
        },
    }


def test_a_refusal_prints_the_answer_and_fails(fake: FakeDingTalk) -> None:
    """Run as the installed ``gong`` program: the exit status is what scripts see."""
    fake.answer(KEYWORD)
    env = {"GONG_WEBHOOK": fake.url, "GONG_WEBHOOK_SECRET": SECRET}
    result = gong_cli(["send", "text", "no keyword"], env, check=False)
    assert result.returncode == 1
    assert result.stdout == KEYWORD.decode() + "\n"


def test_no_answer_and_bad_input_exit_2(fake: FakeDingTalk) -> None:
    dead = f"http://127.0.0.1:{free_port()}/robot/send?access_token=x"
    result = runner.invoke(app, ["send", "text", "hi", "--webhook", dead, "--retries", "0"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errcode"] is None
    empty = send(fake, "markdown", "text", "--title", "", check=False)
    assert empty.exit_code == 2
    assert "markdown.title" in empty.stderr
    missing = send(fake, "text", check=False)
    assert missing.exit_code == 2
    assert "give the text" in missing.stderr


def test_send_works_without_the_server_packages(fake: FakeDingTalk) -> None:
    """Installed without the ``server`` extra, ``gong`` offers ``send`` and it works."""
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {{"sqlalchemy", "fastapi", "starlette", "orjson", "uvicorn",
                                   "alembic", "aiosqlite", "pydantic_settings"}}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Block())
from gong.cli import app
names = sorted(c.name or "" for c in app.registered_groups)
print(names, [c.name for c in app.registered_commands])
app(["send", "text", "offline", "--webhook", {fake.url!r}, "--secret", {SECRET!r}])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == '[\'send\'] []\n{"errcode":0,"errmsg":"ok"}\n'
    assert fake.received[-1].body["text"] == {"content": "offline"}
