"""GitHub's events over HTTP against golden messages: events the fixtures do not cover (built
from a fixture with the fields that event has), opt-in events shown only with
``include_events``, the samples, and what a GitHub robot refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gong.domain.models import RobotKind
from gong.integrations import IntegrationConfig, sources
from gong.integrations.source import Delivery as SourceDelivery
from tests.integrations.checks import (
    OK,
    Change,
    delivery_of,
    fixture_document,
    opted_in,
    set_paths,
    shown,
)
from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import GOLDEN, SECRET, Delivery, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SAMPLES = (
    Path(__file__).resolve().parents[2] / "src" / "gong" / "integrations" / "samples" / "github"
)
EVENTS = GOLDEN / "github" / "events"
OPT_IN = GOLDEN / "github" / "opt_in"

#: Stands in for the secret GitHub puts in secret scanning payloads: never in a message.
FAKE_SECRET = "not-a-real-secret-1b7f3c"

_OCTOCAT = {"login": "octocat", "html_url": "https://github.com/octocat"}
_FENCED = (
    "Please keep the old name as an alias:\n"
    "```python\n"
    "OLD_NAME = NEW_NAME  # *not* emphasis\n"
    "```\n"
    "Otherwise **looks good**."
)
_SECRET_ALERT = {
    "number": 42,
    "html_url": "https://github.com/Codertocat/Hello-World/security/secret-scanning/42",
    "state": "open",
    "secret_type": "adafruit_io_key",
    "secret_type_display_name": "Adafruit IO Key",
    "secret": FAKE_SECRET,
    "validity": "active",
    "resolution": None,
    "resolved_by": None,
    "resolved_at": None,
    "resolution_comment": None,
    "push_protection_bypassed": True,
    "push_protection_bypassed_by": _OCTOCAT,
}

#: (base fixture, golden and sample name, X-GitHub-Event, change, include_events)
CASES: list[tuple[str, str, str, Change, tuple[str, ...]]] = [
    (
        "deployment_status_success",
        "deployment_status_failure",
        "deployment_status",
        set_paths(
            deployment_status__state="failure",
            deployment_status__description="Health check failed: HTTP 503 on /healthz",
            deployment_status__target_url="https://ci.example.com/deploys/42",
        ),
        (),
    ),
    (
        "deployment_status_in_progress",
        "deployment_status_error",
        "deployment_status",
        set_paths(deployment_status__state="error", deployment_status__description="Timed out"),
        (),
    ),
    (
        "workflow_job_completed_failure",
        "workflow_job_in_progress",
        "workflow_job",
        set_paths(
            action="in_progress",
            workflow_job__status="in_progress",
            workflow_job__conclusion=None,
            workflow_job__completed_at=None,
        ),
        ("workflow_job.in_progress",),
    ),
    (
        "check_suite_completed_success",
        "check_suite_completed_failure",
        "check_suite",
        set_paths(check_suite__conclusion="failure"),
        (),
    ),
    (
        "check_run_completed_failure",
        "check_run_completed_success",
        "check_run",
        set_paths(check_run__conclusion="success"),
        ("check_run.completed.success",),
    ),
    (
        "create_tag",
        "create_branch",
        "create",
        set_paths(ref="feature/login", ref_type="branch"),
        (),
    ),
    (
        "delete_tag",
        "delete_branch",
        "delete",
        set_paths(ref="feature/login", ref_type="branch"),
        (),
    ),
    (
        "pull_request_review_submitted",
        "pull_request_review_submitted_approved",
        "pull_request_review",
        set_paths(review__state="approved", review__body="Looks good 👍"),
        (),
    ),
    (
        "pull_request_review_submitted",
        "pull_request_review_commented",
        "pull_request_review",
        set_paths(review__body=_FENCED),
        (),
    ),
    (
        "pull_request_review_comment_created",
        "pull_request_review_comment_multiline",
        "pull_request_review_comment",
        set_paths(
            comment__body=_FENCED,
            comment__start_line=262,
            comment__diff_hunk=(
                "@@ -260,6 +260,8 @@ def names():\n"
                "     first = 1\n"
                "-    OLD_NAME = 2\n"
                "+    NEW_NAME = 2\n"
                "+    # see ```docs```\n"
                "     last = 3\n"
                "     return first\n"
                "+    return last"
            ),
        ),
        (),
    ),
    (
        "discussion_created",
        "discussion_closed",
        "discussion",
        set_paths(action="closed", discussion__state="closed", discussion__state_reason="resolved"),
        (),
    ),
    (
        "discussion_created",
        "discussion_reopened",
        "discussion",
        set_paths(action="reopened"),
        (),
    ),
    (
        "dependabot_alert_fixed",
        "dependabot_alert_dismissed",
        "dependabot_alert",
        set_paths(
            action="dismissed",
            alert__state="dismissed",
            alert__dismissed_by=_OCTOCAT,
            alert__dismissed_reason="tolerable_risk",
            alert__dismissed_comment="Only used in CI, never with *user* input.",
        ),
        (),
    ),
    (
        "dependabot_alert_created",
        "dependabot_alert_auto_reopened",
        "dependabot_alert",
        set_paths(action="auto_reopened"),
        (),
    ),
    (
        "secret_scanning_alert_reopened",
        "secret_scanning_alert_created",
        "secret_scanning_alert",
        set_paths(action="created", alert=_SECRET_ALERT),
        (),
    ),
    (
        "secret_scanning_alert_reopened",
        "secret_scanning_alert_resolved",
        "secret_scanning_alert",
        set_paths(
            action="resolved",
            alert={
                **_SECRET_ALERT,
                "state": "resolved",
                "resolution": "revoked",
                "resolved_by": _OCTOCAT,
                "resolved_at": "2024-05-02T10:00:00Z",
                "resolution_comment": "Rotated the key; the old one is dead.",
            },
        ),
        (),
    ),
    (
        "code_scanning_alert_created",
        "code_scanning_alert_appeared_in_branch",
        "code_scanning_alert",
        set_paths(action="appeared_in_branch", ref="refs/heads/release/1.x"),
        (),
    ),
]

#: Fixtures of opt-in events: (fixture, event name, a family that opts in as well).
OPT_IN_FIXTURES = [
    ("workflow_run_completed_success", "workflow_run.completed.success", "workflow_run"),
    ("workflow_job_completed_success", "workflow_job.completed.success", "workflow_job"),
    ("check_suite_completed_success", "check_suite.completed.success", "check_suite"),
    ("deployment_status_success", "deployment_status.success", "deployment_status"),
    ("deployment_status_in_progress", "deployment_status.in_progress", "deployment_status"),
    ("star_created", "star.created", "star"),
    ("fork", "fork", "fork"),
]

#: Samples for "try a sample": each is a fixture, or a case above, and posts its golden message.
SAMPLE_GOLDENS = {
    "ping": "ping.json",
    "push": "push.json",
    "create_tag": "create_tag.json",
    "delete_tag": "delete_tag.json",
    "pull_request_opened": "pull_request_opened.json",
    "pull_request_review_submitted_approved": "events/pull_request_review_submitted_approved.json",
    "pull_request_review_dismissed": "pull_request_review_dismissed.json",
    "pull_request_review_comment_created": "pull_request_review_comment_created.json",
    "issues_opened": "issues_opened.json",
    "issue_comment_created": "issue_comment_created.json",
    "discussion_created": "discussion_created.json",
    "discussion_answered": "discussion_answered.json",
    "discussion_comment_created": "discussion_comment_created.json",
    "release_published": "release_published.json",
    "deployment_created": "deployment_created.json",
    "deployment_status_failure": "events/deployment_status_failure.json",
    "workflow_run_completed_failure": "workflow_run_completed_failure.json",
    "workflow_job_completed_failure": "workflow_job_completed_failure.json",
    "check_suite_completed_failure": "events/check_suite_completed_failure.json",
    "check_run_completed_failure": "check_run_completed_failure.json",
    "dependabot_alert_created": "dependabot_alert_created.json",
    "dependabot_alert_fixed": "dependabot_alert_fixed.json",
    "secret_scanning_alert_created": "events/secret_scanning_alert_created.json",
    "code_scanning_alert_created": "code_scanning_alert_created.json",
    "code_scanning_alert_fixed": "code_scanning_alert_fixed.json",
}


def _delivery(document: dict[str, Any], event: str, secret: str | None = None) -> Delivery:
    delivery = delivery_of("github", "push", document, secret=secret)
    delivery.headers["X-GitHub-Event"] = event
    return delivery


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


@pytest.mark.parametrize(
    ("base", "name", "event", "change", "include"), CASES, ids=[c[1] for c in CASES]
)
async def test_event(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    base: str,
    name: str,
    event: str,
    change: Change,
    include: tuple[str, ...],
) -> None:
    robot = await make_robot("github", **opted_in(include))
    delivery = _delivery(fixture_document("github", base, change), event)
    message = await shown(client, admin_headers, robot, delivery)
    golden(EVENTS / f"{name}.json", message["content"])
    assert FAKE_SECRET not in _text(message["content"])


@pytest.mark.parametrize(
    ("fixture", "event", "family"), OPT_IN_FIXTURES, ids=[f[0] for f in OPT_IN_FIXTURES]
)
async def test_opt_in(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    fixture: str,
    event: str,
    family: str,
) -> None:
    """Ignored by default (the fixture's golden says so), shown when the robot names the event
    or its family in ``include_events``."""
    quiet = await make_robot("github")
    answer = await send(client, quiet, deliver("github", fixture, secret=None))
    assert answer.json() == {
        "errcode": 0,
        "errmsg": f'ignored: event "{event}" is shown only when the robot opts in (include_events)',
    }
    assert await last_message(client, admin_headers, quiet) is None
    contents = []
    for include in (event, family):
        robot = await make_robot("github", include_events=[include])
        message = await shown(client, admin_headers, robot, deliver("github", fixture, secret=None))
        contents.append(message["content"])
    assert contents[0] == contents[1]
    golden(OPT_IN / f"{fixture}.json", contents[0])


@pytest.mark.parametrize("action", ["released", "prereleased", "created", "edited"])
async def test_one_message_per_release(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, action: str
) -> None:
    """GitHub sends ``published`` with ``released``/``prereleased``/``created`` for one release:
    only ``release.published`` is shown."""
    robot = await make_robot("github")
    document = fixture_document("github", "release_published", set_paths(action=action))
    answer = await send(client, robot, _delivery(document, "release"))
    assert answer.json()["errmsg"] == f'ignored: event "release.{action}" has no message in Gong'
    assert await last_message(client, admin_headers, robot) is None


async def test_event_names() -> None:
    """Finished CI is named by its conclusion, deployment statuses by their state."""
    github = sources()[RobotKind.GITHUB]
    names = {
        ("workflow_run", "workflow_run_completed_failure"): "workflow_run.completed.failure",
        ("workflow_job", "workflow_job_completed_failure"): "workflow_job.completed.failure",
        ("check_run", "check_run_completed_failure"): "check_run.completed.failure",
        ("check_suite", "check_suite_completed_success"): "check_suite.completed.success",
        ("deployment_status", "deployment_status_in_progress"): "deployment_status.in_progress",
        ("deployment", "deployment_created"): "deployment.created",
        ("fork", "fork"): "fork",
    }
    for (header, fixture), name in names.items():
        delivery = deliver("github", fixture, secret=None)
        document = json.loads(delivery.body)
        event = github.event(
            SourceDelivery(
                headers={k.lower(): v for k, v in delivery.headers.items()},
                body=delivery.body,
                document=delivery.body,
                callback_url="",
                now_ms=0,
            ),
            document,
            IntegrationConfig(),
        )
        assert event.name == name, header


async def test_secret_never_shown(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """The secret a secret scanning alert carries is in no message, whatever the action."""
    for action in ("created", "reopened", "resolved"):
        robot = await make_robot("github")
        alert = {**_SECRET_ALERT, "secret_type_display_name": None, "resolution": "revoked"}
        document = fixture_document(
            "github", "secret_scanning_alert_reopened", set_paths(action=action, alert=alert)
        )
        answer = await send(client, robot, _delivery(document, "secret_scanning_alert"))
        assert answer.json() == OK
        message = await last_message(client, admin_headers, robot)
        assert message is not None
        assert FAKE_SECRET not in _text(message["content"])
        assert "Secret scanning alert #42" in _text(message["content"])


async def test_code_blocks_kept(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """A review comment's code block reaches the message as a fenced block, even when the body
    is cut right after it; the diff excerpt cannot be closed by backticks in the diff."""
    robot = await make_robot("github")
    body = "See:\n```sh\n" + "\n".join(f"echo {i}" for i in range(30)) + "\n```\nthanks"
    document = fixture_document(
        "github",
        "pull_request_review_comment_created",
        set_paths(comment__body=body, comment__diff_hunk="@@ -1 +1 @@\n-```\n+````"),
    )
    answer = await send(client, robot, _delivery(document, "pull_request_review_comment"))
    assert answer.json() == OK
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    text = message["content"]["actionCard"]["text"]
    assert "`````diff\n@@ -1 +1 @@\n-```\n+````\n`````" in text
    assert "> ```sh\n> echo 0\n" in text
    assert text.endswith("> ```\n>\n> …")


@pytest.mark.parametrize("sample", sorted(SAMPLE_GOLDENS))
async def test_sample(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, sample: str
) -> None:
    """Each sample is what GitHub sends (its headers beside it) and shows its event's golden."""
    body = (SAMPLES / f"{sample}.json").read_bytes()
    headers = json.loads((SAMPLES / f"{sample}.headers.json").read_text(encoding="utf-8"))
    assert not any("signature" in h.lower() for h in headers)
    assert len(body) < 32_000
    robot = await make_robot("github")
    answer = await send(client, robot, Delivery(body, headers))
    assert answer.json() == OK, sample
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    expected = json.loads((GOLDEN / "github" / SAMPLE_GOLDENS[sample]).read_text("utf-8"))
    assert message["content"] == expected.get("message", expected)


async def test_every_sample_is_tested() -> None:
    stems = {p.name.removesuffix(".json") for p in SAMPLES.glob("*.json")}
    assert {s for s in stems if not s.endswith(".headers")} == set(SAMPLE_GOLDENS)
    assert {s.removesuffix(".headers") for s in stems if s.endswith(".headers")} == set(
        SAMPLE_GOLDENS
    )


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc"])
async def test_bad_signature(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    signature: str | None,
) -> None:
    robot = await make_robot("github", source_secret=SECRET)
    delivery = deliver("github", "deployment_created", secret=None)
    if signature is not None:
        delivery.headers["X-Hub-Signature-256"] = signature
    answer = await send(client, robot, delivery)
    assert answer.json()["errcode"] == 310001
    assert SECRET not in answer.text
    assert await last_message(client, admin_headers, robot) is None


async def test_signed_with_another_secret(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("github", source_secret=SECRET)
    answer = await send(
        client, robot, deliver("github", "workflow_job_completed_failure", secret="x")
    )
    assert answer.json()["errcode"] == 310001
    assert await last_message(client, admin_headers, robot) is None


@pytest.mark.parametrize("fixture", ["workflow_job_completed_failure", "dependabot_alert_created"])
async def test_truncated_json(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, fixture: str
) -> None:
    robot = await make_robot("github")
    raw = payload("github", fixture)
    delivery = deliver("github", fixture, document=raw[: len(raw) // 2], secret=None)
    answer = await send(client, robot, delivery)
    assert answer.json()["errcode"] == 400401
    assert await last_message(client, admin_headers, robot) is None


async def test_wrong_shape(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("github")
    document = fixture_document(
        "github", "code_scanning_alert_created", set_paths(alert__number="ten")
    )
    answer = await send(client, robot, _delivery(document, "code_scanning_alert"))
    assert answer.json()["errcode"] == 400401
    assert "alert.number" in answer.json()["errmsg"]


def _huge_job(document: dict[str, Any]) -> None:
    step = {"name": "x" * 500, "status": "completed", "conclusion": "failure"}
    document["workflow_job"]["steps"] = [dict(step, number=i) for i in range(5_000)]
    document["workflow_job"]["name"] = "j" * 10_000


def _huge_comment(document: dict[str, Any]) -> None:
    document["comment"]["body"] = ("```\n" + "y" * 1_000_000 + "\n```\n") * 2
    document["comment"]["diff_hunk"] = "\n".join("+" + "z" * 1_000 for _ in range(1_000))


def _huge_alert(document: dict[str, Any]) -> None:
    document["alert"]["security_advisory"]["summary"] = "s" * 1_000_000
    document["alert"]["dependency"]["manifest_path"] = "m/" * 100_000


@pytest.mark.parametrize(
    ("base", "event", "change"),
    [
        ("workflow_job_completed_failure", "workflow_job", _huge_job),
        ("pull_request_review_comment_created", "pull_request_review_comment", _huge_comment),
        ("dependabot_alert_created", "dependabot_alert", _huge_alert),
    ],
    ids=["job", "review_comment", "dependabot_alert"],
)
async def test_huge_payload_fits(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    base: str,
    event: str,
    change: Change,
) -> None:
    robot = await make_robot("github")
    answer = await send(client, robot, _delivery(fixture_document("github", base, change), event))
    assert answer.json() == OK
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    size = len(json.dumps(message["content"], ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= 20_000
