"""No secret reaches the server's output, whatever the log settings.

A real ``gong serve`` runs with every log setting turned up (DEBUG, text or JSON, the access log
on or left at its default, one worker or two) and takes every kind of call there is: keyword and
signed robots (good and bad signatures), integration robots (good and bad source secrets), relayed
robots whose upstream answers, fails or refuses connections, outgoing robots called back (and
failing), the management API, a web sign-in and its session. Then every secret used on the way
— tokens, secrets, signatures (also URL-encoded), passwords, cookies — is looked for in all the
server wrote to stdout and stderr, and in ``/metrics``.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import httpx
import pytest

from gong.protocol.signing import generate_secret, signed_query
from gong.web.auth.sessions import COOKIE
from tests.fakes import Answer as UpstreamAnswer
from tests.fakes import FakeDingTalk
from tests.helpers import ADMIN_TOKEN, ServerProcess, free_port, gong_cli, now_ms
from tests.integrations.deliveries import deliver
from tests.outgoing.callback_server import Answer, CallbackServer, text
from tests.web.webapp import csrf_of

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
OK = {"errcode": 0, "errmsg": "ok"}
PASSWORD = "pw-" + secrets.token_urlsafe(12)


@dataclass
class Secrets:
    """Every secret a run used, by where it came from."""

    found: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str | None) -> str:
        assert value, f"{name} is empty"
        self.found[value] = name
        return value

    def forms(self) -> Iterator[tuple[str, str]]:
        """Each secret as it is, and as it looks URL-encoded (``+`` → ``%2B``, ``/`` → ``%2F``)."""
        for value, name in self.found.items():
            for form in {value, quote_plus(value), quote(value, safe="")}:
                yield form, name


def wait_until(check: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def raw_request(port: int, request: bytes) -> None:
    """Send bytes as they are (a WebSocket handshake, a malformed request); read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        with contextlib.suppress(OSError):
            sock.recv(65536)


class Site:
    """A ``gong serve`` and the calls a run makes to it, recording each secret used."""

    def __init__(self, server: ServerProcess, env: dict[str, str], secrets_: Secrets) -> None:
        self.server = server
        self.env = env
        self.secrets = secrets_
        self.http = httpx.Client(base_url=server.url, timeout=10)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, headers=ADMIN, **kwargs)
        assert answer.is_success, answer.text
        return answer.json() if answer.content else None

    def robot(self, group: int, name: str, **spec: Any) -> dict[str, Any]:
        made: dict[str, Any] = self.api(
            "POST", f"/api/groups/{group}/robots", json={"name": name, **spec}
        )
        self.secrets.add(f"access_token of {name}", made["access_token"])
        if made.get("secret"):
            self.secrets.add(f"secret of {name}", made["secret"])
        return made

    def send(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.post(url, json=body).json()
        return answer


def drive_robots(site: Site, group: int) -> None:
    """Keyword and signed robots, wrong tokens, and calls uvicorn itself may log."""
    s = site.secrets
    keyword = site.robot(group, "keyword", keywords=["deploy"])
    url = f"/robot/send?access_token={keyword['access_token']}"
    assert site.send(url, {"msgtype": "text", "text": {"content": "deploy 1"}}) == OK
    assert site.send(url, {"msgtype": "text", "text": {"content": "no word"}})["errcode"] != 0

    signed = site.robot(group, "signed", signing=True)
    base = f"/robot/send?access_token={signed['access_token']}"
    good = signed_query(signed["secret"], now_ms())
    s.add("a good sign", parse_qs(good)["sign"][0])
    assert site.send(f"{base}&{good}", {"msgtype": "text", "text": {"content": "hi"}}) == OK
    bad = signed_query(s.add("a wrong secret", generate_secret()), now_ms())
    s.add("a bad sign", parse_qs(bad)["sign"][0])
    assert site.send(f"{base}&{bad}", {"msgtype": "text", "text": {"content": "hi"}})["errcode"]
    stale = signed_query(signed["secret"], now_ms() - 7_200_000)
    s.add("a stale sign", parse_qs(stale)["sign"][0])
    assert site.send(f"{base}&{stale}", {"msgtype": "text", "text": {"content": "hi"}})["errcode"]

    unknown = s.add("an unknown access_token", secrets.token_hex(32))
    assert site.send(f"/robot/send?access_token={unknown}", {"msgtype": "text"})["errcode"]
    assert site.http.get(f"/robot/send?access_token={keyword['access_token']}").status_code
    site.http.post(url, content=b"{not json", headers={"Content-Type": "application/json"})

    # A WebSocket handshake and a malformed request, both with a token in the query string.
    raw_request(
        site.server.port,
        f"GET /robot/send?access_token={keyword['access_token']}&{good} "
        "HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode(),
    )
    raw_request(
        site.server.port,
        f"POST /robot/send?access_token={keyword['access_token']} HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 5\r\nContent-Length: 7\r\n\r\n{}".encode(),
    )
    raw_request(
        site.server.port,
        f"POST /robot/send?access_token={keyword['access_token']}\x01 HTTP/1.1\r\n\r\n".encode(),
    )


def drive_integrations(site: Site, group: int) -> None:
    """GitHub (an HMAC) and GitLab (the secret itself) robots: the source secret and a wrong one."""
    s = site.secrets
    source = s.add("a source secret", "src-" + secrets.token_urlsafe(18))
    wrong = s.add("a wrong source secret", "src-" + secrets.token_urlsafe(18))
    for kind, event in (("github", "pull_request_opened"), ("gitlab", "pipeline_failed")):
        robot = site.robot(group, kind, kind=kind, settings={"source_secret": source})
        for secret, status in ((source, 200), (wrong, 403)):
            delivery = deliver(kind, event, secret=secret)
            for header in ("X-Hub-Signature-256", "X-Hub-Signature"):
                if header in delivery.headers:
                    s.add(f"{kind}'s {header}", delivery.headers[header].partition("=")[2])
            answer = site.http.post(
                robot["webhook"], content=delivery.body, headers=delivery.headers
            )
            assert answer.status_code == status, answer.text


def drive_relay(site: Site, group: int, fake: FakeDingTalk, echoing: FakeDingTalk) -> list[int]:
    """Relayed robots: an upstream that fails once then takes it, one that refuses connections,
    one that refuses the signature (a wrong upstream secret), one whose refusal quotes its own
    URL. Returns the robots' ids."""
    s = site.secrets
    up_secret = s.add("the upstream secret", fake.secret)
    s.add("the upstream access_token", fake.token)
    s.add("the echoing upstream's access_token", echoing.token)
    closed = f"http://127.0.0.1:{free_port()}/robot/send?access_token=" + s.add(
        "a closed upstream's access_token", secrets.token_hex(32)
    )
    upstreams = [
        (fake.url, up_secret),
        (closed, s.add("a closed upstream's secret", generate_secret())),
        (fake.url, s.add("a wrong upstream secret", generate_secret())),
        (echoing.url, None),
    ]
    fake.answer(UpstreamAnswer(status=500, body=b"upstream trouble"))
    echoing.answer(
        json.dumps(
            {"errcode": 300005, "errmsg": f"robot /robot/send?access_token={echoing.token} gone"}
        ).encode()
    )
    ids = []
    for n, (url, secret) in enumerate(upstreams):
        robot = site.robot(
            group,
            f"relayed-{n}",
            keywords=["alert"],
            rate_limit={"limit": 0},
            upstream={"url": url, "secret": secret},
        )
        hook = f"/robot/send?access_token={robot['access_token']}"
        assert site.send(hook, {"msgtype": "text", "text": {"content": "alert 1"}}) == OK
        ids.append(int(robot["id"]))
    return ids


def relay_settled(site: Site, ids: list[int]) -> bool:
    for robot_id in ids:
        counts = site.api("GET", f"/api/robots/{robot_id}/deliveries")["counts"]
        if counts.get("pending"):
            return False
    return True


def drive_web_and_outgoing(site: Site, group: int, callbacks: CallbackServer) -> None:
    """Outgoing robots (one answering after a 500, one unreachable), reached by a person's post
    from a web session; a wrong and a right password; the sessionWebhook, and a wrong one."""
    s = site.secrets
    site.api(
        "POST",
        f"/api/groups/{group}/members",
        json={"name": "张三", "mobile": "13800000001", "userId": "zhangsan"},
    )
    echo_url = callbacks.url + "?key=" + s.add("an outgoing URL's key", secrets.token_urlsafe(16))
    dead_url = f"http://127.0.0.1:{free_port()}/cb?token=" + s.add(
        "a dead outgoing URL's token", secrets.token_urlsafe(16)
    )
    ids = []
    for name, url in (("echo", echo_url), ("dead", dead_url)):
        token = s.add(f"outgoing token of {name}", "out-" + secrets.token_urlsafe(18))
        robot = site.robot(group, name, signing=True, outgoing={"url": url, "token": token})
        ids.append(int(robot["id"]))
    gong_cli(
        ["user", "create", "zhang", "--password-stdin", "--member", f"{group}:13800000001"],
        site.env,
        input=PASSWORD + "\n",
    )
    web = httpx.Client(base_url=site.server.url, timeout=10, follow_redirects=False)
    with web:
        page = web.get("/login")
        s.add("the login CSRF token", csrf_of(page.text))
        s.add("the first session cookie", web.cookies[COOKIE])
        wrong = s.add("a wrong password", "pw-" + secrets.token_urlsafe(12))
        refused = web.post(
            "/login",
            data={"username": "zhang", "password": wrong, "csrf_token": csrf_of(page.text)},
        )
        assert refused.status_code == 401
        assert wrong not in refused.text  # the page shown to the person
        signed_in = web.post(
            "/login",
            data={"username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(refused.text)},
        )
        assert signed_in.status_code == 303, signed_in.text
        s.add("the session cookie", web.cookies[COOKIE])
        conversation = web.get(f"/groups/{group}")
        assert conversation.status_code == 200
        csrf = s.add("the session's CSRF token", csrf_of(conversation.text))
        posted = web.post(
            f"/api/groups/{group}/messages",
            json={"msgtype": "text", "text": {"content": "@echo ping @dead ping"}},
            headers={"X-CSRF-Token": csrf},
        )
        assert posted.status_code == 201, posted.text
        assert sorted(posted.json()["callbacks"]) == sorted(ids)
        callbacks.wait(2)
        for received in callbacks.received:
            s.add("an outgoing callback's sign", received.headers["sign"])
            assert s.found[received.headers["token"]] == "outgoing token of echo"
            session_url = received.json()["sessionWebhook"]
        s.add("a sessionWebhook's session", parse_qs(urlsplit(session_url).query)["session"][0])
        later = site.http.post(session_url, json={"msgtype": "text", "text": {"content": "later"}})
        assert later.json() == OK
        wrong_session = s.add("an unknown session", secrets.token_hex(16))
        site.http.post(
            f"/robot/sendBySession?session={wrong_session}",
            json={"msgtype": "text", "text": {"content": "x"}},
        )
        wait_until(lambda: outgoing_settled(site, ids), "the outgoing callbacks")
        # What the sender sees of the failure (a note): no token of the robot's service.
        shown = web.get(f"/groups/{group}").text
        assert "dead did not answer" in shown
        for secret, name in s.forms():
            if "outgoing" in name:
                assert secret not in shown, f"{name} shown to a person"


def outgoing_settled(site: Site, ids: list[int]) -> bool:
    return all(
        any(
            c["state"] in ("answered", "failed")
            for c in site.api("GET", f"/api/robots/{i}/outgoing")
        )
        for i in ids
    )


def drive_admin(site: Site, group: int) -> None:
    s = site.secrets
    s.add("the admin token", ADMIN_TOKEN)
    wrong = s.add("a wrong admin token", "gong_" + secrets.token_urlsafe(32))
    assert site.http.get("/api/groups", headers={"Authorization": f"Bearer {wrong}"}).status_code
    robots = site.api("GET", f"/api/groups/{group}/robots")
    assert robots
    first = robots[0]["id"]
    s.add("a new access_token", site.api("POST", f"/api/robots/{first}/token")["access_token"])
    s.add("a new secret", site.api("POST", f"/api/robots/{first}/secret")["secret"])
    site.http.get("/api/groups/999999", headers=ADMIN)
    site.http.get("/readyz")


CASES = [
    pytest.param("text", "1", 1, id="text-access-log"),
    pytest.param("json", "1", 1, id="json-access-log"),
    pytest.param("text", None, 1, id="text-default"),
    pytest.param("json", None, 2, id="json-default-two-workers"),
]


@pytest.mark.parametrize(("log_format", "access_log", "workers"), CASES)
def test_no_secret_reaches_the_log(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    log_format: str,
    access_log: str | None,
    workers: int,
) -> None:
    data = tmp_path / "data"
    env = {
        "GONG_DATA_DIR": str(data),
        "GONG_LOG_LEVEL": "DEBUG",
        "GONG_LOG_FORMAT": log_format,
        "GONG_OUTGOING_ALLOW_PRIVATE": "1",
        "GONG_OUTGOING_ATTEMPTS": "2",
        "GONG_OUTGOING_BACKOFF_SECONDS": "0.1",
        "GONG_OUTGOING_TIMEOUT_SECONDS": "2",
        "GONG_RELAY_MAX_ATTEMPTS": "2",
        "GONG_RELAY_TIMEOUT_SECONDS": "2",
        "GONG_RELAY_POLL_SECONDS": "0.1",
    }
    if access_log is not None:
        env["GONG_ACCESS_LOG"] = access_log
    if workers > 1:
        env["GONG_REDIS_URL"] = request.getfixturevalue("redis_url")
        env["GONG_REDIS_PREFIX"] = request.getfixturevalue("redis_prefix")
    found = Secrets()
    fake = FakeDingTalk(secret=generate_secret(), token=secrets.token_hex(32)).start()
    echoing = FakeDingTalk(token="up-" + secrets.token_urlsafe(24)).start()
    callbacks = CallbackServer(answers=[Answer(status=500), text("pong")]).start()
    server = ServerProcess(env=env, data_dir=data, workers=workers)
    server.start()
    site = Site(server, {**env, "GONG_PORT": str(server.port)}, found)
    try:
        group = int(site.api("POST", "/api/groups", json={"name": "ops"})["id"])
        drive_robots(site, group)
        drive_integrations(site, group)
        relayed = drive_relay(site, group, fake, echoing)
        drive_web_and_outgoing(site, group, callbacks)
        wait_until(lambda: relay_settled(site, relayed), "the relay")
        for received in fake.received:
            found.add("a sign sent upstream", received.query.get("sign"))
        drive_admin(site, group)
        metrics = site.http.get("/metrics").text
    finally:
        site.http.close()
        server.stop()
        callbacks.stop()
        fake.stop()
        echoing.stop()
    states = [r.answered for r in fake.received]
    assert None in states and 0 in states and 310000 in states, states  # each upstream case ran
    assert [r.answered for r in echoing.received] == [300005]
    output = server.log()
    assert len(re.findall(r"Started server process \[\d+\]", output)) == workers
    assert " DEBUG " in output or '"level":"DEBUG"' in output  # the level took effect
    leaks = [
        f"{name} ({form[:6]}…) in: {line[:300]}"
        for form, name in found.forms()
        for line in output.splitlines()
        if form in line
    ]
    leaks += [f"{name} in /metrics" for form, name in found.forms() if form in metrics]
    assert not leaks, "\n".join(leaks)
    access_lines = [line for line in output.splitlines() if "gong.access" in line]
    if access_log:
        assert any("/robot/send" in line for line in access_lines), "the robot API is not logged"
        assert any("/api/groups" in line for line in access_lines)
    else:
        assert not access_lines
    assert "uvicorn.access" not in output, "uvicorn's access log wrote"
    assert not re.search(r"/robot/send\S* HTTP/1\.[01]", output), "a request line was logged"
    if log_format == "json":
        for line in output.splitlines():
            if line.startswith("{"):
                json.loads(line)
