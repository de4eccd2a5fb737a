"""Schemathesis generates requests from Gong's own OpenAPI document and sends them to a real
server: no answer may be a 5xx, and every answer must match the schema it is documented with.

``positive_data_acceptance`` is left out: some rules span fields (a custom robot needs at least
one security setting, a member a mobile or a userId) and cannot be written in JSON Schema, so a
schema-valid request may rightly get a 422.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli

pytestmark = pytest.mark.slow


def test_management_api_conforms_to_its_openapi(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data), "GONG_SQLITE_SYNCHRONOUS": "NORMAL"}
    gong_cli(["group", "create", "g", "--json"], env)
    gong_cli(["member", "add", "1", "--name", "m", "--mobile", "1", "--json"], env)
    gong_cli(["robot", "create", "1", "--name", "r", "--keyword", "k", "--json"], env)
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {ADMIN_TOKEN}",
                "--max-examples",
                "25",
                "--seed",
                "7",
                "--exclude-checks",
                "positive_data_acceptance",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-6000:]
        assert " passed" in run.stdout
        assert "Traceback" not in server.log()
    finally:
        server.stop()
