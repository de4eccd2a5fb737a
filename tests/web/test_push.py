"""Web Push end to end: a real ``gong serve``, a browser's subscription made through the API, real
robot messages through ``/robot/send``, and a local push service that checks each push's VAPID
signature and decrypts it (tests/push_service.py). Then the API's refusals, in process."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gong.domain.notify import Notification, Reason
from gong.web.app import GongApp, create_app
from gong.web.notifications import NOTIFY_PREFIX, notify_event
from tests.helpers import ADMIN, ServerProcess, gong_cli
from tests.push_service import PushService, Subscription, b64url
from tests.web.webapp import csrf_of, make_user, sign_in

PASSWORD = "push password 1"
OK = '{"errcode":0,"errmsg":"ok"}'
ZHANG = "13800000001"


@dataclass
class Site:
    server: ServerProcess
    service: PushService
    ops: int
    dev: int
    tokens: dict[int, str]
    client: httpx.Client
    csrf: str

    def send(self, group: int, text: str, **at: Any) -> None:
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": f"CI {text}"}}
        if at:
            body["at"] = at
        answer = httpx.post(
            f"{self.server.url}/robot/send?access_token={self.tokens[group]}", json=body
        )
        assert answer.text == OK

    def subscribe(self) -> Subscription:
        key = self.client.get("/api/push/key").json()["key"]
        subscription = self.service.subscribe(key)
        answer = self.client.post(
            "/api/push/subscriptions",
            json=subscription.to_json(),
            headers={"X-CSRF-Token": self.csrf},
        )
        assert answer.status_code == 201, answer.text
        return subscription

    def form(self, path: str, **fields: str) -> None:
        answer = self.client.post(path, data={"csrf_token": self.csrf, **fields})
        assert answer.status_code == 303, answer.text

    def stored(self, subscription: Subscription) -> int:
        with sqlite3.connect(self.server.data_dir / "gong.db") as db:
            found = db.execute(
                "SELECT count(*) FROM push_subscriptions WHERE endpoint = ?",
                (subscription.endpoint,),
            ).fetchone()
        return int(found[0])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    service = PushService().start()
    server = ServerProcess(
        env={"GONG_OUTGOING_ALLOW_PRIVATE": "1"}, data_dir=tmp_path_factory.mktemp("push")
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers=ADMIN) as api:
            ops = api.post("/api/groups", json={"name": "ops"}).json()["id"]
            dev = api.post("/api/groups", json={"name": "dev"}).json()["id"]
            tokens = {}
            for group in (ops, dev):
                api.post(
                    f"/api/groups/{group}/members",
                    json={"name": "张三", "mobile": ZHANG, "userId": "zhangsan"},
                )
                api.post(f"/api/groups/{group}/members", json={"name": "李四", "mobile": "1390"})
                robot = api.post(
                    f"/api/groups/{group}/robots",
                    json={"name": "CI", "keywords": ["CI"], "rate_limit": {"limit": 0}},
                ).json()
                tokens[group] = robot["access_token"]
        members = ["--member", f"{ops}:{ZHANG}", "--member", f"{dev}:{ZHANG}"]
        gong_cli(
            ["user", "create", "zhang", "--password-stdin", *members],
            {"GONG_DATA_DIR": str(server.data_dir)},
            input=PASSWORD + "\n",
        )
        with httpx.Client(base_url=server.url, timeout=10) as client:
            form = client.get("/login")
            answer = client.post(
                "/login",
                data={"username": "zhang", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
            )
            assert answer.status_code == 303
            csrf = csrf_of(client.get("/account").text)
            yield Site(server, service, ops, dev, tokens, client, csrf)
    finally:
        server.stop()
        service.stop()


def test_a_mention_reaches_the_browser_signed_and_encrypted(site: Site) -> None:
    browser = site.subscribe()
    site.send(site.ops, "构建失败 @13800000001", atMobiles=[ZHANG])
    [pushed] = site.service.wait(browser, 1)
    payload = pushed.payload
    assert payload["title"] == "ops"
    assert payload["group"] == "ops" and payload["sender"] == "CI"
    assert payload["text"] == "CI 构建失败 @张三"
    assert payload["body"] == "CI: CI 构建失败 @张三"
    assert payload["reason"] == "mention"
    assert payload["tag"] == f"gong-group-{site.ops}"
    message = payload["message_id"]
    assert payload["url"] == f"/groups/{site.ops}?at={message}#m-{message}"
    assert pushed.headers["urgency"] == "high" and pushed.ttl == 86_400
    assert pushed.claims["aud"] == site.service.url and pushed.claims["sub"]
    assert site.service.messages(browser)  # within its TTL
    assert site.service.requests[browser.id] == [201]
    site.service.gone(browser)


def test_a_group_on_do_not_disturb_still_pushes_an_at(site: Site) -> None:
    browser = site.subscribe()
    site.form(f"/groups/{site.ops}/mute", muted="1")
    try:
        site.send(site.ops, "warning, all hands", isAtAll=True)
        site.service.wait(browser, 1)
        site.send(site.ops, "for you", atUserIds=["zhangsan"])
        pushed = site.service.wait(browser, 2)
        assert [(p.payload["text"], p.payload["reason"]) for p in pushed] == [
            ("CI warning, all hands", "mention_all"),
            ("CI for you", "mention"),
        ]
    finally:
        site.form(f"/groups/{site.ops}/mute", muted="0")
        site.service.gone(browser)


def test_an_unmentioned_message_pushes_nothing_unless_the_group_is_chosen(site: Site) -> None:
    browser = site.subscribe()
    site.send(site.ops, "nobody in particular")
    site.send(site.ops, "李四 only", atMobiles=["1390"])
    site.send(site.dev, "marker 1", atMobiles=[ZHANG])
    site.service.wait(browser, 1)
    site.send(site.dev, "marker 2", atMobiles=[ZHANG])  # the batches before it are done
    pushed = site.service.wait(browser, 2)
    assert [p.payload["text"] for p in pushed] == ["CI marker 1", "CI marker 2"]
    # Every message of ops, as chosen in its settings: pushed, not urgent, kept an hour.
    site.form(f"/groups/{site.ops}/notify", notify_all="1")
    try:
        site.send(site.ops, "every message now")
        third = site.service.wait(browser, 3)[2]
        assert (third.payload["text"], third.payload["reason"]) == ("CI every message now", "group")
        assert third.headers["urgency"] == "normal" and third.ttl == 3_600
    finally:
        site.form(f"/groups/{site.ops}/notify", notify_all="0")
        site.service.gone(browser)


def test_gone_deletes_the_subscription_and_failures_are_counted(site: Site) -> None:
    gone, kept = site.subscribe(), site.subscribe()
    site.service.gone(gone)
    assert site.stored(gone) == 1
    site.send(site.dev, "first", atMobiles=[ZHANG])
    site.service.wait(kept, 1)
    site.send(site.dev, "second", atMobiles=[ZHANG])
    site.service.wait(kept, 2)
    assert site.service.requests[gone.id] == [410]  # asked once, then forgotten
    assert site.stored(gone) == 0 and site.stored(kept) == 1
    # The browser stops: its own subscription is removed through the API.
    answer = site.client.request(
        "DELETE",
        "/api/push/subscriptions",
        json={"endpoint": kept.endpoint},
        headers={"X-CSRF-Token": site.csrf},
    )
    assert answer.status_code == 204 and site.stored(kept) == 0
    # The log names the push service, never the endpoint, the browser's keys or the JWT.
    log = site.server.log()
    assert site.service.url in log
    for secret in (gone.endpoint, gone.p256dh, b64url(gone.auth), "vapid t="):
        assert secret not in log


def test_open_pages_hear_of_it_on_the_live_feed(site: Site) -> None:
    with site.client.stream("GET", "/events", timeout=10) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        site.send(site.dev, "live @zhangsan", atUserIds=["zhangsan"])
        event: dict[str, str] = {}
        for line in lines:
            if line.startswith("event:"):
                event["event"] = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event.get("event") == "notify":
                data = json.loads(line.removeprefix("data:"))
                break
    message = data.pop("message_id")
    assert data == {
        "group_id": site.dev,
        "group": "dev",
        "sender": "CI",
        "text": "CI live @张三",
        "reason": "mention",
        "url": f"/groups/{site.dev}?at={message}#m-{message}",
    }
    assert notify_event(Notification(1, 2, 3, "g", "s", "t", Reason.GROUP, "/")).startswith(
        NOTIFY_PREFIX
    )


def test_the_service_worker_is_served_at_the_root(site: Site) -> None:
    answer = httpx.get(f"{site.server.url}/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert 'addEventListener("push"' in answer.text
    assert 'addEventListener("notificationclick"' in answer.text


# -- the API's refusals, in process ----------------------------------------------------------------


def _browser(endpoint: str) -> dict[str, Any]:
    """A subscription's JSON with real keys."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"endpoint": endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(b"0" * 16)}}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_browser("https://127.0.0.1:9443/push/x"), "loopback"),
        (_browser("http://push.example/x"), "https://"),
        (_browser("https://user:pw@push.example/x"), "user name"),
        ({**_browser("https://push.example/x"), "keys": {"p256dh": "AAAA", "auth": "x"}}, "P-256"),
        (
            {**_browser("https://push.example/x"), "keys": {**_browser("")["keys"], "auth": "abc"}},
            "16 bytes",
        ),
        ({"keys": {}}, "endpoint"),
        (["not", "an", "object"], "send {"),
    ],
)
async def test_a_subscription_that_breaks_a_rule_is_refused(
    app: GongApp, client: httpx.AsyncClient, body: Any, says: str
) -> None:
    user = await make_user(app, "zhang")
    csrf = sign_in(client, app, user)
    answer = await client.post("/api/push/subscriptions", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]["message"]


async def test_the_push_api_needs_a_session_and_its_csrf_token(
    app: GongApp, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/api/push/key")).status_code == 401
    user = await make_user(app, "zhang")
    sign_in(client, app, user)
    key = (await client.get("/api/push/key")).json()["key"]
    assert len(key) == 87  # a P-256 point, base64url
    refused = await client.post("/api/push/subscriptions", json=_browser("https://push.example/x"))
    assert refused.status_code == 403
    # The key is made once and kept: another start on the same database serves the same one.
    again = create_app(app.settings)
    await again.startup()
    try:
        assert again.notifications is not None
        assert again.notifications.push.key.public_key == key
    finally:
        await again.shutdown()
