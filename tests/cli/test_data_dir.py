"""One data directory: every ``gong`` command uses the per-user data directory wherever it is
started, reads ``gong.env`` from the working directory and from the data directory, and
``gong config show`` says which database and which settings files are in use."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from gong.config import Settings, default_data_dir


def _gong(args: list[str], cwd: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    gong = shutil.which("gong", path=str(Path(sys.executable).parent)) or "gong"
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONG_")}
    base.update(XDG_DATA_HOME=str(home), GONG_DEFAULT_LANGUAGE="en", **env)
    result = subprocess.run(
        [gong, *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_every_command_uses_the_same_data_directory_wherever_it_starts(tmp_path: Path) -> None:
    home = tmp_path / "xdg"
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    created = json.loads(_gong(["group", "create", "ops", "--json"], one, home).stdout)
    listed = json.loads(_gong(["group", "list", "--json"], two, home).stdout)
    assert [g["id"] for g in listed] == [created["id"]]
    assert (home / "gong" / "gong.db").is_file()
    assert not (one / "gong-data").exists() and not (two / "gong-data").exists()
    shown = json.loads(_gong(["config", "show", "--json"], two, home).stdout)
    assert shown["data_dir"] == str(home / "gong")
    assert shown["database"] == str((home / "gong" / "gong.db").resolve())
    assert shown["settings_files"] == []


def test_settings_files_in_the_working_and_the_data_directory(tmp_path: Path) -> None:
    home = tmp_path / "xdg"
    data = home / "gong"
    data.mkdir(parents=True)
    (data / "gong.env").write_text("GONG_TIMEZONE=Asia/Shanghai\nGONG_PORT=8100\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "gong.env").write_text("GONG_PORT=8200\n")
    shown = json.loads(_gong(["config", "show", "--json"], work, home).stdout)
    # The working directory's file wins over the data directory's; both are named.
    assert (shown["timezone"], shown["port"]) == ("Asia/Shanghai", 8200)
    assert shown["settings_files"] == [
        str((data / "gong.env").resolve()),
        str((work / "gong.env").resolve()),
    ]
    # An environment variable wins over both.
    shown = json.loads(_gong(["config", "show", "--json"], work, home, GONG_PORT="8300").stdout)
    assert shown["port"] == 8300
    human = _gong(["config", "show"], work, home).stdout
    assert f"Database: {(data / 'gong.db').resolve()}" in human
    assert "Settings files: " in human and str((work / "gong.env").resolve()) in human


def test_a_working_directory_file_may_move_the_data_directory(tmp_path: Path) -> None:
    home = tmp_path / "xdg"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "gong.env").write_text("GONG_PORT=8400\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "gong.env").write_text(f"GONG_DATA_DIR={elsewhere}\n")
    shown = json.loads(_gong(["config", "show", "--json"], work, home).stdout)
    assert shown["data_dir"] == str(elsewhere)
    assert shown["port"] == 8400  # the data directory's own file is read too


def test_the_default_is_the_platform_user_data_directory(tmp_path: Path) -> None:
    settings = Settings.load(cwd=tmp_path, data_dir=None)
    assert settings.data_dir == default_data_dir()
    assert settings.files == []
