"""Jenkins: both formats against golden messages, the token, opt-in builds, a 1 MB log and bad
bodies, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gong.integrations.jenkins import log_block, stage_from_log
from tests.integrations.checks import (
    OK,
    Change,
    assert_bad_body,
    assert_ignored,
    assert_refused,
    delivery_of,
    fixture_document,
    opted_in,
    post,
    shown,
    size,
)
from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import GOLDEN, SECRET, Delivery, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _build(**values: Any) -> Change:
    def change(document: dict[str, Any]) -> None:
        document["build"].update(values)

    return change


def _top(**values: Any) -> Change:
    def change(document: dict[str, Any]) -> None:
        document.update(values)

    return change


#: (base fixture, golden name, change, include_events)
CASES: list[tuple[str, str, Change, list[str]]] = [
    (
        "notification_finalized_failure",
        "notification_finalized_unstable",
        _build(status="UNSTABLE", log=""),
        [],
    ),
    (
        "notification_finalized_failure",
        "notification_finalized_aborted",
        _build(status="ABORTED", log="Aborted by jdoe\nFinished: ABORTED\n", test_summary=None),
        [],
    ),
    (
        "notification_finalized_failure",
        "notification_finalized_success",
        _build(status="SUCCESS", log="", test_summary=None),
        ["build.finalized.success"],
    ),
    (
        "notification_finalized_failure",
        "notification_started",
        _build(phase="STARTED", status=None, duration=0, log="", test_summary=None),
        ["build.started"],
    ),
    (
        "notification_finalized_failure",
        "notification_queued",
        _build(phase="QUEUED", status=None, duration=0, log="", test_summary=None),
        ["build"],
    ),
    (
        "notification_completed_success",
        "notification_finalized_success_no_log",
        _build(phase="FINALIZED"),
        ["build"],
    ),
    ("gong_failure", "gong_unstable", _top(result="unstable", stage=None, log=None), []),
    (
        "gong_failure",
        "gong_aborted_minimal",
        lambda d: d.clear() or d.update(job="nightly", build="42", result="ABORTED"),
        [],
    ),
    ("gong_failure", "gong_success", _top(result="SUCCESS"), ["build"]),
]


def _delivery(base: str, document: dict[str, Any], secret: str | None) -> Delivery:
    return delivery_of("jenkins", base, document, secret=secret)


@pytest.mark.parametrize(("base", "name", "change", "include"), CASES, ids=[c[1] for c in CASES])
async def test_event(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    base: str,
    name: str,
    change: Change,
    include: list[str],
) -> None:
    robot = await make_robot("jenkins", **opted_in(include, source_secret=SECRET))
    document = fixture_document("jenkins", base, change)
    message = await shown(client, admin_headers, robot, _delivery(base, document, SECRET))
    golden(GOLDEN / "jenkins" / "events" / f"{name}.json", message["content"])


@pytest.mark.parametrize(
    ("base", "change", "name"),
    [
        ("notification_finalized_failure", _build(status="SUCCESS"), "build.finalized.success"),
        ("notification_finalized_failure", _build(status="NOT_BUILT"), "build.finalized.not_built"),
        ("notification_finalized_failure", _build(phase="STARTED", status=None), "build.started"),
        ("notification_finalized_failure", _build(phase="QUEUED", status=None), "build.queued"),
        ("gong_failure", _top(result="SUCCESS"), "build.finalized.success"),
    ],
)
async def test_successes_and_starts_are_opt_in(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    base: str,
    change: Change,
    name: str,
) -> None:
    document = fixture_document("jenkins", base, change)
    robot = await make_robot("jenkins")
    answer, message = await post(client, admin_headers, robot, _delivery(base, document, None))
    assert_ignored(answer, message, name)
    opted = await make_robot("jenkins", include_events=[name])
    await shown(client, admin_headers, opted, _delivery(base, document, None))


async def test_completed_is_acknowledged_finalized_shown(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Jenkins sends COMPLETED then FINALIZED for one build: one message, from FINALIZED."""
    document = json.loads(payload("jenkins", "notification_finalized_failure"))
    robot = await make_robot("jenkins")
    document["build"]["phase"] = "COMPLETED"
    answer = await send(client, robot, _delivery("notification_finalized_failure", document, None))
    assert answer.json()["errmsg"].startswith('ignored: event "build.completed.failure"')
    assert await last_message(client, admin_headers, robot) is None
    document["build"]["phase"] = "FINALIZED"
    answer = await send(client, robot, _delivery("notification_finalized_failure", document, None))
    assert answer.json() == OK
    assert await last_message(client, admin_headers, robot) is not None


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "no X-Gong-Token or Authorization header"),
        ({"X-Gong-Token": "wrong"}, "X-Gong-Token does not match"),
        ({"Authorization": "Bearer wrong"}, "bearer token does not match"),
        ({"Authorization": f"Basic {SECRET}"}, "scheme is not Bearer"),
        ({"Authorization": SECRET}, "scheme is not Bearer"),
    ],
    ids=["missing", "wrong-token", "wrong-bearer", "basic", "bare"],
)
async def test_token_refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    headers: dict[str, str],
    detail: str,
) -> None:
    robot = await make_robot("jenkins", source_secret=SECRET)
    delivery = deliver("jenkins", "gong_failure", secret=None)
    delivery.headers.update(headers)
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_refused(answer, message, detail)


@pytest.mark.parametrize("header", ["X-Gong-Token", "Authorization"])
async def test_token_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, header: str
) -> None:
    robot = await make_robot("jenkins", source_secret=SECRET)
    delivery = deliver("jenkins", "gong_failure", secret=None)
    delivery.headers[header] = SECRET if header == "X-Gong-Token" else f"Bearer {SECRET}"
    answer = await send(client, robot, delivery)
    assert (answer.status_code, answer.json()) == (200, OK)


async def test_one_megabyte_log_fits(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    line = "ERROR something *failed* in `module` [x](y) " + "x" * 60 + "\n"
    log = line * (1_048_576 // len(line)) + "Finished: FAILURE\n"
    assert len(log) > 1_000_000
    robot = await make_robot("jenkins")
    for base, change in (
        ("notification_finalized_failure", _build(log=log)),
        ("gong_failure", _top(log=log)),
    ):
        document = fixture_document("jenkins", base, change)
        message = await shown(client, admin_headers, robot, _delivery(base, document, None))
        text = message["content"]["actionCard"]["text"]
        assert text.endswith("Finished: FAILURE\n```")
        assert size(message["content"]) < 20_000


async def test_log_block_keeps_code_and_closes_fences() -> None:
    block = log_block("a\n```\n*b* [c](d)\n\x1b[31mred\x1b[0m\n")
    # The log's own fence cannot end the block: the block's fence is longer.
    assert block == "````\na\n```\n*b* [c](d)\nred\n````"
    assert log_block("") == ""
    many = "\n".join(f"line {i}" for i in range(100))
    assert log_block(many).startswith("```\n…\nline 80\n")


async def test_stage_from_log() -> None:
    log = payload("jenkins", "notification_finalized_failure").decode()
    assert stage_from_log(json.loads(log)["build"]["log"]) == "Test"
    assert stage_from_log("no stages here") is None


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (payload("jenkins", "notification_finalized_failure")[:200], "not valid JSON"),
        (payload("jenkins", "gong_failure")[:100], "not valid JSON"),
        (b"", "empty"),
        (b'["build"]', "not an object"),
        (b'{"name": "x", "status": "FAILURE"}', "neither the Jenkins Notification plugin"),
        (
            b'{"name": "x", "build": {"phase": "FINALIZED", "status": "FAILURE"}}',
            "Jenkins Notification plugin: field build.number is missing",
        ),
        (b'{"name": "x", "build": {"phase": 3}}', "field build.phase is not a string"),
        (
            b'{"job": "x", "build": 1, "result": "BROKEN"}',
            "field result is not valid",
        ),
        (b'{"job": "", "build": 1, "result": "FAILURE"}', "field job is not valid"),
        (b'{"job": "x", "result": "FAILURE"}', "field build is missing"),
    ],
    ids=[
        "truncated-plugin",
        "truncated-gong",
        "empty",
        "array",
        "neither",
        "plugin-no-number",
        "plugin-phase-type",
        "gong-result",
        "gong-empty-job",
        "gong-no-build",
    ],
)
async def test_bad_bodies_are_400401(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    body: bytes,
    detail: str,
) -> None:
    robot = await make_robot("jenkins")
    delivery = Delivery(body, {"Content-Type": "application/json"})
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_bad_body(answer, message, detail)
