"""``gong robot create/update/show`` with an upstream, and ``gong deliveries``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gong.cli import app
from gong.clock import ManualClock
from gong.config import Settings
from gong.protocol.messages import parse_message
from gong.runtime import Runtime

runner = CliRunner()


@pytest.fixture(autouse=True)
def _sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)


def gong_cli(args: list[str], env: dict[str, str], check: bool = True) -> Any:
    """The CLI in process, as ``tests.helpers.gong_cli`` runs it in a child."""
    result = runner.invoke(app, args, env=env)
    if check:
        assert result.exit_code == 0, result.output
    result.returncode = result.exit_code
    return result


#: A public address (saving an upstream resolves its host; tests do not use the DNS).
UPSTREAM = "https://93.184.216.34/robot/send?access_token=" + "d" * 64
SECRET = "SEC" + "5" * 64


async def post(data_dir: Path, token: str, n: int) -> None:
    """Accept ``n`` messages for the robot, as the server would (its relay worker off)."""
    settings = Settings(data_dir=data_dir, relay_enabled=False)
    runtime = await Runtime.open(settings, clock=ManualClock(1_800_000_000_000))
    try:
        view = await runtime.directory.get(token)
        assert view is not None
        for i in range(n):
            message = parse_message({"msgtype": "text", "text": {"content": f"alert {i}"}})
            await runtime.hub.accept_from_robot(view, message, "{}")
    finally:
        await runtime.close()


def test_relay_settings_counts_and_deliveries(tmp_path: Path) -> None:
    env = {"GONG_DATA_DIR": str(tmp_path / "data")}
    group = json.loads(gong_cli(["group", "create", "ops", "--json"], env).stdout)
    robot = json.loads(
        gong_cli(
            [
                "robot",
                "create",
                str(group["id"]),
                "--name",
                "alerts",
                "--keyword",
                "alert",
                "--upstream",
                UPSTREAM,
                "--upstream-secret",
                SECRET,
                "--upstream-limit",
                "10",
                "--upstream-window",
                "30",
                "--json",
            ],
            env,
        ).stdout
    )
    assert robot["upstream"] == {
        "url": UPSTREAM,
        "secret": SECRET,
        "limit": 10,
        "window_s": 30,
        "block_s": 600,
        "keyword": "",
        "fit": "summary",
    }
    asyncio.run(post(tmp_path / "data", robot["access_token"], 3))

    shown = json.loads(gong_cli(["robot", "show", str(robot["id"]), "--json"], env).stdout)
    assert shown["stats"] == {"accepted": 3, "refused": 0}
    assert shown["held"] == 0
    assert shown["deliveries"] == {"pending": 3, "sent": 0, "digested": 0, "failed": 0}
    human = gong_cli(["robot", "show", str(robot["id"])], env).stdout
    assert "relay to:  https://93.184.216.34/robot/send?access_token=dddddd… " in human
    assert "(10 per 30 s, signed)" in human
    assert "d" * 64 not in human
    assert SECRET not in human

    listed = json.loads(gong_cli(["deliveries", str(robot["id"]), "--json"], env).stdout)
    assert listed["counts"] == shown["deliveries"]
    assert [(d["title"], d["state"], d["send"]) for d in listed["deliveries"]] == [
        ("alert 2", "pending", None),
        ("alert 1", "pending", None),
        ("alert 0", "pending", None),
    ]

    updated = json.loads(
        gong_cli(
            ["robot", "update", str(robot["id"]), "--upstream-limit", "5", "--json"], env
        ).stdout
    )
    assert updated["upstream"]["limit"] == 5
    assert updated["upstream"]["url"] == UPSTREAM
    cleared = json.loads(
        gong_cli(["robot", "update", str(robot["id"]), "--no-upstream", "--json"], env).stdout
    )
    assert cleared["upstream"] is None


def test_upstream_options_need_the_url(tmp_path: Path) -> None:
    env = {"GONG_DATA_DIR": str(tmp_path / "data")}
    gong_cli(["group", "create", "ops"], env)
    result = gong_cli(
        ["robot", "create", "1", "--name", "r", "--keyword", "k", "--upstream-limit", "3"],
        env,
        check=False,
    )
    assert result.returncode == 1
    assert "--upstream-… options need --upstream URL" in result.stderr
    bad = gong_cli(
        [
            "robot",
            "create",
            "1",
            "--name",
            "r",
            "--keyword",
            "k",
            "--upstream",
            "not a url",
            "--json",
        ],
        env,
        check=False,
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"]["code"] == "invalid"
