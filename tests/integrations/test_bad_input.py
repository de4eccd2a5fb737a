"""Bad input: a clear 400 naming what is wrong, unknown events acknowledged, nothing half-posted."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integrations.conftest import MakeRobot, last_message, send
from tests.integrations.deliveries import Delivery, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SOLUTION = ";解决方案:请确认此机器人的类型与发送方一致;"


def _invalid(detail: str) -> dict[str, Any]:
    return {"errcode": 400401, "errmsg": f"错误描述:{detail}{SOLUTION}"}


async def _refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    robot: dict[str, Any],
    delivery: Delivery,
) -> dict[str, Any]:
    answer = await send(client, robot, delivery)
    assert answer.status_code == 400, answer.text
    assert await last_message(client, admin_headers, robot) is None
    body: dict[str, Any] = answer.json()
    return body


async def test_truncated_json(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("gitlab")
    whole = deliver("gitlab", "push", secret=None)
    cut = Delivery(whole.body[: len(whole.body) // 2], whole.headers)
    body = await _refused(client, admin_headers, robot, cut)
    assert body["errcode"] == 400401
    assert body["errmsg"].startswith("错误描述:the body is not valid JSON (")


@pytest.mark.parametrize(
    ("kind", "source", "name", "detail"),
    [
        (
            "github",
            "gitlab",
            "push",
            "no X-GitHub-Event header: this is not a GitHub webhook delivery",
        ),
        (
            "gitlab",
            "github",
            "push",
            "no object_kind in the body: this is not a GitLab webhook payload",
        ),
        (
            "codeup",
            "jira",
            "issue_created",
            "no object_kind in the body: this is not a Codeup webhook payload",
        ),
        (
            "jira",
            "trello",
            "createCard",
            "no webhookEvent in the body: this is not a JIRA webhook payload",
        ),
        (
            "trello",
            "alertmanager",
            "resolved",
            "no action object in the body: this is not a Trello webhook payload",
        ),
        (
            "travis",
            "github",
            "release_published",
            "no status_message in the payload: this is not a Travis CI webhook",
        ),
        (
            "alertmanager",
            "jira",
            "issue_deleted",
            "no status and alerts in the body: this is not an Alertmanager notification",
        ),
        (
            "grafana",
            "codeup",
            "push",
            "no status and alerts in the body: this is not a Grafana notification",
        ),
    ],
)
async def test_wrong_source(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    kind: str,
    source: str,
    name: str,
    detail: str,
) -> None:
    settings = {"travis_verify": False} if kind == "travis" else {}
    robot = await make_robot(kind, **settings)
    delivery = deliver(source, name, secret=None)
    body = await _refused(client, admin_headers, robot, delivery)
    assert body == _invalid(detail)


async def test_right_header_wrong_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """A GitLab push sent with X-GitHub-Event: push names the field GitHub's push needs."""
    robot = await make_robot("github")
    delivery = deliver("gitlab", "push", secret=None)
    delivery.headers["X-GitHub-Event"] = "push"
    body = await _refused(client, admin_headers, robot, delivery)
    assert body == _invalid("GitHub push: field repository.full_name is missing")


@pytest.mark.parametrize(
    ("source", "name", "change", "detail"),
    [
        (
            "github",
            "push",
            {"commits": "three"},
            "GitHub push: field commits is not valid: Input should be a valid list",
        ),
        (
            "github",
            "pull_request_opened",
            {"pull_request": {"number": "two"}},
            "GitHub pull_request: field pull_request.number is not valid: "
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "gitlab",
            "pipeline_failed",
            {"object_attributes": {"status": 7}},
            "GitLab pipeline: object_attributes: field status is missing or not a string",
        ),
        (
            "jira",
            "issue_created",
            {"issue": {"key": None}},
            "JIRA issue_created: field issue.key is not valid: Input should be a valid string",
        ),
        (
            "alertmanager",
            "resolved",
            {"alerts": {"status": "resolved"}},
            "Alertmanager notification: field alerts is not valid: Input should be a valid list",
        ),
        (
            "grafana",
            "firing_two_alerts_docs",
            {"alerts": [{"status": "firing", "labels": ["not", "a", "map"]}]},
            "Grafana notification: field alerts.0.labels is not valid: "
            "Input should be a valid dictionary",
        ),
        (
            "trello",
            "commentCard",
            {"action": {"data": {"card": None}}},
            "Trello commentCard: field action.data.card is missing",
        ),
    ],
)
async def test_wrong_types(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    name: str,
    change: dict[str, Any],
    detail: str,
) -> None:
    document = json.loads(payload(source, name))
    _merge(document, change)
    robot = await make_robot(source)
    delivery = deliver(source, name, document=json.dumps(document).encode(), secret=None)
    body = await _refused(client, admin_headers, robot, delivery)
    assert body == _invalid(detail)


def _merge(target: dict[str, Any], change: dict[str, Any]) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"", "application/json", "the body is empty; a GitHub webhook sends a JSON document"),
        (
            b"[1, 2]",
            "application/json",
            "the body is JSON but not an object; a GitHub webhook sends an object",
        ),
        (b"\xff\xfe{}", "application/json", None),
        (
            b"foo=bar",
            "application/x-www-form-urlencoded",
            "the form-encoded body has no payload field (GitHub and Travis CI send one)",
        ),
        (
            b"payload=%ff%fe",
            "application/x-www-form-urlencoded",
            "the form-encoded body is not valid (not ASCII or bad %-escapes)",
        ),
    ],
)
async def test_not_a_document(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    body: bytes,
    content_type: str,
    detail: str | None,
) -> None:
    robot = await make_robot("github")
    headers = {"Content-Type": content_type, "X-GitHub-Event": "push"}
    answer = await _refused(client, admin_headers, robot, Delivery(body, headers))
    assert answer["errcode"] == 400401
    if detail is not None:
        assert answer == _invalid(detail)


async def test_unknown_event_is_acknowledged(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("github")
    delivery = Delivery(
        json.dumps({"action": "started", "repository": {"full_name": "a/b"}}).encode(),
        {"Content-Type": "application/json", "X-GitHub-Event": "watch"},
    )
    answer = await send(client, robot, delivery)
    assert (answer.status_code, answer.json()) == (
        200,
        {"errcode": 0, "errmsg": 'ignored: event "watch.started" is unknown to Gong'},
    )
    assert await last_message(client, admin_headers, robot) is None


async def test_body_limit(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("alertmanager")
    big = b'{"status":"firing","alerts":[],"x":"' + b"a" * 5_000_000 + b'"}'
    body = await _refused(
        client, admin_headers, robot, Delivery(big, {"Content-Type": "application/json"})
    )
    assert body == _invalid("the body is larger than 5000000 bytes (GONG_INTEGRATION_MAX_BODY)")


async def test_rate_limit_and_disabled_robot(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Integration robots count against their rate limit; refusals use 4xx statuses."""
    robot = await make_robot("gitlab", rate_limit=1)
    first = await send(client, robot, deliver("gitlab", "push", secret=None))
    assert first.status_code == 200
    second = await send(client, robot, deliver("gitlab", "push", secret=None))
    assert (second.status_code, second.json()["errcode"]) == (429, 410100)
    await client.post(f"/api/robots/{robot['id']}/disable", headers=admin_headers)
    third = await send(client, robot, deliver("gitlab", "push", secret=None))
    assert (third.status_code, third.json()["errcode"]) == (403, 400102)
