"""A body that trickles in slower than ``GONG_BODY_TIMEOUT`` is answered and its connection
closed, on every endpoint that reads a body; a real ``gong serve``, raw sockets."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli

pytestmark = pytest.mark.slow

#: The test-shortened deadline (the default is 10 s).
DEADLINE = 2.0
OK = b'{"errcode":0,"errmsg":"ok"}'


@dataclass
class Gong:
    server: ServerProcess
    custom: str
    github: str


@pytest.fixture(scope="module")
def gong(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gong]:
    data = tmp_path_factory.mktemp("deadline") / "data"
    env = {"GONG_DATA_DIR": str(data), "GONG_BODY_TIMEOUT": str(DEADLINE)}
    gong_cli(["group", "create", "ops", "--json"], env)

    def robot(*args: str) -> str:
        made = gong_cli(["robot", "create", "1", "--name", "r", *args, "--json"], env).stdout
        return str(json.loads(made)["access_token"])

    custom, github = robot("--keyword", "CI"), robot("--kind", "github")
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        yield Gong(server, custom, github)
    finally:
        server.stop()
        assert "Traceback" not in server.log()


@dataclass
class Answer:
    seconds: float  # from the end of the headers to the first byte of the answer
    raw: bytes
    closed: bool  # the server closed the connection after answering

    @property
    def status(self) -> int:
        return int(self.raw.split(b" ", 2)[1])

    @property
    def body(self) -> bytes:
        return self.raw.split(b"\r\n\r\n", 1)[1]


def trickle(
    port: int,
    target: str,
    body: bytes,
    *,
    every: float,
    extra: str = "",
    content_type: str = "application/json",
) -> Answer:
    """POST ``body`` one byte every ``every`` seconds (keep-alive), stopping once answered."""
    head = (
        f"POST {target} HTTP/1.1\r\nHost: gong.test\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        started = time.monotonic()
        for i in range(len(body)):
            if select.select([sock], [], [], every)[0]:
                break  # answered before the body was complete
            try:
                sock.sendall(body[i : i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
        select.select([sock], [], [], 10)
        seconds = time.monotonic() - started
        chunks, closed = [], False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            chunks.append(chunk)
            if _complete(b"".join(chunks)):
                sock.settimeout(2)  # a closing server sends EOF next; a keep-alive one nothing
        return Answer(seconds, b"".join(chunks), closed)


def _complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return len(body) >= int(value)
    return False


#: 12 bytes, one every half second: the body would take 6 s, three times the deadline.
SLOW = b'{"msgtype":1'


def test_a_trickled_robot_body_is_refused_and_closed(gong: Gong) -> None:
    answer = trickle(gong.server.port, f"/robot/send?access_token={gong.custom}", SLOW, every=0.5)
    assert answer.seconds < DEADLINE + 1
    assert answer.status == 200
    assert answer.body == '{"errcode":40035,"errmsg":"缺少参数 json"}'.encode()
    assert answer.closed


def test_a_trickled_session_body_is_refused_and_closed(gong: Gong) -> None:
    target = "/robot/sendBySession?session=" + "0" * 32
    answer = trickle(gong.server.port, target, SLOW, every=0.5)
    assert answer.seconds < DEADLINE + 1
    assert answer.status == 200
    assert answer.body == '{"errcode":40035,"errmsg":"缺少参数 json"}'.encode()
    assert answer.closed


def test_a_trickled_integration_body_is_refused_and_closed(gong: Gong) -> None:
    target = f"/robot/send?access_token={gong.github}"
    answer = trickle(gong.server.port, target, SLOW, every=0.5, extra="X-GitHub-Event: ping\r\n")
    assert answer.seconds < DEADLINE + 1
    assert answer.status == 408  # integration senders count only non-2xx answers as failed
    assert json.loads(answer.body)["errcode"] == 40035
    assert answer.closed


def test_a_trickled_api_body_is_408_and_closed(gong: Gong) -> None:
    answer = trickle(
        gong.server.port,
        "/api/groups",
        b'{"name":"slow"}',
        every=0.5,
        extra=f"Authorization: Bearer {ADMIN_TOKEN}\r\n",
    )
    assert answer.seconds < DEADLINE + 1
    assert answer.status == 408
    assert json.loads(answer.body)["error"]["code"] == "request_timeout"
    assert answer.closed


def test_a_trickled_sign_in_form_is_408_and_closed(gong: Gong) -> None:
    answer = trickle(
        gong.server.port,
        "/login",
        b"username=alice&password=x",
        every=0.5,
        extra="Accept: text/html\r\n",  # a browser: the answer is a page
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.seconds < DEADLINE + 1
    assert answer.status == 408
    assert b"<html" in answer.body
    assert answer.closed


def test_slow_bodies_within_the_deadline_and_normal_requests_work(gong: Gong) -> None:
    body = b'{"msgtype":"text","text":{"content":"CI slow"}}'  # 48 bytes over ~1 s
    slow = trickle(gong.server.port, f"/robot/send?access_token={gong.custom}", body, every=0.02)
    assert (slow.status, slow.body, slow.closed) == (200, OK, False)
    made = trickle(
        gong.server.port,
        "/api/groups",
        b'{"name":"slow but in time"}',
        every=0.03,
        extra=f"Authorization: Bearer {ADMIN_TOKEN}\r\n",
    )
    assert (made.status, made.closed) == (201, False)
    url = f"{gong.server.url}/robot/send?access_token={gong.custom}"
    with httpx.Client(timeout=10) as client:  # one keep-alive connection, several requests
        for n in range(3):
            answer = client.post(url, json={"msgtype": "text", "text": {"content": f"CI {n}"}})
            assert answer.content == OK
        assert client.get(f"{gong.server.url}/healthz").status_code == 200
