"""``only_events`` / ``exclude_events``, written once for every kind, and quiet events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gong.integrations.source import Event, Ignored, IntegrationConfig, check_filters
from gong.protocol.messages import Message
from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import GOLDEN, deliver

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _never() -> Message:
    raise AssertionError("not built")


@pytest.mark.parametrize(
    ("name", "quiet", "only", "exclude", "why"),
    [
        ("push", False, [], [], None),
        ("push", False, ["push"], [], None),
        ("pull_request.opened", False, ["pull_request"], [], None),
        (
            "pull_request.opened",
            False,
            ["pull_request.closed"],
            [],
            "is not in this robot's only_events",
        ),
        ("pull_request.opened", False, ["pull_*"], [], None),
        ("pull_request.opened", False, [], ["pull_request"], "is in this robot's exclude_events"),
        ("pull_request.opened", False, ["*"], ["*.opened"], "is in this robot's exclude_events"),
        ("pipeline.running", True, [], [], "is shown only when only_events names it"),
        ("pipeline.running", True, ["pipeline"], [], "is shown only when only_events names it"),
        ("pipeline.running", True, ["*"], [], "is shown only when only_events names it"),
        ("pipeline.running", True, ["pipeline.running"], [], None),
        ("pipeline.running", True, ["pipeline.*"], [], None),
        (
            "pipeline.running",
            True,
            ["pipeline.*"],
            ["pipeline.running"],
            "is in this robot's exclude_events",
        ),
        ("pushy", False, ["push"], [], "is not in this robot's only_events"),
    ],
)
async def test_check_filters(
    name: str, quiet: bool, only: list[str], exclude: list[str], why: str | None
) -> None:
    config = IntegrationConfig(only_events=tuple(only), exclude_events=tuple(exclude))
    event = Event(name, _never, quiet=quiet)
    if why is None:
        check_filters(event, config)
        return
    with pytest.raises(Ignored) as caught:
        check_filters(event, config)
    assert caught.value.reason == f'event "{name}" {why}'


async def _answer(
    client: httpx.AsyncClient, robot: dict[str, Any], source: str, name: str
) -> dict[str, Any]:
    answer = await send(client, robot, deliver(source, name, secret=None))
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def test_filters_over_http(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot(
        "github", only_events=["pull_request", "issues"], exclude_events=["pull_request.closed"]
    )
    assert await _answer(client, robot, "github", "push") == {
        "errcode": 0,
        "errmsg": 'ignored: event "push" is not in this robot\'s only_events',
    }
    assert await _answer(client, robot, "github", "pull_request_closed_merged") == {
        "errcode": 0,
        "errmsg": 'ignored: event "pull_request.closed" is in this robot\'s exclude_events',
    }
    assert await last_message(client, admin_headers, robot) is None
    assert await _answer(client, robot, "github", "pull_request_opened") == {
        "errcode": 0,
        "errmsg": "ok",
    }
    assert await last_message(client, admin_headers, robot) is not None


async def test_filters_change_with_the_robot(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """A PATCH of the filters takes effect on the next delivery."""
    robot = await make_robot("trello", exclude_events=["commentCard"])
    assert (await _answer(client, robot, "trello", "commentCard"))["errmsg"].startswith("ignored")
    answer = await client.patch(
        f"/api/robots/{robot['id']}",
        json={"settings": {"exclude_events": None}},
        headers=admin_headers,
    )
    assert answer.json()["settings"] == {}
    assert await _answer(client, robot, "trello", "commentCard") == {"errcode": 0, "errmsg": "ok"}


@pytest.mark.parametrize(
    ("source", "name", "only"),
    [
        ("gitlab", "pipeline_running", "pipeline.running"),
        ("travis", "pending_cron_started", "pending"),
    ],
)
async def test_quiet_event_named_in_only_events(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    name: str,
    only: str,
) -> None:
    extra = {"travis_verify": False} if source == "travis" else {}
    robot = await make_robot(source, only_events=[only], **extra)
    assert await _answer(client, robot, source, name) == {"errcode": 0, "errmsg": "ok"}
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    golden(GOLDEN / source / f"{name}.named.json", message["content"])


async def test_template_event_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    template = '{"msgtype":"text","text":{"content":{{ payload.kind | json }}}}'
    robot = await make_robot(
        "template", template=template, event_field="kind", exclude_events=["heartbeat"]
    )

    async def post(body: bytes) -> dict[str, Any]:
        answer = await client.post(
            f"/robot/send?access_token={robot['access_token']}",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        result: dict[str, Any] = answer.json()
        return result

    assert await post(b'{"kind": "heartbeat"}') == {
        "errcode": 0,
        "errmsg": 'ignored: event "heartbeat" is in this robot\'s exclude_events',
    }
    assert await post(b'{"kind": "deploy"}') == {"errcode": 0, "errmsg": "ok"}
    assert (await post(b'{"other": 1}'))["errmsg"].startswith(
        "错误描述:field kind (the robot's event_field) is missing"
    )
