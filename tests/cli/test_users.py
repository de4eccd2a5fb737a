"""``gong user …`` and the web admin login that ``gong serve --demo`` prints."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from gong.cli import app
from gong.config import Settings
from gong.domain.passwords import verify_password
from gong.storage.accounts import Accounts
from gong.storage.database import open_database
from tests.helpers import ServerProcess

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)
    return tmp_path / "data"


def gong(*args: str, code: int = 0, stdin: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


async def _stored_hash(data_dir: Path, username: str) -> str:
    engine = await open_database(Settings(data_dir=data_dir), pool_size=1)
    try:
        from gong.clock import SystemClock

        user = await Accounts(engine, SystemClock()).find_user(username)
        assert user is not None
        return user.password_hash
    finally:
        await engine.dispose()


def test_create_link_and_list(data_dir: Path) -> None:
    gong("group", "create", "ops", "--json")
    gong("member", "add", "1", "--name", "张三", "--mobile", "13800000001", "--json")
    gong("member", "add", "1", "--name", "李四", "--user-id", "lisi", "--json")
    gong("group", "create", "dev", "--json")
    gong("member", "add", "2", "--name", "张三", "--mobile", "13800000001", "--json")
    made = gong(
        "user",
        "create",
        "Zhang",
        "--password-stdin",
        "--member",
        "1:13800000001",
        "--json",
        stdin="s3cret pass\n",
    )
    assert {k: v for k, v in made.items() if k != "created_at"} == {
        "id": 1,
        "username": "zhang",
        "admin": False,
        "last_login_at": None,
        "members": [{"id": 1, "group_id": 1, "name": "张三"}],
    }
    stored = asyncio.run(_stored_hash(data_dir, "zhang"))
    assert stored.startswith("$argon2id$")
    assert "s3cret" not in stored
    assert asyncio.run(verify_password(stored, "s3cret pass"))

    linked = gong("user", "link", "zhang", "--member", "2:13800000001", "--json")
    assert [m["group_id"] for m in linked["members"]] == [1, 2]
    admin = gong(
        "user",
        "create",
        "root",
        "--password-stdin",
        "--admin",
        "--member",
        "1:lisi",
        "--json",
        stdin="another pass\n",
    )
    assert admin["admin"] is True
    assert admin["members"] == [{"id": 2, "group_id": 1, "name": "李四"}]
    listed = gong("user", "list", "--json")
    assert [(u["username"], u["admin"], len(u["members"])) for u in listed] == [
        ("zhang", False, 2),
        ("root", True, 1),
    ]
    assert "zhang" in gong("user", "list")

    gong("user", "password", "zhang", "--password-stdin", "--json", stdin="changed pass\n")
    assert asyncio.run(
        verify_password(asyncio.run(_stored_hash(data_dir, "zhang")), "changed pass")
    )
    assert gong("user", "delete", "root", "--json") == {
        "id": 2,
        "username": "root",
        "deleted": True,
    }


def test_clear_errors() -> None:
    gong("group", "create", "ops", "--json")
    gong("member", "add", "1", "--name", "张三", "--mobile", "13800000001", "--json")
    cases = [
        (["user", "create", "x", "--password-stdin"], "short\n", "at least 8 characters"),
        (["user", "create", "bad name", "--password-stdin"], "long enough\n", "a username is"),
        (
            ["user", "create", "x", "--password-stdin", "--member", "1"],
            "long enough\n",
            "--member takes GROUP_ID:MOBILE",
        ),
        (
            ["user", "create", "x", "--password-stdin", "--member", "1:139"],
            "long enough\n",
            "group 1 has no member with mobile or userId '139'",
        ),
        (
            ["user", "link", "nobody", "--member", "1:13800000001"],
            None,
            "there is no account called 'nobody'",
        ),
    ]
    for args, stdin, message in cases:
        answer = gong(*args, "--json", code=1, stdin=stdin)
        assert message in answer["error"]["message"], answer
    gong(
        "user",
        "create",
        "x",
        "--password-stdin",
        "--member",
        "1:13800000001",
        "--json",
        stdin="long enough\n",
    )
    taken = gong("user", "create", "X", "--password-stdin", "--json", code=1, stdin="long enough\n")
    assert taken["error"] == {"code": "conflict", "message": "the username 'x' is taken"}
    twice = gong(
        "user",
        "create",
        "y",
        "--password-stdin",
        "--member",
        "1:13800000001",
        "--json",
        code=1,
        stdin="long enough\n",
    )
    assert twice["error"]["code"] == "conflict"


def test_init_demo_makes_the_web_admin_once(data_dir: Path) -> None:
    first = gong("init", "--demo", "--json")
    login = first["web_login"]
    assert (login["username"], login["url"]) == ("admin", "http://127.0.0.1:8000/login")
    assert len(login["password"]) >= 16
    stored = asyncio.run(_stored_hash(data_dir, "admin"))
    assert asyncio.run(verify_password(stored, login["password"]))
    [admin] = gong("user", "list", "--json")
    assert admin["admin"] is True
    assert [m["name"] for m in admin["members"]] == ["张三"]  # linked in the demo group
    assert "web_login" not in gong("init", "--demo", "--json")  # shown once only


def test_serve_demo_prints_the_admin_login(tmp_path: Path) -> None:
    server = ServerProcess(env={}, data_dir=tmp_path / "served", args=["--demo"])
    server.start()
    try:
        banner = server.log()
        assert f"Web app:      {server.url}/login  — the admin login (shown once):" in banner
        found = re.search(r"username admin  password (\S+)", banner)
        assert found, banner
        with httpx.Client(base_url=server.url) as client:
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            answer = client.post(
                "/login",
                data={
                    "username": "admin",
                    "password": found.group(1),
                    "csrf_token": token.group(1),
                },
            )
            assert (answer.status_code, answer.headers["location"]) == (303, "/")
            home = client.get("/", headers={"Accept": "text/html"})
            assert 'data-group-id="1"' in home.text
    finally:
        server.stop()
    again = ServerProcess(env={}, data_dir=tmp_path / "served", args=["--demo"])
    again.start()
    try:
        assert "the admin login" not in again.log()
        assert f"Web app:      {again.url}/login\n" in again.log()
    finally:
        again.stop()
