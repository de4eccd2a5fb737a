"""Where the relay may send: the outbound guard checks an upstream when it is saved (API, CLI)
and again at every send, connecting only to the addresses it checked; a redirect is a failed
send, never followed. Private addresses are allowed only with GONG_OUTGOING_ALLOW_PRIVATE=1."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from gong.cli import app as cli
from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.errors import Invalid
from gong.domain.models import DeliveryState, Upstream
from gong.outgoing.guard import Guard, IPAddress
from gong.relay.targets import checked_upstream, upstream_guard
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.fakes import OK, FakeDingTalk
from tests.helpers import serve_in_thread, stop_server
from tests.outgoing.addresses import HINT, REFUSED, refusals
from tests.relay.conftest import UPSTREAM_SECRET, Relay, open_relay

#: A public address: saving resolves the host, and the tests have no DNS server.
PUBLIC = "https://93.184.216.34/robot/send?access_token=" + "d" * 64


def port_of(fake: FakeDingTalk) -> int:
    port = urlsplit(fake.url).port
    assert port is not None
    return port


async def failure_of(relay: Relay) -> str | None:
    """Post one alert, let the lane settle, and return why its send failed."""
    await relay.post_alerts(1)
    await relay.drive()
    [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.send is not None
    assert delivery.send.errcode is None
    return delivery.send.errmsg


class ScriptedDNS(Guard):
    """The real guard, with DNS answers from a script (the tests have no resolver to rebind)."""

    def __init__(self, settings: Settings, answers: list[str]) -> None:
        super().__init__(settings, subject="the upstream URL")
        self.answers = answers

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        if host.endswith(".example"):
            return [ipaddress.ip_address(self.answers.pop(0))]
        return await super()._resolve(host, port)


# -- when an upstream is saved -------------------------------------------------------------------


async def test_the_api_refuses_every_internal_upstream(
    app: GongApp, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    group = (await client.post("/api/groups", json={"name": "ops"}, headers=admin_headers)).json()
    answers: dict[str, tuple[int, str]] = {}
    for url, _ in REFUSED:
        made = await client.post(
            f"/api/groups/{group['id']}/robots",
            json={"name": "alerts", "keywords": ["alert"], "upstream": {"url": url}},
            headers=admin_headers,
        )
        answers[url] = (made.status_code, made.json().get("error", {}).get("message", ""))
    wrong = {
        url: answers[url]
        for url, why in REFUSED
        if answers[url][0] != 422
        or (
            answers[url][1] not in refusals("the upstream URL", why)
            and not answers[url][1].startswith("body.upstream.url: ")  # the schema refused it
        )
    }
    assert wrong == {}
    assert await app.runtime.robots.list() == []

    # A PATCH is checked the same way, and leaves the upstream it had.
    robot = (
        await client.post(
            f"/api/groups/{group['id']}/robots",
            json={"name": "alerts", "keywords": ["alert"], "upstream": {"url": PUBLIC}},
            headers=admin_headers,
        )
    ).json()
    patched = await client.patch(
        f"/api/robots/{robot['id']}",
        json={"upstream": {"url": "http://[2002:7f00:1::]:9/"}},
        headers=admin_headers,
    )
    assert patched.status_code == 422
    assert patched.json()["error"]["message"] == (
        "the upstream URL points at 2002:7f00:1::, a 6to4 address of 127.0.0.1, "
        "a loopback address" + HINT
    )
    assert (await app.runtime.robots.get(robot["id"])).upstream == Upstream(url=PUBLIC)


async def test_the_api_accepts_private_upstreams_when_allowed(
    sqlite_settings: Settings, clock: ManualClock, admin_headers: dict[str, str]
) -> None:
    allowed = sqlite_settings.model_copy(
        update={"outgoing_allow_private": True, "relay_enabled": False}
    )
    gong = create_app(allowed, clock=clock)
    await gong.startup()
    try:
        async with make_client(gong) as client:
            group = (
                await client.post("/api/groups", json={"name": "ops"}, headers=admin_headers)
            ).json()
            urls = [
                "http://127.0.0.1:9/robot/send",
                "http://[2002:a00:1::]:9/",
                "http://[fd00::1]/",
            ]
            for url in urls:
                made = await client.post(
                    f"/api/groups/{group['id']}/robots",
                    json={"name": "alerts", "keywords": ["alert"], "upstream": {"url": url}},
                    headers=admin_headers,
                )
                assert made.status_code == 201, made.text
            # Never this server itself, nor what is refused always.
            for url, message in [
                ("http://gong.test/robot/send", "this Gong server itself"),
                ("http://0.0.0.0:9/", "0.0.0.0, the unspecified address"),
                ("http://[ff02::1]:9/", "ff02::1, a multicast address"),
            ]:
                refused = await client.post(
                    f"/api/groups/{group['id']}/robots",
                    json={"name": "alerts", "keywords": ["alert"], "upstream": {"url": url}},
                    headers=admin_headers,
                )
                assert refused.status_code == 422
                assert refused.json()["error"]["message"] == f"the upstream URL points at {message}"
    finally:
        await gong.shutdown()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://u:p@93.184.216.34/", "the upstream URL cannot carry a user name or password"),
        ("https://93.184.216.34:99999/", "the upstream must be an http(s) webhook URL, got "),
        ("http://[2002:7f00:1::]:9/", "the upstream URL points at 2002:7f00:1::, a 6to4 "),
    ],
)
async def test_the_form_is_checked_before_where_it_points(
    sqlite_settings: Settings, url: str, message: str
) -> None:
    with pytest.raises(Invalid) as refused:
        await checked_upstream(upstream_guard(sqlite_settings), Upstream(url=url))
    assert refused.value.message.startswith(message)


runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A database with one group, for the CLI in process; private addresses not allowed."""
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)
    env = {
        "GONG_DATA_DIR": str(tmp_path / "data"),
        "GONG_PUBLIC_URL": "http://gong.test",
        "GONG_OUTGOING_ALLOW_PRIVATE": "0",
    }
    assert runner.invoke(cli, ["group", "create", "ops"], env=env).exit_code == 0
    return env


def gong_cli(args: list[str], env: dict[str, str]) -> tuple[int, Any]:
    result = runner.invoke(cli, [*args, "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def test_the_cli_refuses_every_internal_upstream(cli_env: dict[str, str]) -> None:
    create = ["robot", "create", "1", "--name", "alerts", "--keyword", "alert", "--upstream"]
    answers = {url: gong_cli([*create, url], cli_env) for url, _ in REFUSED}
    wrong = {
        url: answers[url]
        for url, why in REFUSED
        if answers[url][0] != 1
        or answers[url][1]["error"]["message"] not in refusals("the upstream URL", why)
    }
    assert wrong == {}
    assert gong_cli(["robot", "list"], cli_env) == (0, [])

    code, robot = gong_cli([*create, PUBLIC], cli_env)
    assert code == 0
    assert robot["upstream"]["url"] == PUBLIC
    code, refused = gong_cli(
        ["robot", "update", str(robot["id"]), "--upstream", "http://2852039166:9/"], cli_env
    )
    assert code == 1
    assert refused["error"]["message"] == (
        "the upstream URL points at 2852039166 (169.254.169.254), a link-local address" + HINT
    )
    # Not around the check either, as a raw setting.
    code, refused = gong_cli(
        ["robot", "update", str(robot["id"]), "--set", 'upstream={"url": "http://127.0.0.1:9/"}'],
        cli_env,
    )
    assert code == 1
    assert refused["error"]["message"] == "--set upstream: use --upstream URL"
    assert gong_cli(["robot", "show", str(robot["id"])], cli_env)[1]["upstream"]["url"] == PUBLIC

    allowed = {**cli_env, "GONG_OUTGOING_ALLOW_PRIVATE": "1"}
    code, private = gong_cli([*create, "http://127.0.0.1:9/robot/send"], allowed)
    assert code == 0
    assert private["upstream"]["url"] == "http://127.0.0.1:9/robot/send"


# -- when the relay sends --------------------------------------------------------------------------


async def test_a_name_resolving_to_loopback_is_refused_when_the_relay_sends(
    sqlite_settings: Settings, fake: FakeDingTalk
) -> None:
    """Stored without the check (as if saved while allowed): the send is refused, and nothing
    reaches the listener the name leads to."""
    url = f"http://localhost:{port_of(fake)}/robot/send?access_token={fake.token}"
    relay = await open_relay(
        sqlite_settings, fake, Upstream(url=url, secret=UPSTREAM_SECRET), allow_private=False
    )
    try:
        errmsg = await failure_of(relay)
        assert errmsg in refusals(
            "the upstream URL", "localhost (127.0.0.1), a loopback address" + HINT
        )
        assert fake.received == []
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


async def test_rebinding_cannot_switch_the_upstream_to_loopback(
    sqlite_settings: Settings, fake: FakeDingTalk
) -> None:
    url = f"http://dingtalk.example:{port_of(fake)}/robot/send?access_token={fake.token}"
    guard = ScriptedDNS(sqlite_settings, ["93.184.216.34", "127.0.0.1"])
    upstream = await checked_upstream(guard, Upstream(url=url, secret=UPSTREAM_SECRET))
    relay = await open_relay(sqlite_settings, fake, upstream, allow_private=False, guard=guard)
    try:
        errmsg = await failure_of(relay)
        assert errmsg == (
            "the upstream URL points at dingtalk.example (127.0.0.1), a loopback address" + HINT
        )
        assert fake.received == []
        assert guard.answers == []
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("2002:7f00:1::", "a 6to4 address of 127.0.0.1, a loopback address"),
        ("64:ff9b::7f00:1", "a NAT64 address of 127.0.0.1, a loopback address"),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "a Teredo address of 127.0.0.1, a loopback address",
        ),
        ("::7f00:1", "an IPv4-compatible address of 127.0.0.1, a loopback address"),
        ("::ffff:7f00:1", "a loopback address"),
    ],
)
async def test_ipv6_forms_of_loopback_are_refused_when_the_relay_sends(
    sqlite_settings: Settings, fake: FakeDingTalk, answer: str, why: str
) -> None:
    url = f"http://dingtalk.example:{port_of(fake)}/robot/send?access_token={fake.token}"
    relay = await open_relay(
        sqlite_settings,
        fake,
        Upstream(url=url, secret=UPSTREAM_SECRET),
        allow_private=False,
        guard=ScriptedDNS(sqlite_settings, [answer]),
    )
    try:
        assert await failure_of(relay) == (
            f"the upstream URL points at dingtalk.example ({answer}), {why}{HINT}"
        )
        assert fake.received == []
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


async def test_this_server_is_refused_when_the_relay_sends_even_if_private_is_allowed(
    sqlite_settings: Settings, fake: FakeDingTalk
) -> None:
    itself = Upstream(url="http://gong.test/robot/send?access_token=" + "e" * 64)
    relay = await open_relay(sqlite_settings, fake, itself, allow_private=True)
    try:
        assert await failure_of(relay) == "the upstream URL points at this Gong server itself"
    finally:
        await relay.worker.stop()
        await relay.runtime.close()


async def test_private_upstreams_are_relayed_when_allowed(relay: Relay) -> None:
    """The relay fixture allows private addresses: its fake DingTalk is on 127.0.0.1."""
    assert relay.worker.guard.allow_private
    await relay.post_alerts(1)
    await relay.drive()
    assert len(relay.fake.delivered) == 1
    assert await relay.runtime.outbox.counts(relay.robot.id) == {
        "pending": 0,
        "sent": 1,
        "digested": 0,
        "failed": 0,
    }


# -- redirects -------------------------------------------------------------------------------------


@dataclass
class Redirector:
    """A listener that answers every POST with ``status`` and a ``Location``; its body is
    DingTalk's success, so a client reading the body alone would call the send done."""

    status: int = 302
    location: str = ""
    hits: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> Redirector:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits.append(self.path)
                self.send_response(outer.status)
                self.send_header("Location", outer.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(OK)))
                self.end_headers()
                self.wfile.write(OK)

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)


@pytest.fixture
def redirector() -> Iterator[Redirector]:
    server = Redirector().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_a_failed_send_and_is_not_followed(
    sqlite_settings: Settings, fake: FakeDingTalk, redirector: Redirector, status: int
) -> None:
    """Private addresses allowed, so only the redirect rule stands between the two listeners:
    the second (a fake DingTalk that would accept the message) receives nothing. The reason
    names where the redirect led, without its query (it may carry a token)."""
    redirector.status = status
    redirector.location = fake.url
    url = f"http://127.0.0.1:{redirector.port}/robot/send?access_token=t"
    relay = await open_relay(sqlite_settings, fake, Upstream(url=url), allow_private=True)
    try:
        assert await failure_of(relay) == (
            f"the upstream answered HTTP {status}, a redirect to "
            f"http://127.0.0.1:{port_of(fake)}/robot/send; redirects are not followed"
        )
        assert redirector.hits == ["/robot/send?access_token=t"]
        assert fake.received == []
    finally:
        await relay.worker.stop()
        await relay.runtime.close()
