"""One signed delivery per source to a real ``gong serve`` over a real socket, checked against the
same golden messages as the in-process suite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN, ServerProcess, running_server
from tests.integrations.deliveries import (
    GOLDEN,
    SECRET,
    deliver,
    travis_test_public_pem,
)

#: One fixture per kind (and the template robot), each signed as its source signs.
CASES = [
    ("github", "pull_request_opened"),
    ("gitlab", "pipeline_failed"),
    ("codeup", "push"),
    ("jira", "issue_updated_status_resolved"),
    ("travis", "failed_push"),
    ("trello", "updateCard_moved_list"),
    ("alertmanager", "firing_multiple_alerts"),
    ("grafana", "firing_with_values_v11"),
    ("gitea", "pull_request_opened"),
    ("jenkins", "notification_finalized_failure"),
    ("sentry", "event_alert_triggered"),
    ("harbor", "scanning_completed_vulnerabilities"),
    ("uptime-kuma", "monitor_down"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("server")) as process:
        yield process


@pytest.fixture(scope="module")
def group_id(http: httpx.Client) -> int:
    answer = http.post("/api/groups", json={"name": "integrations"}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _robot(
    http: httpx.Client, group_id: int, kind: str, settings: dict[str, Any]
) -> dict[str, Any]:
    answer = http.post(
        f"/api/groups/{group_id}/robots",
        json={"name": f"{kind} robot", "kind": kind, "settings": settings},
        headers=ADMIN,
    )
    assert answer.status_code == 201, answer.text
    robot: dict[str, Any] = answer.json()
    return robot


def _last(http: httpx.Client, robot: dict[str, Any]) -> dict[str, Any]:
    answer = http.get(f"/api/groups/{robot['group_id']}/messages?limit=1", headers=ADMIN)
    message: dict[str, Any] = answer.json()["messages"][0]
    assert message["robot_id"] == robot["id"]
    return message


@pytest.mark.parametrize(("source", "name"), CASES, ids=[c[0] for c in CASES])
def test_real_server(
    server: ServerProcess, http: httpx.Client, group_id: int, source: str, name: str
) -> None:
    settings = {} if source == "travis" else {"source_secret": SECRET}
    robot = _robot(http, group_id, source, settings)
    delivery = deliver(source, name, callback_url=robot["webhook"])
    answer = http.post(robot["webhook"], content=delivery.body, headers=delivery.headers)
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    expected = json.loads((GOLDEN / source / f"{name}.json").read_text(encoding="utf-8"))
    assert _last(http, robot)["content"] == expected["message"]
    # The same delivery with a wrong secret: refused with 403 and recorded.
    if source != "travis":
        forged = deliver(source, name, secret="wrong", callback_url=robot["webhook"])
        answer = http.post(robot["webhook"], content=forged.body, headers=forged.headers)
        assert answer.status_code == 403
        assert answer.json()["errcode"] == 310001


def test_real_server_template_and_head(
    server: ServerProcess, http: httpx.Client, group_id: int, tmp_path: Path
) -> None:
    """Trello's HEAD check over a real socket, and a template robot (Travis key test too)."""
    trello = _robot(http, group_id, "trello", {"source_secret": SECRET})
    head = http.head(trello["webhook"])
    assert (head.status_code, head.content) == (200, b"")
    template = '{"msgtype":"text","text":{"content":{{ ("build " ~ payload.number) | json }}}}'
    robot = _robot(http, group_id, "template", {"template": template})
    answer = http.post(robot["webhook"], json={"number": 42})
    assert answer.json() == {"errcode": 0, "errmsg": "ok"}
    assert _last(http, robot)["content"] == {"msgtype": "text", "text": {"content": "build 42"}}
    travis = _robot(http, group_id, "travis", {"travis_public_key": travis_test_public_pem()})
    delivery = deliver("travis", "still_failing_cron")
    answer = http.post(travis["webhook"], content=delivery.body, headers=delivery.headers)
    assert answer.json() == {"errcode": 0, "errmsg": "ok"}
