"""Source secrets: each sender's signature or token is checked, and a failure is refused (HTTP 403,
errcode 310001) and recorded with its reason like any refused call."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from gong.clock import ManualClock
from tests.helpers import create_robot
from tests.integrations.conftest import MakeRobot, last_message, send
from tests.integrations.deliveries import (
    SECRET,
    Delivery,
    deliver,
    payload,
    travis_test_public_pem,
    trello_sign,
)

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

#: One representative fixture per source with a shared secret.
CASES = [
    ("github", "push", "X-Hub-Signature-256"),
    ("gitlab", "push", "X-Gitlab-Token"),
    ("codeup", "push", "X-Codeup-Token"),
    ("jira", "issue_created", "X-Hub-Signature"),
    ("trello", "createCard", "X-Trello-Webhook"),
    ("alertmanager", "resolved", "Authorization"),
    ("grafana", "resolved", "X-Grafana-Alerting-Signature"),
]


def _callback(robot: dict[str, Any]) -> str:
    return f"http://gong.test/robot/send?access_token={robot['access_token']}"


async def _refusals(
    client: httpx.AsyncClient, admin_headers: dict[str, str], robot: dict[str, Any]
) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/robots/{robot['id']}/refusals", headers=admin_headers)
    refusals: list[dict[str, Any]] = answer.json()
    return refusals


async def _recorded(
    client: httpx.AsyncClient, admin_headers: dict[str, str], robot: dict[str, Any]
) -> list[dict[str, Any]]:
    """The robot's refusals, once the writer (best effort, no one waits) has stored them."""
    for _ in range(100):
        refusals = await _refusals(client, admin_headers, robot)
        if refusals:
            return refusals
        await asyncio.sleep(0.02)
    return []


@pytest.mark.parametrize(("source", "name", "header"), CASES, ids=[c[0] for c in CASES])
async def test_wrong_secret_is_refused_and_recorded(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    name: str,
    header: str,
) -> None:
    robot = await make_robot(source, source_secret=SECRET)
    delivery = deliver(source, name, secret="not the secret", callback_url=_callback(robot))
    answer = await send(client, robot, delivery)
    assert answer.status_code == 403
    body = answer.json()
    assert body["errcode"] == 310001
    assert header in body["errmsg"]
    assert await last_message(client, admin_headers, robot) is None
    refusals = await _recorded(client, admin_headers, robot)
    assert [(r["errcode"], r["reason"], r["ip"]) for r in refusals] == [
        (310001, "source_signature", "203.0.113.7")
    ]
    assert refusals[0]["errmsg"] == body["errmsg"]
    assert SECRET not in refusals[0]["errmsg"]


@pytest.mark.parametrize(("source", "name", "header"), CASES, ids=[c[0] for c in CASES])
async def test_missing_signature_is_refused(
    client: httpx.AsyncClient, make_robot: MakeRobot, source: str, name: str, header: str
) -> None:
    robot = await make_robot(source, source_secret=SECRET)
    answer = await send(client, robot, deliver(source, name, secret=None))
    assert answer.status_code == 403
    assert answer.json()["errcode"] == 310001
    assert "missing" in answer.json()["errmsg"]


async def test_github_signature_covers_the_raw_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Signed, then one byte changed: the signature no longer matches."""
    robot = await make_robot("github", source_secret=SECRET)
    delivery = deliver("github", "push")
    tampered = Delivery(delivery.body.replace(b"master", b"mastex", 1), delivery.headers)
    answer = await send(client, robot, tampered)
    assert answer.status_code == 403
    assert "does not match" in answer.json()["errmsg"]


async def test_github_form_encoded_payload(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """GitHub's "application/x-www-form-urlencoded" hooks: payload=<json>, signed as sent."""
    robot = await make_robot("github", source_secret=SECRET)
    answer = await send(client, robot, deliver("github", "push", form=True))
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    assert message["content"]["markdown"]["title"] == (
        "[binkkatal/sample_app] binkkatal pushed 1 commit to master"
    )


async def test_travis_real_signature_verifies_with_travis_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """The captured delivery verifies with Travis CI's real public key (the default)."""
    robot = await make_robot("travis")
    answer = await send(client, robot, deliver("travis", "failed_push"))
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})


async def test_travis_flipped_byte_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("travis")
    real = deliver("travis", "failed_push")
    document = payload("travis", "failed_push").replace(b'"failed"', b'"passed"', 1)
    body = urlencode({"payload": document.decode()}).encode()
    answer = await send(client, robot, Delivery(body, real.headers))
    assert answer.status_code == 403
    assert answer.json() == {
        "errcode": 310001,
        "errmsg": "description:the Signature does not verify with Travis CI's public key;"
        "solution:请确认发送方配置的密钥与机器人的来源密钥一致;",
    }
    assert await last_message(client, admin_headers, robot) is None


async def test_travis_other_key_and_no_signature(
    client: httpx.AsyncClient, make_robot: MakeRobot
) -> None:
    """A robot with its own key refuses Travis's real signature, and every robot needs one."""
    robot = await make_robot("travis", travis_public_key=travis_test_public_pem())
    answer = await send(client, robot, deliver("travis", "failed_push"))
    assert answer.status_code == 403
    assert "configured for this robot" in answer.json()["errmsg"]
    answer = await send(client, robot, deliver("travis", "passed_push", secret=None))
    assert answer.status_code == 403
    assert "Signature header is missing" in answer.json()["errmsg"]
    garbled = deliver("travis", "passed_push")
    garbled.headers["Signature"] = "not base64!"
    answer = await send(client, robot, garbled)
    assert "not base64" in answer.json()["errmsg"]


async def test_trello_head_check_and_callback_url(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Trello's HEAD at registration gets 200 with no body; signatures cover the callback URL."""
    robot = await make_robot("trello", source_secret=SECRET)
    url = f"/robot/send?access_token={robot['access_token']}"
    head = await client.head(url)
    assert (head.status_code, head.content) == (200, b"")
    # Signed for another callback URL: refused.
    wrong = deliver("trello", "createCard", callback_url="https://elsewhere.example/hook")
    assert (await send(client, robot, wrong)).status_code == 403
    # A robot told the URL Trello was given (behind a proxy) checks against that one.
    proxied = "https://hooks.example.com/gong/robot/send?access_token=x"
    other = await make_robot("trello", source_secret=SECRET, trello_callback_url=proxied)
    delivery = deliver("trello", "createCard", callback_url=proxied)
    assert (await send(client, other, delivery)).json() == {"errcode": 0, "errmsg": "ok"}
    body = payload("trello", "createCard")
    assert delivery.headers["X-Trello-Webhook"] == trello_sign(body, proxied)


async def test_head_on_a_custom_robot_is_not_post(
    client: httpx.AsyncClient, make_robot: MakeRobot, app: Any
) -> None:
    """Only integration robots answer HEAD with 200; custom robots keep DingTalk's answer."""
    runtime = app.runtime
    group = await runtime.groups.create("g")
    custom = await create_robot(runtime, group.id, name="c", keywords=["x"])
    answer = await client.head(f"/robot/send?access_token={custom.access_token}")
    assert answer.status_code == 200
    assert answer.headers["content-length"] != "0"


async def test_alertmanager_basic_auth_password(
    client: httpx.AsyncClient, make_robot: MakeRobot
) -> None:
    robot = await make_robot("alertmanager", source_secret=SECRET)
    delivery = deliver("alertmanager", "resolved", secret=None)
    token = base64.b64encode(f"alertmanager:{SECRET}".encode()).decode()
    delivery.headers["Authorization"] = f"Basic {token}"
    assert (await send(client, robot, delivery)).json() == {"errcode": 0, "errmsg": "ok"}
    delivery.headers["Authorization"] = "Digest abc"
    answer = await send(client, robot, delivery)
    assert answer.status_code == 403
    assert "is not Bearer or Basic" in answer.json()["errmsg"]


async def test_grafana_timestamped_signature(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock
) -> None:
    """With a timestamp header configured, Grafana signs "<unix seconds>:<body>"."""
    robot = await make_robot(
        "grafana", source_secret=SECRET, grafana_timestamp_header="X-Grafana-Alerting-Timestamp"
    )
    import hashlib
    import hmac

    body = payload("grafana", "resolved")
    now = str(clock.now_ms() // 1000)
    signature = hmac.new(SECRET.encode(), now.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Grafana-Alerting-Signature": signature,
        "X-Grafana-Alerting-Timestamp": now,
    }
    assert (await send(client, robot, Delivery(body, headers))).json()["errcode"] == 0
    stale = str(int(now) - 3600)
    headers["X-Grafana-Alerting-Timestamp"] = stale
    headers["X-Grafana-Alerting-Signature"] = hmac.new(
        SECRET.encode(), stale.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    answer = await send(client, robot, Delivery(body, headers))
    assert answer.status_code == 403
    assert "more than five minutes" in answer.json()["errmsg"]


async def test_grafana_custom_signature_header(
    client: httpx.AsyncClient, make_robot: MakeRobot
) -> None:
    robot = await make_robot("grafana", source_secret=SECRET, grafana_signature_header="X-Sig")
    delivery = deliver("grafana", "resolved")
    delivery.headers["X-Sig"] = delivery.headers.pop("X-Grafana-Alerting-Signature")
    assert (await send(client, robot, delivery)).json()["errcode"] == 0


async def test_template_robot_secret(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    """Template robots accept X-Hub-Signature-256 or the secret as a bearer token."""
    template = '{"msgtype":"text","text":{"content":{{ payload.text | json }}}}'
    robot = await make_robot("template", source_secret=SECRET, template=template)
    body = json.dumps({"text": "hello"}).encode()
    import hashlib
    import hmac

    signed = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    ok = {"errcode": 0, "errmsg": "ok"}
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signed}
    assert (await send(client, robot, Delivery(body, headers))).json() == ok
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    assert (await send(client, robot, Delivery(body, bearer))).json() == ok
    answer = await send(client, robot, Delivery(body, {"Content-Type": "application/json"}))
    assert answer.status_code == 403


async def test_ip_allow_list_applies_to_integrations(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Codeup publishes its egress IPs: an allow list refuses other callers (403, 310000)."""
    robot = await make_robot("codeup")
    answer = await client.patch(
        f"/api/robots/{robot['id']}", json={"ip_allow": ["47.98.116.130"]}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.text
    refused = await send(client, robot, deliver("codeup", "push", secret=None))
    assert refused.status_code == 403
    assert refused.json()["errcode"] == 310000
