"""A sign-in lockout outlives a restart of a single-instance SQLite server (no Redis)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess, gong_cli

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


def _sign_in(base: str, username: str, password: str) -> int:
    with httpx.Client(base_url=base, timeout=10) as client:
        form = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found
        answer = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": found.group(1)},
        )
        return answer.status_code


def test_the_lockout_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data), "GONG_LOGIN_ATTEMPTS": "3"}
    gong_cli(["user", "create", "alice", "--password-stdin"], env, input=PASSWORD + "\n")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        for _ in range(3):
            assert _sign_in(server.url, "alice", "wrong password") == 401
        assert _sign_in(server.url, "alice", PASSWORD) == 429  # locked out for 5 minutes
    finally:
        server.stop()

    server.start()
    try:
        # Still locked out after the restart, even with the right password.
        assert _sign_in(server.url, "alice", PASSWORD) == 429
    finally:
        server.stop()

    # The database holds digests: neither the username nor a password typed as one.
    with sqlite3.connect(data / "gong.db") as db:
        keys = [str(row[0]) for row in db.execute("SELECT key FROM limiter_keys")]
    assert len(keys) == 2  # this client's IP and the username
    assert not [k for k in keys if "alice" in k or "127.0.0.1" in k]
