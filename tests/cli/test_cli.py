"""The ``gong`` command line, run as a user runs it, on the configured database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gong.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GONG_PUBLIC_URL", "https://gong.example.com")
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)
    return tmp_path / "data"


def gong(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_init_prints_the_admin_token_once() -> None:
    first = gong("init", "--json")
    assert first["admin_token"].startswith("gong_")
    assert gong("init", "--json")["admin_token"] is None
    again = gong("admin", "token", "--json")["admin_token"]
    assert again.startswith("gong_")
    assert again != first["admin_token"]


def test_groups_members_robots() -> None:
    assert gong("group", "create", "ops", "--json") == {"id": 1, "name": "ops"}
    member = gong(
        "member",
        "add",
        "1",
        "--name",
        "张三",
        "--mobile",
        "13800000001",
        "--user-id",
        "zs",
        "--json",
    )
    assert {k: member[k] for k in ("id", "group_id", "name", "mobile", "userId")} == {
        "id": 1,
        "group_id": 1,
        "name": "张三",
        "mobile": "13800000001",
        "userId": "zs",
    }
    assert [m["name"] for m in gong("member", "list", "1", "--json")] == ["张三"]

    robot = gong(
        "robot",
        "create",
        "1",
        "--name",
        "ci",
        "--keyword",
        "CI",
        "--keyword",
        "告警",
        "--sign",
        "--ip",
        "192.0.2.0/24",
        "--rate-limit",
        "5",
        "--rate-window",
        "30",
        "--block",
        "120",
        "--json",
    )
    assert {"id", "access_token", "secret", "webhook"} <= robot.keys()
    assert (
        robot["webhook"]
        == f"https://gong.example.com/robot/send?access_token={robot['access_token']}"
    )
    assert robot["secret"].startswith("SEC")
    assert robot["keywords"] == ["CI", "告警"]
    assert robot["ip_allow"] == ["192.0.2.0/24"]
    assert robot["rate_limit"] == {"limit": 5, "window_s": 30, "block_s": 120}

    shown = gong("robot", "show", str(robot["id"]), "--json")
    assert shown["stats"] == {"accepted": 0, "refused": 0}
    assert [r["id"] for r in gong("robot", "list", "--json")] == [robot["id"]]

    rotated = gong("robot", "rotate", str(robot["id"]), "--json")
    assert rotated["access_token"] != robot["access_token"]
    assert rotated["secret"] == robot["secret"]
    resecret = gong("robot", "rotate", str(robot["id"]), "--secret", "--json")
    assert resecret["secret"] != robot["secret"]
    assert gong("robot", "disable", str(robot["id"]), "--json")["enabled"] is False
    assert gong("robot", "enable", str(robot["id"]), "--json")["enabled"] is True
    updated = gong(
        "robot", "update", str(robot["id"]), "--no-sign", "--no-ips", "--rate-limit", "0", "--json"
    )
    assert updated["secret"] is None
    assert updated["ip_allow"] == []
    assert updated["rate_limit"]["limit"] == 0
    assert updated["keywords"] == ["CI", "告警"]


def test_custom_robot_without_security_is_refused() -> None:
    gong("group", "create", "ops", "--json")
    result = runner.invoke(app, ["robot", "create", "1", "--name", "open", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": {
            "code": "invalid",
            "message": (
                "a custom robot needs at least one security setting: keywords, signing or an IP allow list"
            ),
        }
    }
    human = runner.invoke(app, ["robot", "create", "1", "--name", "open"])
    assert human.exit_code == 1
    assert "needs at least one security setting" in human.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["robot", "show", "9", "--json"], "robot 9 does not exist"),
        (
            ["member", "add", "9", "--name", "x", "--mobile", "1", "--json"],
            "group 9 does not exist",
        ),
        (["messages", "9", "--json"], "group 9 does not exist"),
        (["robot", "create", "1", "--name", "r", "--ip", "::1", "--json"], "IPv6"),
    ],
)
def test_errors_are_clear(args: list[str], message: str) -> None:
    gong("group", "create", "ops", "--json")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in json.loads(result.stdout)["error"]["message"]


def test_sign_matches_the_known_vector() -> None:
    out = gong("sign", "--secret", "this is a secret", "--timestamp", "1577262236757", "--json")
    assert out == {
        "timestamp": 1577262236757,
        "sign": "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA%3D",
        "sign_base64": "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=",
        "query": "timestamp=1577262236757&sign=DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA%3D",
    }
    human = gong("sign", "--secret", "this is a secret", "--timestamp", "1577262236757")
    assert human.strip() == out["query"]


def test_human_output_is_readable() -> None:
    gong("group", "create", "ops")
    gong("robot", "create", "1", "--name", "ci", "--keyword", "CI")
    listing = gong("robot", "list")
    assert "ci" in listing
    assert "1 keyword(s)" in listing
    shown = gong("robot", "show", "1")
    assert "20 per 60 s, then a 600 s block" in shown
    assert "0 accepted, 0 refused" in shown


def test_several_workers_need_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONG_REDIS_URL", raising=False)
    # `serve --workers 2` sets GONG_WORKERS for its server processes; restore it afterwards so
    # later servers started by the suite are not refused.
    monkeypatch.setenv("GONG_WORKERS", "1")
    result = runner.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 1
    assert "--workers 2 needs Redis" in result.output
    assert "GONG_REDIS_URL" in result.output
