"""Harbor over HTTP: the CloudEvents format and many artifacts against goldens, the Auth Header,
the opt-in pulls, a scan's severities worst first, a huge notification, and bad bodies."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integrations.checks import (
    OK,
    assert_bad_body,
    assert_refused,
    fixture_document,
    post,
    result,
    set_timezone,
    size,
)
from tests.integrations.conftest import MakeRobot, golden
from tests.integrations.deliveries import GOLDEN, SECRET, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

KIND = "harbor"


def _cloud_event() -> bytes:
    """The push of ``push_artifact.json`` in Harbor's CloudEvents payload format."""
    default = fixture_document(KIND, "delete_artifact")
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "343f1623-7cba-487c-88f1-c5ebf55e93aa",
            "requestid": "ca0f3ceb-810f-4598-a268-a2291ad4de49",
            "source": "/projects/2/webhook/policies/15",
            "type": "harbor.artifact.deleted",
            "datacontenttype": "application/json",
            "time": "2023-04-03T06:16:38Z",
            "data": default["event_data"],
            "operator": "harbor-jobservice",
        }
    ).encode()


def _many_pushed() -> bytes:
    document = fixture_document(KIND, "push_artifact")
    document["event_data"]["resources"] = [
        {
            "digest": f"sha256:{n:064x}",
            "tag": f"v{n}",
            "resource_url": f"localhost/harbor/alpine:v{n}",
        }
        for n in range(14)
    ]
    return json.dumps(document).encode()


def _critical_scan() -> bytes:
    document = fixture_document(KIND, "scanning_completed_vulnerabilities")
    report = document["event_data"]["resources"][0]["scan_overview"][
        "application/vnd.security.vulnerability.report; version=1.1"
    ]
    report["severity"] = "Critical"
    report["summary"] = {
        "total": 13,
        "fixable": 5,
        "summary": {"Low": 2, "Medium": 1, "Critical": 3, "High": 7},
    }
    return json.dumps(document).encode()


DERIVED = {
    "cloudevents_delete_artifact": _cloud_event(),
    "push_artifact_many": _many_pushed(),
    "scanning_completed_critical": _critical_scan(),
}


@pytest.mark.parametrize("name", sorted(DERIVED))
async def test_derived_events(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, name: str
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, "x", document=DERIVED[name])
    )
    golden(GOLDEN / KIND / "events" / f"{name}.json", result(answer, message))
    assert answer.json() == OK


async def test_severities_worst_first(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    delivery = deliver(KIND, "x", document=DERIVED["scanning_completed_critical"], secret=None)
    _, message = await post(client, admin_headers, robot, delivery)
    assert message is not None
    text = message["content"]["actionCard"]["text"]
    assert "**Critical** 3 · **High** 7 · **Medium** 1 · **Low** 2" in text
    assert text.startswith("#### 🔴 Scan of test/alpine/helm:3.8.1: 13 vulnerabilities (5 fixable)")


@pytest.mark.parametrize("authorization", [SECRET, f"Bearer {SECRET}", f"bearer {SECRET}"])
async def test_auth_header_forms(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    authorization: str,
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    delivery = deliver(KIND, "push_artifact", secret=None)
    delivery.headers["Authorization"] = authorization
    answer, message = await post(client, admin_headers, robot, delivery)
    assert answer.json() == OK
    assert message is not None


@pytest.mark.parametrize(
    ("authorization", "why"),
    [
        (None, "Authorization header is missing"),
        ("not-the-secret", "does not match"),
        ("Bearer not-the-secret", "does not match"),
        (f"Basic {SECRET}", "does not match"),
    ],
)
async def test_auth_refusals(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    authorization: str | None,
    why: str,
) -> None:
    robot = await make_robot(KIND, source_secret=SECRET)
    delivery = deliver(KIND, "push_artifact", secret=None)
    if authorization is not None:
        delivery.headers["Authorization"] = authorization
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_refused(answer, message, why)


async def test_pulls_are_opt_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    quiet = await make_robot(KIND)
    answer, message = await post(
        client, admin_headers, quiet, deliver(KIND, "pull_artifact", secret=None)
    )
    assert answer.json()["errmsg"].startswith('ignored: event "pull_artifact" is shown only')
    assert message is None
    opted = await make_robot(KIND, include_events=["pull_artifact"])
    answer, message = await post(
        client, admin_headers, opted, deliver(KIND, "pull_artifact", secret=None)
    )
    golden(GOLDEN / KIND / "events" / "pull_artifact_opted_in.json", result(answer, message))
    assert message is not None


async def test_unknown_type_is_ignored(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    document = fixture_document(KIND, "push_artifact")
    document["type"] = "UPLOAD_CHART"
    delivery = deliver(KIND, "x", document=json.dumps(document).encode(), secret=None)
    answer, message = await post(client, admin_headers, robot, delivery)
    assert answer.json() == {
        "errcode": 0,
        "errmsg": 'ignored: event "upload_chart" is unknown to Gong',
    }
    assert message is None


async def test_a_huge_notification_fits(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    document = fixture_document(KIND, "replication")
    job = document["event_data"]["replication"]
    job["successful_artifact"] = [
        {"type": "image", "status": "Success", "name_tag": f"library/app-{n}:{'v' * 200}"}
        for n in range(5_000)
    ]
    job["failed_artifact"] = [
        {"type": "image", "status": "Failed", "name_tag": f"x{n}", "fail_reason": "e" * 5_000}
        for n in range(200)
    ]
    robot = await make_robot(KIND)
    body = json.dumps(document).encode()
    assert len(body) > 1_000_000
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, "x", document=body, secret=None)
    )
    assert answer.json() == OK
    assert message is not None
    assert size(message["content"]) < 20_000
    assert "and 4990 more" in message["content"]["actionCard"]["text"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (payload(KIND, "scanning_completed")[:300], "not valid JSON"),
        (b'{"event_data": {}}', "no type"),
        (b'{"type": "PUSH_ARTIFACT", "event_data": {"resources": "many"}}', "resources"),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    body: bytes,
    detail: str,
) -> None:
    robot = await make_robot(KIND)
    answer, message = await post(
        client, admin_headers, robot, deliver(KIND, "x", document=body, secret=None)
    )
    assert_bad_body(answer, message, detail)


async def test_times_are_on_the_groups_clock(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(KIND)
    await set_timezone(client, admin_headers, robot, "Asia/Shanghai")
    _, message = await post(
        client, admin_headers, robot, deliver(KIND, "scanning_completed", secret=None)
    )
    assert message is not None
    text = message["content"]["actionCard"]["text"]
    assert "at 2023-04-03 14:12:55 CST" in text and "UTC" not in text
