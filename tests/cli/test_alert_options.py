"""``gong group update --timezone`` and the alert options of ``gong robot create`` / ``update``,
run as a user runs them on the configured database."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gong.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GONG_OUTGOING_ALLOW_PRIVATE", "1")
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)
    return tmp_path / "data"


def gong(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result.output


def test_a_group_time_zone_is_set_and_cleared() -> None:
    group = gong("group", "create", "ops", "--json")
    changed = gong("group", "update", str(group["id"]), "--timezone", "Asia/Shanghai", "--json")
    assert changed["timezone"] == "Asia/Shanghai"
    assert gong("group", "list", "--json")[0]["timezone"] == "Asia/Shanghai"
    human = gong("group", "update", str(group["id"]), "--timezone", "Asia/Shanghai")
    assert re.search(r"times in:\s+Asia/Shanghai", human)
    bad = gong("group", "update", str(group["id"]), "--timezone", "Shanghai", code=1)
    assert "not a time zone" in bad and "Asia/Shanghai" in bad
    cleared = gong("group", "update", str(group["id"]), "--timezone", "", "--json")
    assert cleared["timezone"] is None


def test_alert_options_of_a_robot() -> None:
    gong("group", "create", "ops", "--json")
    robot = gong(
        "robot",
        "create",
        "1",
        "--name",
        "am",
        "--kind",
        "alertmanager",
        "--mention-label",
        "owner",
        "--mention-label",
        "oncall",
        "--dedupe-window",
        "300",
        "--upstream",
        "http://127.0.0.1:9/robot/send?access_token=up",
        "--json",
    )
    assert robot["mention_labels"] == ["owner", "oncall"]
    assert robot["dedupe_window_s"] == 300
    assert robot["upstream"]["fit"] == "summary"
    rid = str(robot["id"])
    split = gong("robot", "update", rid, "--upstream-fit", "split", "--json")
    assert split["upstream"]["fit"] == "split"
    # Another upstream option keeps the fit.
    kept = gong("robot", "update", rid, "--upstream-limit", "10", "--json")
    assert (kept["upstream"]["fit"], kept["upstream"]["limit"]) == ("split", 10)
    off = gong("robot", "update", rid, "--no-mention-labels", "--dedupe-window", "0", "--json")
    assert (off["mention_labels"], off["dedupe_window_s"]) == ([], 0)
    custom = gong("robot", "create", "1", "--name", "c", "--keyword", "k", "--json")
    refused = gong(
        "robot", "update", str(custom["id"]), "--mention-label", "owner", "--json", code=1
    )
    assert "do not post alerts" in refused
    no_upstream = gong(
        "robot", "update", str(custom["id"]), "--upstream-fit", "split", "--json", code=1
    )
    assert "no upstream" in no_upstream
