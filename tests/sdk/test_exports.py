"""The SDK's public surface, and that it stays free of the server."""

from __future__ import annotations

import subprocess
import sys
import types

import gong.sdk


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(gong.sdk).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(gong.sdk.__all__) == public
    assert len(gong.sdk.__all__) == len(set(gong.sdk.__all__))
    assert gong.sdk.__all__ == sorted(gong.sdk.__all__)


def test_importing_the_sdk_loads_nothing_of_the_server() -> None:
    code = "import sys, json, gong.sdk\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(__import__("json").loads(out))
    server = {"sqlalchemy", "fastapi", "starlette", "orjson", "alembic", "uvicorn", "aiosqlite"}
    assert not {m for m in loaded if m.split(".")[0] in server}
    gong_modules = {m for m in loaded if m == "gong" or m.startswith("gong.")}
    allowed = ("gong.sdk", "gong.protocol")
    assert {m for m in gong_modules if not m.startswith(allowed)} == {"gong", "gong.clock"}
