"""Sentry over HTTP: the legacy WebHooks plugin and the events the fixtures leave out against
goldens, the signature, the opt-in errors, a 1 MB stack trace, a metric alert resolved in place,
and bad bodies."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integrations.checks import (
    OK,
    assert_bad_body,
    assert_refused,
    fixture_document,
    message_of,
    post,
    result,
    size,
)
from tests.integrations.conftest import MakeRobot, golden
from tests.integrations.deliveries import FIXTURES, GOLDEN, SECRET, Delivery, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

KIND = "sentry"
LEGACY = FIXTURES / KIND / "legacy" / "webhooks_plugin.json"


def _legacy() -> Delivery:
    """The WebHooks plugin's request: no resource header, no signature."""
    return Delivery(
        LEGACY.read_bytes(),
        {"Content-Type": "application/json", "User-Agent": "sentry-webhooks/24.1.0"},
    )


def _issue(action: str, **changes: Any) -> bytes:
    document = fixture_document(KIND, "issue_resolved")
    document["action"] = action
    document["data"]["issue"].update(changes)
    return json.dumps(document).encode()


def _metric_warning() -> bytes:
    document = fixture_document(KIND, "metric_alert_critical")
    document["action"] = "warning"
    document["data"]["description_title"] = "Warning: Too many errors"
    return json.dumps(document).encode()


def _comment(action: str) -> bytes:
    document = fixture_document(KIND, "comment_created")
    document["action"] = action
    return json.dumps(document).encode()


def _uninstalled() -> bytes:
    document = fixture_document(KIND, "installation_created")
    document["action"] = "deleted"
    return json.dumps(document).encode()


#: Events no fixture covers: (fixture name for the resource header, body).
DERIVED: dict[str, tuple[str, bytes]] = {
    "issue_ignored": ("issue", _issue("ignored", status="ignored")),
    "issue_archived": ("issue", _issue("archived", status="ignored")),
    "issue_unresolved": ("issue", _issue("unresolved", status="unresolved", substatus="regressed")),
    "metric_alert_warning": ("metric_alert", _metric_warning()),
    "comment_updated": ("comment", _comment("updated")),
    "comment_deleted": ("comment", _comment("deleted")),
    "installation_deleted": ("installation", _uninstalled()),
}


@pytest.mark.parametrize("name", sorted(DERIVED))
async def test_derived_events(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, name: str
) -> None:
    resource, body = DERIVED[name]
    robot = await make_robot(KIND, source_secret=SECRET)
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, resource, document=body)
    )
    golden(GOLDEN / KIND / "events" / f"{name}.json", result(answer, message))
    assert answer.json() == OK


async def test_legacy_plugin(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """The plugin cannot sign: a robot without a source secret shows it as an issue alert."""
    robot = await make_robot(KIND)
    answer, message = await post(client, admin_headers, robot, _legacy())
    golden(GOLDEN / KIND / "legacy" / "webhooks_plugin.json", result(answer, message))
    assert answer.json() == OK


async def test_legacy_plugin_is_refused_with_a_secret(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    answer, message = await post(client, admin_headers, robot, _legacy())
    assert_refused(answer, message, "Sentry-Hook-Signature is missing")


@pytest.mark.parametrize("signature", [None, "0" * 64, "sha256=abc"])
async def test_signature_refusals(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    signature: str | None,
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    delivery = deliver(KIND, "event_alert_triggered", secret=None)
    if signature is not None:
        delivery.headers["Sentry-Hook-Signature"] = signature
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_refused(answer, message, "Sentry-Hook-Signature")


async def test_signature_of_another_body_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    signed = deliver(KIND, "issue_created")
    delivery = deliver(KIND, "issue_resolved", secret=None)
    delivery.headers["Sentry-Hook-Signature"] = signed.headers["Sentry-Hook-Signature"]
    answer, message = await post(client, admin_headers, robot, delivery)
    assert (answer.status_code, answer.json()["errcode"]) == (403, 310001)
    assert message is None


async def test_errors_are_opt_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    quiet = await make_robot(KIND)
    answer, message = await post(
        client, admin_headers, quiet, deliver(KIND, "error_created", secret=None)
    )
    assert answer.json()["errmsg"].startswith('ignored: event "error.created" is shown only')
    assert message is None
    opted = await make_robot(KIND, include_events=["error"])
    answer, message = await post(
        client, admin_headers, opted, deliver(KIND, "error_created", secret=None)
    )
    golden(GOLDEN / KIND / "events" / "error_created_opted_in.json", result(answer, message))
    assert message is not None


async def test_unknown_resource_is_ignored(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    delivery = deliver(KIND, "issue_created", secret=None)
    delivery.headers["Sentry-Hook-Resource"] = "seer"
    answer, message = await post(client, admin_headers, robot, delivery)
    assert answer.json() == {
        "errcode": 0,
        "errmsg": 'ignored: event "seer.created" is unknown to Gong',
    }
    assert message is None


async def test_a_1_mb_stack_trace_fits(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    document = fixture_document(KIND, "event_alert_triggered")
    frame = document["data"]["event"]["exception"]["values"][0]["stacktrace"]["frames"][0]
    frames = [
        dict(frame, in_app=n % 2 == 0, lineno=n, function=f"handler_{n}", context_line="x" * 400)
        for n in range(2_500)
    ]
    exception = document["data"]["event"]["exception"]["values"][0]
    exception["stacktrace"]["frames"] = frames
    exception["value"] = "boom " * 20_000
    body = json.dumps(document).encode()
    assert len(body) > 1_000_000
    robot = await make_robot(KIND, source_secret=SECRET)
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, "event_alert", document=body)
    )
    assert answer.json() == OK
    assert message is not None
    content = message["content"]
    assert size(content) < 20_000
    text = content["actionCard"]["text"]
    # The last five in-app frames, the earlier ones counted.
    assert "handler_2498" in text and "handler_2490" in text and "handler_2488" not in text
    assert "handler_2497" not in text  # not in-app
    assert "… 1245 earlier frames" in text


async def test_metric_alert_resolves_in_place(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    answer, critical = await post(
        client, admin_headers, robot, deliver(KIND, "metric_alert_critical")
    )
    assert answer.json() == OK
    assert critical is not None and critical["alert"]["state"] == "firing"
    answer, line = await post(client, admin_headers, robot, deliver(KIND, "metric_alert_resolved"))
    assert answer.json() == OK
    assert line is not None and line["id"] != critical["id"]
    assert line["content"]["markdown"]["text"].startswith("#### ✅ Resolved: Too many errors")
    first = await message_of(client, admin_headers, robot, critical["id"])
    assert first["alert"]["state"] == "resolved"


@pytest.mark.parametrize(
    ("name", "body", "detail"),
    [
        ("event_alert", payload(KIND, "event_alert_triggered")[:500], "not valid JSON"),
        ("issue", b'{"data": {}}', "has no action"),
        ("issue", b'{"action": "created", "data": {}}', "data.issue is missing"),
        ("metric_alert", b'{"action": "critical", "data": {"metric_alert": []}}', "metric_alert"),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    name: str,
    body: bytes,
    detail: str,
) -> None:
    robot = await make_robot(KIND)
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, name, document=body, secret=None)
    )
    assert_bad_body(answer, message, detail)


async def test_no_resource_and_not_the_plugin(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    delivery = Delivery(b'{"text": "hello"}', {"Content-Type": "application/json"})
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_bad_body(answer, message, "not a Sentry webhook")
