"""Where callbacks may go: internal addresses and this server itself are refused when a URL is
saved and again when it is called; the connection goes to the address that was checked."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from gong.config import Settings
from gong.domain.errors import Invalid
from gong.domain.models import Outgoing
from gong.outgoing.guard import (
    Guard,
    GuardedTransport,
    IPAddress,
    TargetRefused,
    refused_because,
)
from gong.web.app import GongApp
from tests.helpers import create_robot
from tests.outgoing.addresses import HINT, REFUSED, refusals
from tests.outgoing.callback_server import CallbackServer, text
from tests.outgoing.conftest import make_world
from tests.outgoing.test_callbacks import ADMIN, post_as


@pytest.mark.parametrize(("url", "why"), REFUSED)
async def test_internal_addresses_are_refused(
    sqlite_settings: Settings, url: str, why: str
) -> None:
    with pytest.raises(TargetRefused) as refused:
        await Guard(sqlite_settings).check_url(url)
    assert refused.value.message in refusals("the outgoing URL", why)


@pytest.mark.parametrize(
    ("address", "why", "allowed_why"),
    [
        ("2002:7f00:1::", "a 6to4 address of 127.0.0.1, a loopback address", None),
        ("64:ff9b::a9fe:a9fe", "a NAT64 address of 169.254.169.254, a link-local address", None),
        ("::7f00:1", "an IPv4-compatible address of 127.0.0.1, a loopback address", None),
        ("::ffff:0:a00:1", "an IPv4-translated address of 10.0.0.1, a private address", None),
        ("::ffff:7f00:1", "a loopback address", None),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "a Teredo address of 127.0.0.1, a loopback address",
            None,
        ),
        # Teredo as a whole, whatever it carries: a tunnel no public webhook needs.
        (
            "2001:0:5db8:d822::a247:27dd",
            "a Teredo address (a tunnel to an IPv4 address hidden in it)",
            None,
        ),
        # What is refused always stays refused inside any of these forms.
        ("2002:e000:1::", *(["a 6to4 address of 224.0.0.1, a multicast address"] * 2)),
        ("64:ff9b::", *(["a NAT64 address of 0.0.0.0, the unspecified address"] * 2)),
    ],
)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_carry(
    address: str, why: str, allowed_why: str | None
) -> None:
    ip = ipaddress.ip_address(address)
    assert refused_because(ip, allow_private=False) == why
    assert refused_because(ip, allow_private=True) == allowed_why


async def test_a_name_resolving_to_loopback_is_refused(sqlite_settings: Settings) -> None:
    with pytest.raises(TargetRefused) as refused:
        await Guard(sqlite_settings).check_url("http://localhost:9/")
    assert refused.value.message.startswith("the outgoing URL points at localhost (")
    assert "a loopback address" in refused.value.message


async def test_public_addresses_pass(sqlite_settings: Settings) -> None:
    guard = Guard(sqlite_settings)
    await guard.check_url("https://93.184.216.34/dingtalk")
    await guard.check_url("http://[2606:2800:220:1:248:1893:25c8:1946]:8080/")
    await guard.check_url("http://[2002:5db8:d822::1]/")  # 6to4 of 93.184.216.34
    await guard.check_url("http://[64:ff9b::93.184.216.34]/")  # NAT64: what DNS64 answers


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
    world = await make_world(app, bot.url)  # stored unchecked: as if allowed
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


@pytest.mark.parametrize(
    "answer", ["2002:7f00:1::", "64:ff9b::7f00:1", "::ffff:0:7f00:1", "::7f00:1"]
)
async def test_a_name_answering_an_ipv6_form_of_loopback_is_refused_at_the_connection(
    sqlite_settings: Settings, bot: CallbackServer, answer: str
) -> None:
    guard = _Answers(sqlite_settings, [[answer]])
    async with httpx.AsyncClient(transport=GuardedTransport(guard)) as client:
        with pytest.raises(TargetRefused) as refused:
            await client.post(f"http://bot.example:{bot.port}/dingtalk", json={})
    why = refused_because(ipaddress.ip_address(answer), allow_private=False)
    assert why is not None
    assert why.endswith(" address of 127.0.0.1, a loopback address")
    assert (
        refused.value.message == f"the outgoing URL points at bot.example ({answer}), {why}{HINT}"
    )
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
    runtime = app.runtime
    group = await runtime.groups.create("g")
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
            await create_robot(
                runtime, group.id, name="b", keywords=["k"], outgoing=Outgoing(url=url, token="t")
            )
        assert str(failed.value) == message
    with pytest.raises(Invalid) as failed:
        await create_robot(
            runtime,
            group.id,
            name="b",
            keywords=["k"],
            outgoing=Outgoing(url="http://e.com/", token=" "),
        )
    assert "token cannot be empty" in str(failed.value)
