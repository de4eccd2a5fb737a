"""A real ``gong serve`` process, real sockets, real restarts."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli, now_ms, signed_url

pytestmark = pytest.mark.slow
OK = {"errcode": 0, "errmsg": "ok"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"GONG_DATA_DIR": str(data_dir), **extra}


def _setup_robot(env: dict[str, str], *args: str) -> dict[str, object]:
    gong_cli(["group", "create", "ops", "--json"], env)
    gong_cli(["member", "add", "1", "--name", "张三", "--mobile", "13800000001", "--json"], env)
    import json

    return dict(
        json.loads(gong_cli(["robot", "create", "1", "--name", "ci", *args, "--json"], env).stdout)
    )


def test_real_client_over_a_socket_and_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _env(data)
    robot = _setup_robot(env, "--keyword", "CI", "--sign")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        token, secret = str(robot["access_token"]), str(robot["secret"])
        with httpx.Client(timeout=10) as client:
            for n in range(5):
                body = {
                    "msgtype": "markdown",
                    "markdown": {"title": f"CI {n}", "text": f"### build {n}"},
                    "at": {"atMobiles": ["13800000001"]},
                    "msgUuid": f"build-{n}",
                }
                answer = client.post(signed_url(server.url, token, secret, now_ms()), json=body)
                assert answer.status_code == 200
                assert answer.text == '{"errcode":0,"errmsg":"ok"}'
            wrong = client.post(
                f"{server.url}/robot/send?access_token={token}", json={"msgtype": "text"}
            )
            assert wrong.json()["errcode"] == 400402
    finally:
        # uvicorn finishes gracefully, then re-raises SIGTERM so the exit status tells the signal.
        assert server.stop() in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in server.log()

    # The messages survived the restart; msgUuid dedup did too.
    server.start()
    try:
        with httpx.Client(timeout=10) as client:
            body = {
                "msgtype": "markdown",
                "markdown": {"title": "CI 0", "text": "again"},
                "msgUuid": "build-0",
            }
            assert (
                client.post(signed_url(server.url, token, secret, now_ms()), json=body).json() == OK
            )
            page = client.get(f"{server.url}/api/groups/1/messages", headers=ADMIN).json()
        assert [m["content"]["markdown"]["title"] for m in page["messages"]] == [
            f"CI {n}" for n in range(4, -1, -1)
        ]
        assert page["messages"][0]["mentions"][0]["name"] == "张三"
    finally:
        server.stop()

    import json

    listed = json.loads(gong_cli(["messages", "1", "--limit", "2", "--json"], env).stdout)
    assert [m["msgtype"] for m in listed] == ["markdown", "markdown"]
    assert listed[0]["payload"] == {
        "msgtype": "markdown",
        "markdown": {"title": "CI 4", "text": "### build 4"},
        "at": {"atMobiles": ["13800000001"]},
        "msgUuid": "build-4",
    }


def test_raw_http_edge_cases_over_a_socket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _env(data)
    robot = _setup_robot(env, "--keyword", "CI")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        token = robot["access_token"]

        def raw(request: bytes) -> bytes:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(request)
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
            return b"".join(chunks)

        body = b'{"msgtype":"text","text":{"content":"CI ok"}}'
        noise = "&".join(f"{i % 10}=" for i in range(10_000))
        answer = raw(
            f"POST /robot/send?{noise}&access_token={token} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        assert answer.startswith(b"HTTP/1.1 200")
        assert answer.endswith(b'{"errcode":0,"errmsg":"ok"}')
        # A 1 MB body is refused without being stored; the server stays healthy.
        big = b"x" * 1_000_000
        answer = raw(
            f"POST /robot/send?access_token={token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(big)}\r\nConnection: close\r\n\r\n".encode()
            + big
        )
        assert b'"errcode":460101' in answer
        # Invalid UTF-8.
        bad = b'{"msgtype":"text","text":{"content":"CI \xff"}}'
        answer = raw(
            f"POST /robot/send?access_token={token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(bad)}\r\nConnection: close\r\n\r\n".encode()
            + bad
        )
        assert answer.endswith('{"errcode":40035,"errmsg":"缺少参数 json"}'.encode())
        assert httpx.get(server.url + "/healthz").status_code == 200
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_cli_changes_reach_a_running_server_within_a_second(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = _env(data)
    robot = _setup_robot(env, "--keyword", "CI")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        url = f"{server.url}/robot/send?access_token={robot['access_token']}"
        body = {"msgtype": "text", "text": {"content": "CI"}}
        assert httpx.post(url, json=body).json() == OK
        for command, expected in [("disable", 400102), ("enable", 0)]:
            gong_cli(["robot", command, str(robot["id"]), "--json"], env)
            changed = time.monotonic()
            while httpx.post(url, json=body).json()["errcode"] != expected:
                assert time.monotonic() - changed < 1.0, f"{command} not in effect after 1 s"
                time.sleep(0.02)
    finally:
        server.stop()


def test_demo_start_prints_a_curl_line_that_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(env=_env(data), data_dir=data, args=["--demo"])
    server.start()
    try:
        log = server.log()
        assert re.search(r"Gong.* is starting at http://127\.0\.0\.1:\d+", log)
        curl = next(line.strip() for line in log.splitlines() if line.strip().startswith("curl "))
        assert "我就是我, 是不一样的烟火" in curl
        result = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
        assert result.stdout == '{"errcode":0,"errmsg":"ok"}'
    finally:
        server.stop()


def test_postgresql_server_keeps_messages_across_restart(tmp_path: Path, pg_database: str) -> None:
    from tests.conftest import _pg_reset

    asyncio.run(_pg_reset(pg_database))
    data = tmp_path / "data"
    env = _env(data, GONG_DATABASE_URL=pg_database)
    robot = _setup_robot(env, "--keyword", "CI")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        url = f"{server.url}/robot/send?access_token={robot['access_token']}"
        for n in range(3):
            assert (
                httpx.post(url, json={"msgtype": "text", "text": {"content": f"CI {n}"}}).json()
                == OK
            )
    finally:
        server.stop()
    server.start()
    try:
        page = httpx.get(f"{server.url}/api/groups/1/messages", headers=ADMIN).json()
        assert [m["payload"]["text"]["content"] for m in page["messages"]] == [
            "CI 2",
            "CI 1",
            "CI 0",
        ]
    finally:
        server.stop()
