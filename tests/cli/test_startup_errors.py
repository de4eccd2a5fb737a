"""``gong serve`` explains what stops it in one line naming the setting to change, and exits
non-zero before it prints the banner or the curl."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    gong = shutil.which("gong", path=str(Path(sys.executable).parent)) or "gong"
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONG_")}
    base.update(GONG_DATA_DIR=str(tmp_path / "data"), GONG_DEFAULT_LANGUAGE="en", COLUMNS="60")
    base.update(env)
    return subprocess.run(
        [gong, "serve", "--demo"],
        cwd=tmp_path,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert result.stdout == ""  # no banner, no curl
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = _one_line(_serve(tmp_path, GONG_PORT=str(port)))
    assert line.startswith("error: ")
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert "GONG_PORT" in line and "--port" in line
    assert not (tmp_path / "data" / "gong.db").exists()  # nothing was set up either


def test_a_setting_that_is_not_valid(tmp_path: Path) -> None:
    line = _one_line(_serve(tmp_path, GONG_PORT="eighty"))
    assert "GONG_PORT is not valid" in line and "'eighty'" in line


def test_an_unwritable_data_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    line = _one_line(_serve(tmp_path, GONG_DATA_DIR=str(blocker / "data")))
    assert f"the data directory {blocker / 'data'} cannot be used" in line
    assert "GONG_DATA_DIR" in line


def test_an_unreachable_database_names_it_without_its_password(tmp_path: Path) -> None:
    line = _one_line(
        _serve(tmp_path, GONG_DATABASE_URL="postgresql://gong:s3cret-pw@127.0.0.1:1/gong")
    )
    assert "the database at 127.0.0.1:1/gong cannot be reached" in line
    assert "GONG_DATABASE_URL" in line
    assert "s3cret-pw" not in line


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "redis://:hunter2-pw@127.0.0.1:1/0"])
def test_an_unreachable_redis(tmp_path: Path, url: str) -> None:
    line = _one_line(_serve(tmp_path, GONG_REDIS_URL=url))
    assert "Redis at 127.0.0.1:1/0 cannot be reached" in line and "GONG_REDIS_URL" in line
    assert "hunter2" not in line


def test_in_chinese_too(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = _one_line(_serve(tmp_path, GONG_PORT=str(port), LANGUAGE="zh_CN.UTF-8"))
    assert line.startswith("错误：") and str(port) in line and "GONG_PORT" in line


def test_an_older_data_directory_is_pointed_out(tmp_path: Path) -> None:
    """A ``./gong-data`` from an older Gong is named, with the setting that keeps using it;
    the server still starts on the per-user directory."""
    older = tmp_path / "gong-data"
    older.mkdir()
    (older / "gong.db").write_bytes(b"")
    with socket.socket() as holder:  # stop right after the notice: the port is taken
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _serve(tmp_path, GONG_PORT=str(port))
    # The taken port stops it before the notice; without it, the notice comes first.
    assert "gong-data" not in result.stderr
    from gong.cli.preflight import older_data_dir
    from gong.config import Settings

    notice = older_data_dir(Settings(data_dir=tmp_path / "elsewhere"), cwd=tmp_path)
    assert notice is not None
    assert f"GONG_DATA_DIR={older}" in str(notice)
    assert older_data_dir(Settings(data_dir=older), cwd=tmp_path) is None
