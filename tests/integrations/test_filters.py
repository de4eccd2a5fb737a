"""``only_events`` / ``exclude_events``, written once for every kind; opt-in events
(``include_events``), what "show these" changes, and ``show_unknown``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gong.domain.errors import Invalid
from gong.domain.models import IgnoredEvent, IgnoreReason
from gong.integrations.config import showing
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
        ("pipeline.running", True, [], [], "is shown only when the robot opts in (include_events)"),
        (
            "pipeline.running",
            True,
            ["pipeline"],
            [],
            "is shown only when the robot opts in (include_events)",
        ),
        (
            "pipeline.running",
            True,
            ["*"],
            [],
            "is shown only when the robot opts in (include_events)",
        ),
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


# -- opt-in events and "show these" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "include", "only", "shown"),
    [
        ("star.created", [], [], False),
        ("star.created", ["star"], [], True),  # a family opts in all its events
        ("star.created", ["star.created"], [], True),
        ("star.created", ["st*"], [], True),
        ("star.created", ["*"], [], False),  # "*" alone opts in to nothing
        ("star.created", ["fork"], [], False),
        # Opting in also lets the event through only_events.
        ("workflow_run.completed.success", ["workflow_run"], ["push"], True),
        ("workflow_run.completed.success", [], ["workflow_run"], False),
        ("workflow_run.completed.success", [], ["workflow_run.completed.success"], True),
    ],
)
async def test_opt_in_events(name: str, include: list[str], only: list[str], shown: bool) -> None:
    config = IntegrationConfig(include_events=tuple(include), only_events=tuple(only))
    event = Event(name, _never, quiet=True)
    if shown:
        check_filters(event, config)
        return
    with pytest.raises(Ignored) as caught:
        check_filters(event, config)
    assert caught.value.kind is IgnoreReason.OPT_IN


def _ignored(event: str, reason: IgnoreReason) -> IgnoredEvent:
    return IgnoredEvent(event, reason, 1, 0, 0, "")


@pytest.mark.parametrize(
    ("settings", "ignored", "patch"),
    [
        # Filtered by exclude_events: every matching entry goes (a family, a glob), others stay.
        (
            {"exclude_events": ["push", "pull_*", "issues"]},
            [_ignored("pull_request.opened", IgnoreReason.FILTERED)],
            {"exclude_events": ["push", "issues"]},
        ),
        (
            {"exclude_events": ["push"]},
            [_ignored("push", IgnoreReason.FILTERED)],
            {"exclude_events": None},
        ),
        # Left out by only_events: it joins the list.
        (
            {"only_events": ["issues"]},
            [_ignored("push", IgnoreReason.FILTERED)],
            {"only_events": ["issues", "push"]},
        ),
        (
            {"include_events": ["fork"]},
            [
                _ignored("star.created", IgnoreReason.OPT_IN),
                _ignored("star.created", IgnoreReason.OPT_IN),
            ],
            {"include_events": ["fork", "star.created"]},
        ),
        (
            {},
            [
                _ignored("membership.added", IgnoreReason.UNKNOWN),
                _ignored("pull_request.labeled", IgnoreReason.NOT_HANDLED),
            ],
            {"show_unknown": True},
        ),
    ],
)
async def test_showing(
    settings: dict[str, Any], ignored: list[IgnoredEvent], patch: dict[str, Any]
) -> None:
    assert showing(settings, ignored) == patch


async def test_showing_what_is_shown_already_is_refused() -> None:
    with pytest.raises(Invalid, match="shown already"):
        showing({"show_unknown": True}, [_ignored("x", IgnoreReason.UNKNOWN)])


async def test_show_unknown_posts_a_short_message_that_filters_still_apply_to() -> None:
    from gong.integrations import github, preview

    document = (
        b'{"action": "added", "repository": {"full_name": "o/r", "html_url": "https://g/o/r"}}'
    )
    headers = {"X-GitHub-Event": "membership"}
    with pytest.raises(Ignored) as caught:
        preview(github.GitHub(), IntegrationConfig(), document, headers)
    assert caught.value.kind is IgnoreReason.UNKNOWN
    message = preview(github.GitHub(), IntegrationConfig(show_unknown=True), document, headers)
    wire = message.to_wire()
    assert wire["actionCard"]["title"] == "[o/r] GitHub: membership.added"
    assert wire["actionCard"]["singleURL"] == "https://g/o/r"
    excluded = IntegrationConfig(show_unknown=True, exclude_events=("membership",))
    with pytest.raises(Ignored) as caught:
        preview(github.GitHub(), excluded, document, headers)
    assert caught.value.kind is IgnoreReason.FILTERED
