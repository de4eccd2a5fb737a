"""Nothing a source sends vanishes unseen: every event an integration robot receives is shown or
recorded as ignored (event, reason, count, last seen), listed by the API and ``gong robot
events``, and shown from then on with one call; a robot that opts in posts a short message for
events Gong has no message for. Against a real ``gong serve`` and the real CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN, ServerProcess, gong_cli, running_server
from tests.integrations.deliveries import SECRET, deliver

OK = {"errcode": 0, "errmsg": "ok"}
MEMBERSHIP = {
    "action": "added",
    "scope": "team",
    "member": {"login": "octocat"},
    "sender": {"login": "admin-user"},
    "organization": {"login": "octo-org", "html_url": "https://github.com/octo-org"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("ig"), {"GONG_TIMEZONE": "UTC"}) as process:
        yield process


@pytest.fixture(scope="module")
def group(http: httpx.Client) -> int:
    answer = http.post("/api/groups", json={"name": "ci"}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _robot(http: httpx.Client, group: int, **settings: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "GitHub", "kind": "github", "settings": settings}
    answer = http.post(f"/api/groups/{group}/robots", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    robot: dict[str, Any] = answer.json()
    return robot


def _github(
    http: httpx.Client, robot: dict[str, Any], event: str, document: dict[str, Any]
) -> dict[str, Any]:
    delivery = deliver("github", event, document=json.dumps(document).encode(), secret=SECRET)
    delivery.headers["X-GitHub-Event"] = event
    answer = http.post(
        "/robot/send",
        params={"access_token": robot["access_token"]},
        content=delivery.body,
        headers=delivery.headers,
    )
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def _events(http: httpx.Client, robot: dict[str, Any]) -> list[dict[str, Any]]:
    answer = http.get(f"/api/robots/{robot['id']}/events", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def _messages(http: httpx.Client, group: int) -> list[dict[str, Any]]:
    answer = http.get(f"/api/groups/{group}/messages", params={"limit": 50}, headers=ADMIN)
    found: list[dict[str, Any]] = answer.json()["messages"]
    return found


def _push() -> dict[str, Any]:
    from tests.integrations.deliveries import payload

    document: dict[str, Any] = json.loads(payload("github", "push"))
    return document


def test_unknown_events_are_counted_and_shown_once_the_robot_opts_in(
    http: httpx.Client, group: int, server: ServerProcess
) -> None:
    robot = _robot(http, group, source_secret=SECRET)
    before = len(_messages(http, group))
    for _ in range(3):
        answer = _github(http, robot, "membership", MEMBERSHIP)
        assert answer["errcode"] == 0
        assert answer["errmsg"] == 'ignored: event "membership.added" is unknown to Gong'
    assert len(_messages(http, group)) == before  # nothing posted
    (record,) = _events(http, robot)
    assert record["event"] == "membership.added"
    assert record["reason"] == "unknown"
    assert record["count"] == 3
    assert record["first_at"] <= record["last_at"]
    assert "unknown to Gong" in record["detail"]

    # The CLI lists the same record, from the same database.
    env = {"GONG_DATA_DIR": str(server.data_dir)}
    listed = json.loads(gong_cli(["robot", "events", str(robot["id"]), "--json"], env).stdout)
    assert listed == _events(http, robot)

    # "Show these": the robot now posts a short message for events Gong cannot render.
    shown = gong_cli(
        ["robot", "events", str(robot["id"]), "--show", "membership.added", "--json"], env
    )
    assert json.loads(shown.stdout)["settings"]["show_unknown"] is True
    assert _events(http, robot) == []
    # The server sees the CLI's change when it next polls the configuration version.
    deadline = time.monotonic() + 10
    while _github(http, robot, "membership", MEMBERSHIP) != OK:
        assert time.monotonic() < deadline, "the server did not pick up the change"
        time.sleep(0.2)
    message = _messages(http, group)[0]
    assert message["robot_id"] == robot["id"]
    card = message["content"]["actionCard"]
    assert card["title"] == "[octo-org] GitHub: membership.added"
    assert (
        "GitHub sent **membership.added** in [octo-org](https://github.com/octo-org)"
        in (card["text"])
    )
    assert "by **admin-user**" in card["text"]
    assert card["singleURL"] == "https://github.com/octo-org"


def test_filtered_events_are_recorded_and_one_call_lets_them_through(
    http: httpx.Client, group: int
) -> None:
    robot = _robot(http, group, exclude_events=["push"], only_events=["push", "issues"])
    answer = _github(http, robot, "push", _push())
    assert answer == {
        "errcode": 0,
        "errmsg": 'ignored: event "push" is in this robot\'s exclude_events',
    }
    (record,) = _events(http, robot)
    assert (record["event"], record["reason"], record["count"]) == ("push", "filtered", 1)

    answer = http.post(
        f"/api/robots/{robot['id']}/events/show", json={"events": ["push"]}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    settings = answer.json()["settings"]
    assert "exclude_events" not in settings
    assert settings["only_events"] == ["push", "issues"]
    assert _events(http, robot) == []
    assert _github(http, robot, "push", _push()) == OK
    assert _messages(http, group)[0]["robot_id"] == robot["id"]

    # Shown already, or never ignored: a clear 409, nothing changed.
    again = http.post(
        f"/api/robots/{robot['id']}/events/show", json={"events": ["push"]}, headers=ADMIN
    )
    assert again.status_code == 409
    assert "has not ignored push" in again.json()["error"]["message"]


def test_an_event_left_out_by_only_events_joins_the_list(http: httpx.Client, group: int) -> None:
    robot = _robot(http, group, only_events=["issues"])
    answer = _github(http, robot, "push", _push())
    assert answer["errmsg"] == 'ignored: event "push" is not in this robot\'s only_events'
    answer = http.post(f"/api/robots/{robot['id']}/events/show", json={}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["settings"]["only_events"] == ["issues", "push"]


def test_actions_gong_does_not_show_are_recorded_as_not_handled(
    http: httpx.Client, group: int
) -> None:
    robot = _robot(http, group)
    document = {"action": "labeled", "number": 1, "sender": {"login": "a"}}
    answer = _github(http, robot, "pull_request", document)
    assert answer["errmsg"] == 'ignored: event "pull_request.labeled" has no message in Gong'
    (record,) = _events(http, robot)
    assert record["reason"] == "not_handled"


def test_refusals_and_bad_bodies_are_not_ignored_events(http: httpx.Client, group: int) -> None:
    robot = _robot(http, group, source_secret=SECRET)
    delivery = deliver("github", "push", secret="wrong secret")
    answer = http.post(
        "/robot/send",
        params={"access_token": robot["access_token"]},
        content=delivery.body,
        headers=delivery.headers,
    )
    assert answer.json()["errcode"] == 310001
    truncated = deliver("github", "push", document=b'{"ref": "refs/he', secret=SECRET)
    answer = http.post(
        "/robot/send",
        params={"access_token": robot["access_token"]},
        content=truncated.body,
        headers=truncated.headers,
    )
    assert answer.json()["errcode"] == 400401
    assert "not valid JSON" in answer.json()["errmsg"]
    assert _events(http, robot) == []


def test_custom_robots_and_missing_robots(http: httpx.Client, group: int) -> None:
    body = {"name": "c", "keywords": ["k"]}
    custom = http.post(f"/api/groups/{group}/robots", json=body, headers=ADMIN).json()
    assert http.get(f"/api/robots/{custom['id']}/events", headers=ADMIN).json() == []
    assert http.get("/api/robots/999999/events", headers=ADMIN).status_code == 404
    assert http.get(f"/api/robots/{custom['id']}/samples", headers=ADMIN).json() == []


def test_samples_preview_each_event_before_the_source_is_wired(
    http: httpx.Client, group: int
) -> None:
    robot = _robot(http, group)
    answer = http.get(f"/api/robots/{robot['id']}/samples", headers=ADMIN)
    assert answer.status_code == 200
    found = {s["name"]: s for s in answer.json()}
    assert found["push"]["event"] == "push"
    assert found["push"]["headers"]["X-GitHub-Event"] == "push"
    assert found["push"]["payload"]["ref"] == "refs/heads/master"
    before = len(_messages(http, group))
    for name in found:
        answer = http.post(f"/api/robots/{robot['id']}/samples/{name}/preview", headers=ADMIN)
        assert answer.status_code == 200, (name, answer.text)
        result = answer.json()
        assert (result["message"] is None) == (result["ignored"] is not None), name
        assert result["bytes"] <= 20_000
    assert len(_messages(http, group)) == before  # previews post nothing
    push = http.post(f"/api/robots/{robot['id']}/samples/push/preview", headers=ADMIN).json()
    assert push["message"]["markdown"]["title"].startswith("[binkkatal/sample_app]")
    missing = http.post(f"/api/robots/{robot['id']}/samples/nope/preview", headers=ADMIN)
    assert missing.status_code == 404
    assert "has no sample 'nope'" in missing.json()["error"]["message"]
