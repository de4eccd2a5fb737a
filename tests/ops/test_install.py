"""``make run`` installs only what serving needs: a fresh virtual environment made the way it
makes one holds the server and none of the development tools, in well under 150 MB."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What a served install may weigh (the whole virtual environment, pip included).
MAX_MB = 150
#: Development tools that must stay out of it.
DEV_ONLY = ("playwright", "mypy", "schemathesis", "pytest", "hypothesis", "ruff", "babel")
#: What the "standard" extra of uvicorn would add and serving does not use (python-dotenv is
#: used: pydantic-settings reads gong.env files with it).
UNUSED = ("watchfiles", "websockets")


def _size_mb(path: Path) -> float:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            file = Path(dirpath) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total / 1_000_000


@pytest.mark.slow
def test_make_run_installs_a_lean_server(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GONG_", "VIRTUAL_ENV"))}
    done = subprocess.run(
        [
            make,
            "-C",
            str(ROOT),
            f"VENV={venv}",
            f"PYTHON={sys.executable}",
            f"{venv}/.installed-server",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    names = {line.split("==")[0].replace("_", "-") for line in listed.splitlines() if "==" in line}
    for needed in ("gong", "uvicorn", "fastapi", "sqlalchemy", "aiosqlite", "uvloop", "httptools"):
        assert needed in names, f"{needed} is missing"
    assert not names & {*DEV_ONLY, *UNUSED}, names & {*DEV_ONLY, *UNUSED}
    assert "asyncpg" not in names and "redis" not in names  # none configured
    size = _size_mb(venv)
    assert size < MAX_MB, f"{size:.0f} MB"
    # And it serves: the command line runs in it.
    version = subprocess.run(
        [str(venv / "bin" / "gong"), "config", "show", "--json"],
        capture_output=True,
        text=True,
        env={**env, "GONG_DATA_DIR": str(tmp_path / "data")},
        timeout=60,
    )
    assert version.returncode == 0, version.stderr
