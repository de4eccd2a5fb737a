"""Where callbacks may go: internal addresses and this server itself are refused when a URL is
saved and again when it is called; the connection goes to the address that was checked."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from gong.config import Settings
from gong.domain.errors import Invalid
from gong.domain.models import Outgoing
from gong.outgoing.guard import Guard, GuardedTransport, IPAddress, TargetRefused
from gong.web.app import GongApp
from tests.outgoing.callback_server import CallbackServer, text
from tests.outgoing.conftest import make_world
from tests.outgoing.test_callbacks import ADMIN, post_as

HINT = "; GONG_OUTGOING_ALLOW_PRIVATE=1 allows internal addresses"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.1/hook", "10.0.0.1, a private address" + HINT),
        ("http://172.16.5.4/", "172.16.5.4, a private address" + HINT),
        ("http://192.168.1.10:8080/", "192.168.1.10, a private address" + HINT),
        ("http://100.64.0.1/", "100.64.0.1, a private address" + HINT),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254, a link-local address" + HINT,
        ),
        ("http://127.0.0.1:9/", "127.0.0.1, a loopback address" + HINT),
        ("http://[::1]:9/", "::1, a loopback address" + HINT),
        ("http://[::ffff:127.0.0.1]:9/", "::ffff:127.0.0.1, a loopback address" + HINT),
        ("http://[fd00::1]/", "fd00::1, a private address" + HINT),
        ("http://0.0.0.0:9/", "0.0.0.0, the unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1, a multicast address"),
    ],
)
async def test_internal_addresses_are_refused(
    sqlite_settings: Settings, url: str, why: str
) -> None:
    with pytest.raises(TargetRefused) as refused:
        await Guard(sqlite_settings).check_url(url)
    assert refused.value.message == f"the outgoing URL points at {why}"


async def test_a_name_resolving_to_loopback_is_refused(sqlite_settings: Settings) -> None:
    with pytest.raises(TargetRefused) as refused:
        await Guard(sqlite_settings).check_url("http://localhost:9/")
    assert refused.value.message.startswith("the outgoing URL points at localhost (")
    assert "a loopback address" in refused.value.message


async def test_public_addresses_pass(sqlite_settings: Settings) -> None:
    guard = Guard(sqlite_settings)
    await guard.check_url("https://93.184.216.34/dingtalk")
    await guard.check_url("http://[2606:2800:220:1:248:1893:25c8:1946]:8080/")


async def test_allow_private_allows_internal_but_never_this_server(
    sqlite_settings: Settings,
) -> None:
    settings = sqlite_settings.model_copy(
        update={"outgoing_allow_private": True, "public_url": None, "port": 8123}
    )
    guard = Guard(settings)
    for url in ("http://10.0.0.1/", "http://127.0.0.1:9/", "http://localhost:9/"):
        await guard.check_url(url)
    for url in (
        "http://127.0.0.1:8123/robot/send",
        "http://localhost:8123/",
        "http://[::1]:8123/",
    ):
        with pytest.raises(TargetRefused) as refused:
            await guard.check_url(url)
        assert refused.value.message == "the outgoing URL points at this Gong server itself"
    public = sqlite_settings.model_copy(
        update={"outgoing_allow_private": True, "public_url": "https://gong.example.com"}
    )
    with pytest.raises(TargetRefused):
        await Guard(public).check_url("https://GONG.example.com/robot/send")
    for url in ("http://0.0.0.0:9/", "http://224.0.0.1/"):
        with pytest.raises(TargetRefused):
            await guard.check_url(url)


async def test_api_refuses_an_internal_outgoing_url(
    app: GongApp, client: httpx.AsyncClient
) -> None:
    group = (await client.post("/api/groups", json={"name": "g"}, headers=ADMIN)).json()
    made = await client.post(
        f"/api/groups/{group['id']}/robots",
        json={
            "name": "bot",
            "keywords": ["k"],
            "outgoing": {"url": "http://169.254.169.254/", "token": "t"},
        },
        headers=ADMIN,
    )
    assert made.status_code == 422
    assert made.json()["error"]["message"] == (
        "the outgoing URL points at 169.254.169.254, a link-local address" + HINT
    )
    ok = await client.post(
        f"/api/groups/{group['id']}/robots",
        json={
            "name": "bot",
            "keywords": ["k"],
            "outgoing": {"url": "https://93.184.216.34/", "token": "t"},
        },
        headers=ADMIN,
    )
    assert ok.status_code == 201
    assert ok.json()["outgoing"] == {"url": "https://93.184.216.34/", "token": "t"}
    assert ok.json()["settings"] == {}
    patched = await client.patch(
        f"/api/robots/{ok.json()['id']}",
        json={"outgoing": {"url": "http://[::1]:1/", "token": "t"}},
        headers=ADMIN,
    )
    assert patched.status_code == 422
    cleared = await client.patch(
        f"/api/robots/{ok.json()['id']}", json={"outgoing": None}, headers=ADMIN
    )
    assert cleared.json()["outgoing"] is None


async def test_a_url_saved_earlier_is_checked_again_at_call_time(
    app: GongApp, client: httpx.AsyncClient, bot: CallbackServer
) -> None:
    """Saved while private addresses were allowed; now they are not: nothing is sent."""
    world = await make_world(app, bot.url)  # the repository does not resolve: as if allowed
    await post_as(client, app, world, {"msgtype": "text", "text": {"content": "@ping-bot hi"}})
    await app.runtime.callbacks.idle()
    assert bot.received == []
    (call,) = (await client.get(f"/api/robots/{world.robot.id}/outgoing", headers=ADMIN)).json()
    assert (call["state"], call["attempts"], call["error"]) == (
        "failed",
        1,
        "the outgoing URL points at 127.0.0.1, a loopback address" + HINT,
    )


class _Answers(Guard):
    """DNS that answers from a script (the resolver is a remote service the tests cannot use);
    everything else is the real guard."""

    def __init__(self, settings: Settings, answers: list[list[str]]) -> None:
        super().__init__(settings)
        self.answers = answers
        self.asked: list[str] = []

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        if host in ("127.0.0.1", "gong.test"):
            return await super()._resolve(host, port)
        self.asked.append(host)
        return [ipaddress.ip_address(a) for a in self.answers.pop(0)]


async def test_rebinding_cannot_switch_the_address_after_the_check(
    sqlite_settings: Settings, bot: CallbackServer
) -> None:
    guard = _Answers(sqlite_settings, [["93.184.216.34"], ["127.0.0.1"]])
    url = f"http://bot.example:{bot.port}/dingtalk"
    await guard.check_url(url)  # first answer: public
    async with httpx.AsyncClient(transport=GuardedTransport(guard)) as client:
        with pytest.raises(TargetRefused):  # the connection resolves again: loopback, refused
            await client.post(url, json={})
    assert bot.received == []


async def test_the_connection_goes_to_the_checked_address_with_the_host_named(
    sqlite_settings: Settings, bot: CallbackServer
) -> None:
    bot.answers = [text("pong")]
    allowed = sqlite_settings.model_copy(update={"outgoing_allow_private": True})
    guard = _Answers(allowed, [["127.0.0.1"]])
    async with httpx.AsyncClient(transport=GuardedTransport(guard)) as client:
        answer = await client.post(f"http://bot.example:{bot.port}/dingtalk", json={"a": 1})
    assert answer.json() == {"msgtype": "text", "text": {"content": "pong"}}
    assert guard.asked == ["bot.example"]
    assert bot.received[0].headers["host"] == f"bot.example:{bot.port}"


async def test_outgoing_settings_are_checked(app: GongApp) -> None:
    repo = app.runtime.repository
    group = await repo.create_group("g")
    cases = {
        "ftp://example.com/": "the outgoing URL must be an http(s) URL, got 'ftp://example.com/'",
        "http://user:pw@example.com/": "the outgoing URL cannot carry a user name or password",
        "http://example.com/#x": "the outgoing URL cannot have a #fragment",
        "http://" + "a" * 64 + ".com/": (
            "the outgoing URL's host '" + "a" * 64 + ".com' is not a valid name"
        ),
    }
    for url, message in cases.items():
        with pytest.raises(Invalid) as failed:
            await repo.create_robot(
                group.id, name="b", keywords=["k"], outgoing=Outgoing(url=url, token="t")
            )
        assert str(failed.value) == message
    with pytest.raises(Invalid) as failed:
        await repo.create_robot(
            group.id, name="b", keywords=["k"], outgoing=Outgoing(url="http://e.com/", token=" ")
        )
    assert "token cannot be empty" in str(failed.value)
