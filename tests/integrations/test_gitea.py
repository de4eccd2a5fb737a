"""Gitea and Forgejo: every event against its golden message, the signature, opt-in runs, huge
pushes and bad bodies, over HTTP."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from gong.integrations import gitea
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
    set_paths,
    shown,
    size,
)
from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import GOLDEN, SECRET, Delivery, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

_FENCED = (
    "Reproduced with:\n\n```python\nparse('')  # raises IndexError\nprint(*items, sep='_')\n```\n\n"
    "Fixed in **#3**."
)


def _review(kind: str, content: str) -> Change:
    return set_paths(action="reviewed", review={"type": kind, "content": content})


def _success(key: str) -> Change:
    return set_paths(**{f"{key}__conclusion": "success"})


#: (base fixture, golden name, X-Gitea-Event, change, include_events)
CASES: list[tuple[str, str, str, Change, list[str]]] = [
    (
        "pull_request_opened",
        "pull_request_closed_merged",
        "pull_request",
        set_paths(
            action="closed", pull_request__merged=True, pull_request__merged_by={"login": "lead"}
        ),
        [],
    ),
    ("pull_request_opened", "pull_request_closed", "pull_request", set_paths(action="closed"), []),
    (
        "pull_request_opened",
        "pull_request_reopened",
        "pull_request",
        set_paths(action="reopened"),
        [],
    ),
    (
        "pull_request_opened",
        "pull_request_review_requested",
        "pull_request",
        set_paths(action="review_requested", requested_reviewer={"login": "reviewer"}),
        [],
    ),
    (
        "pull_request_opened",
        "pull_request_opened_with_body",
        "pull_request",
        set_paths(
            pull_request__body="Adds *retry* to the [client](http://x) <b>now</b>",
            pull_request__labels=[{"name": "enhancement"}],
            pull_request__requested_reviewers=[{"login": "reviewer"}],
        ),
        [],
    ),
    (
        "pull_request_comment",
        "pull_request_approved",
        "pull_request_approved",
        _review("pull_request_review_approved", "LGTM 👍"),
        [],
    ),
    (
        "pull_request_comment",
        "pull_request_rejected",
        "pull_request_rejected",
        _review("pull_request_review_rejected", "Please add a test."),
        [],
    ),
    ("issues_opened", "issues_closed", "issues", set_paths(action="closed"), []),
    ("issues_opened", "issues_reopened", "issues", set_paths(action="reopened"), []),
    (
        "issues_opened",
        "issues_opened_with_labels",
        "issues",
        set_paths(
            issue__body="Steps:\n1. open\n2. crash",
            issue__labels=[{"name": "bug"}],
            issue__assignees=[{"login": "example"}],
        ),
        [],
    ),
    (
        "issue_comment_created",
        "issue_comment_on_pull_request_with_code",
        "issue_comment",
        set_paths(is_pull=True, comment__body=_FENCED),
        [],
    ),
    (
        "push",
        "push_tag",
        "push",
        set_paths(ref="refs/tags/v1.0.0"),
        [],
    ),
    (
        "push",
        "push_to_branch",
        "push",
        set_paths(before="1" * 40, total_commits=3),
        [],
    ),
    ("create_branch", "create_tag", "create", set_paths(ref="v1.0.0", ref_type="tag"), []),
    ("delete_branch", "delete_tag", "delete", set_paths(ref="v0.9.0", ref_type="tag"), []),
    (
        "release_published",
        "release_prerelease_with_notes",
        "release",
        set_paths(release__prerelease=True, release__body="## Changes\n- fixed *parser*"),
        [],
    ),
    (
        "workflow_run_completed_failure",
        "workflow_run_completed_success",
        "workflow_run",
        _success("workflow_run"),
        ["workflow_run"],
    ),
    (
        "workflow_run_completed_failure",
        "workflow_run_in_progress",
        "workflow_run",
        set_paths(
            action="in_progress", workflow_run__status="in_progress", workflow_run__conclusion=""
        ),
        ["workflow_run.in_progress"],
    ),
    (
        "workflow_job_completed_failure",
        "workflow_job_completed_success",
        "workflow_job",
        _success("workflow_job"),
        ["workflow_job.completed.success"],
    ),
    (
        "workflow_job_completed_failure",
        "workflow_job_queued",
        "workflow_job",
        set_paths(action="queued", workflow_job__status="queued", workflow_job__conclusion=""),
        ["workflow_job"],
    ),
]


def _delivery(base: str, event: str, document: dict[str, Any], secret: str | None) -> Delivery:
    delivery = delivery_of("gitea", base, document, secret=secret)
    for product in ("Gitea", "Gogs", "GitHub"):
        delivery.headers[f"X-{product}-Event"] = event
    return delivery


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
    include: list[str],
) -> None:
    robot = await make_robot("gitea", **opted_in(include, source_secret=SECRET))
    document = fixture_document("gitea", base, change)
    message = await shown(client, admin_headers, robot, _delivery(base, event, document, SECRET))
    golden(GOLDEN / "gitea" / "events" / f"{name}.json", message["content"])


async def test_every_builder_is_reached() -> None:
    """Each builder of the table is used by a fixture or a case above."""
    reached = {
        "push",
        "create",
        "delete",
        "pull_request.opened",
        "pull_request.reopened",
        "pull_request.closed",
        "pull_request.review_requested",
        "pull_request_approved",
        "pull_request_rejected",
        "pull_request_comment",
        "issues.opened",
        "issues.closed",
        "issues.reopened",
        "issue_comment.created",
        "release.published",
        "workflow_run.completed",
        "workflow_run.in_progress",
        "workflow_job.completed",
        "workflow_job.queued",
    }
    functions = {fn.__name__ for key, fn in gitea.BUILDERS.items() if key in reached}
    assert functions == {fn.__name__ for fn in gitea.BUILDERS.values()}


async def test_code_fences_stay_code(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """A comment's fenced code is quoted as code: its lines unescaped, the fence kept."""
    document = fixture_document("gitea", "issue_comment_created", set_paths(comment__body=_FENCED))
    robot = await make_robot("gitea")
    delivery = _delivery("issue_comment_created", "issue_comment", document, None)
    message = await shown(client, admin_headers, robot, delivery)
    text = message["content"]["actionCard"]["text"]
    assert "> ```python\n> parse('')  # raises IndexError\n> print(*items, sep='_')\n> ```" in text


async def test_forgejo_headers(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Forgejo's own headers are read: X-Forgejo-Event and X-Forgejo-Signature."""
    robot = await make_robot("gitea", source_secret=SECRET)
    raw = payload("gitea", "push")
    signature = deliver("gitea", "push", secret=SECRET).headers["X-Gitea-Signature"]
    headers = {
        "Content-Type": "application/json",
        "X-Forgejo-Event": "push",
        "X-Forgejo-Event-Type": "push",
        "X-Forgejo-Delivery": "5b1f4c2e-0000-4000-8000-000000000001",
        "X-Forgejo-Signature": signature,
    }
    answer = await send(client, robot, Delivery(raw, headers))
    assert (answer.status_code, answer.json()) == (200, OK)
    assert await last_message(client, admin_headers, robot) is not None


@pytest.mark.parametrize(
    ("header", "value", "detail"),
    [
        (None, None, "X-Gitea-Signature is missing"),
        ("X-Gitea-Signature", "0" * 64, "X-Gitea-Signature does not match"),
        ("X-Forgejo-Signature", "f" * 64, "X-Forgejo-Signature does not match"),
    ],
)
async def test_signature_refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    header: str | None,
    value: str | None,
    detail: str,
) -> None:
    robot = await make_robot("gitea", source_secret=SECRET)
    delivery = deliver("gitea", "push", secret=None)
    if header is not None and value is not None:
        delivery.headers[header] = value
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_refused(answer, message, detail)


async def test_signature_with_another_secret_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("gitea", source_secret=SECRET)
    answer = await send(client, robot, deliver("gitea", "push", secret="another secret"))
    assert (answer.status_code, answer.json()["errcode"]) == (403, 310001)
    assert await last_message(client, admin_headers, robot) is None


@pytest.mark.parametrize(
    ("base", "event", "change", "name"),
    [
        (
            "workflow_run_completed_failure",
            "workflow_run",
            _success("workflow_run"),
            "workflow_run.completed.success",
        ),
        (
            "workflow_job_completed_failure",
            "workflow_job",
            _success("workflow_job"),
            "workflow_job.completed.success",
        ),
        (
            "workflow_run_completed_failure",
            "workflow_run",
            set_paths(action="requested", workflow_run__status="queued"),
            "workflow_run.requested",
        ),
    ],
)
async def test_successes_and_runs_in_progress_are_opt_in(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    base: str,
    event: str,
    change: Change,
    name: str,
) -> None:
    document = fixture_document("gitea", base, change)
    robot = await make_robot("gitea")
    answer, message = await post(
        client, admin_headers, robot, _delivery(base, event, document, None)
    )
    assert_ignored(answer, message, name)
    family = name.split(".")[0]
    opted = await make_robot("gitea", include_events=[family])
    await shown(client, admin_headers, opted, _delivery(base, event, document, None))


@pytest.mark.parametrize(
    ("event", "action", "why"),
    [
        ("pull_request", "synchronized", "has no message in"),
        ("issues", "label_updated", "has no message in"),
        ("wiki", "created", "is unknown to"),
    ],
)
async def test_events_without_a_message(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    event: str,
    action: str,
    why: str,
) -> None:
    document = fixture_document("gitea", "pull_request_opened", set_paths(action=action))
    robot = await make_robot("gitea")
    answer = await send(client, robot, _delivery("pull_request_opened", event, document, None))
    assert answer.status_code == 200
    assert answer.json()["errmsg"] == f'ignored: event "{event}.{action}" {why} Gong'
    assert await last_message(client, admin_headers, robot) is None


async def test_five_thousand_commits_fit(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    document = json.loads(payload("gitea", "push"))
    commit = document["commits"][0]
    commits = []
    for i in range(5000):
        one = copy.deepcopy(commit)
        one["id"] = f"{i:040x}"
        one["message"] = f"Commit {i} " + "with a long message that *looks* like [markdown] " * 3
        commits.append(one)
    document.update(before="1" * 40, commits=commits, total_commits=5000)
    robot = await make_robot("gitea")
    message = await shown(client, admin_headers, robot, _delivery("push", "push", document, None))
    text = message["content"]["markdown"]["text"]
    assert "pushed [5000 commits]" in text
    assert "and 4990 more commits" in text
    assert size(message["content"]) < 20_000


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        (payload("gitea", "push")[:300], {"X-Gitea-Event": "push"}, "not valid JSON"),
        (b"", {"X-Gitea-Event": "push"}, "empty"),
        (b"[1, 2]", {"X-Gitea-Event": "push"}, "not an object"),
        (payload("gitea", "push"), {}, "no X-Gitea-Event or X-Forgejo-Event header"),
        (b'{"ref": "refs/heads/main"}', {"X-Gitea-Event": "push"}, "field repository is missing"),
        (
            b'{"ref": 5, "repository": {"full_name": "a/b"}}',
            {"X-Gitea-Event": "push"},
            "field ref is not valid",
        ),
        (
            b'{"action": "opened", "pull_request": {"number": "two"}}',
            {"X-Gitea-Event": "pull_request"},
            "Gitea pull_request: field",
        ),
    ],
    ids=["truncated", "empty", "array", "no-event-header", "missing-field", "wrong-type", "pr"],
)
async def test_bad_bodies_are_400401(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    body: bytes,
    headers: dict[str, str],
    detail: str,
) -> None:
    robot = await make_robot("gitea")
    delivery = Delivery(body, {"Content-Type": "application/json", **headers})
    answer, message = await post(client, admin_headers, robot, delivery)
    assert_bad_body(answer, message, detail)
