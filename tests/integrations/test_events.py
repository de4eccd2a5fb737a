"""Events the fixtures do not cover, built from a fixture with the fields that event has, over HTTP
and against golden messages: every builder of every source runs at least once."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import pytest

from gong.domain.models import RobotKind
from gong.integrations import (
    Ignored,
    IntegrationConfig,
    alertmanager,
    codeup,
    github,
    gitlab,
    grafana,
    jira,
    preview,
    sources,
    travis,
    trello,
)
from tests.integrations.checks import Change, delivery_of, fixture_document, set_paths, shown
from tests.integrations.conftest import MakeRobot, golden
from tests.integrations.deliveries import GOLDEN, all_fixtures, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCES = sources()


_USER = {"name": "User Two", "username": "user2"}


def _codeup_note(document: dict[str, Any]) -> None:
    document.update(
        object_kind="note",
        object_attributes={
            "note": "请修改一下",
            "noteable_type": "MergeRequest",
            "url": "https://codeup.aliyun.com/demo/demo/merge_requests/1#note_3",
        },
        merge_request={"iid": 1, "title": "MS-Viewport"},
        repository={"name": "demo", "homepage": "https://codeup.aliyun.com/demo/demo"},
    )


CASES: list[tuple[str, str, str, str | None, Change]] = [
    # (source, base fixture, golden name, event header, change)
    (
        "github",
        "pull_request_opened",
        "pull_request_review_approved",
        "pull_request_review",
        set_paths(
            action="submitted",
            review={
                "state": "approved",
                "body": "Looks good 👍",
                "html_url": "https://github.com/Codertocat/Hello-World/pull/2#pullrequestreview-1",
                "user": {"login": "octocat"},
            },
        ),
    ),
    (
        "github",
        "pull_request_opened",
        "pull_request_reopened",
        "pull_request",
        set_paths(action="reopened"),
    ),
    (
        "github",
        "pull_request_opened",
        "pull_request_ready_for_review",
        "pull_request",
        set_paths(action="ready_for_review"),
    ),
    (
        "github",
        "pull_request_closed_merged",
        "pull_request_closed_unmerged",
        "pull_request",
        set_paths(pull_request__merged=False),
    ),
    ("github", "issues_closed", "issues_reopened", "issues", set_paths(action="reopened")),
    (
        "github",
        "push",
        "push_new_branch",
        "push",
        set_paths(ref="refs/heads/feature/x", created=True, before="0" * 40),
    ),
    (
        "github",
        "push",
        "push_deleted_branch",
        "push",
        set_paths(ref="refs/heads/old", deleted=True, after="0" * 40, commits=[]),
    ),
    ("github", "push", "push_forced", "push", set_paths(forced=True)),
    ("github", "push", "push_tag", "push", set_paths(ref="refs/tags/v1.2.0", created=True)),
    (
        "github",
        "workflow_run_completed_failure",
        "workflow_run_in_progress",
        "workflow_run",
        set_paths(action="in_progress", workflow_run__status="in_progress"),
    ),
    (
        "gitlab",
        "merge_request_opened",
        "merge_request_approved",
        None,
        set_paths(object_attributes__action="approved"),
    ),
    (
        "gitlab",
        "merge_request_opened",
        "merge_request_review_requested",
        None,
        set_paths(
            object_attributes__action="update",
            changes={"reviewers": {"previous": [], "current": [_USER]}},
        ),
    ),
    (
        "gitlab",
        "push",
        "push_deleted_branch",
        None,
        set_paths(after="0" * 40, commits=[], total_commits_count=0),
    ),
    ("gitlab", "job_failed", "job_canceled", None, set_paths(build_status="canceled")),
    (
        "codeup",
        "merge_request_opened",
        "note_merge_request",
        None,
        _codeup_note,
    ),
    (
        "codeup",
        "merge_request_opened",
        "merge_request_merged",
        None,
        set_paths(object_attributes__action="merge"),
    ),
    ("jira", "comment_created", "comment_updated", None, set_paths(webhookEvent="comment_updated")),
    (
        "jira",
        "issue_updated_priority",
        "issue_updated_description",
        None,
        set_paths(
            changelog={
                "items": [
                    {"field": "description", "fromString": "old", "toString": "New text\nline 2"},
                    {"field": "summary", "fromString": "Unit test", "toString": "Unit test 1"},
                ]
            }
        ),
    ),
    (
        "trello",
        "createCard",
        "updateCard_renamed",
        None,
        set_paths(action__type="updateCard", action__data__old={"name": "0 - test card"}),
    ),
    (
        "trello",
        "createCard",
        "updateCard_archived",
        None,
        set_paths(
            action__type="updateCard",
            action__data__old={"closed": False},
            action__data__card__closed=True,
        ),
    ),
    (
        "trello",
        "createCard",
        "updateCard_due",
        None,
        set_paths(
            action__type="updateCard",
            action__data__old={"due": None},
            action__data__card__due="2026-12-01T09:00:00.000Z",
        ),
    ),
    (
        "trello",
        "createCard",
        "updateCard_description",
        None,
        set_paths(
            action__type="updateCard",
            action__data__old={"desc": ""},
            action__data__card__desc="Steps:\n1. open\n2. click",
        ),
    ),
    (
        "trello",
        "addMemberToCard",
        "removeMemberFromCard",
        None,
        set_paths(action__type="removeMemberFromCard", action__member={"fullName": "Someone Else"}),
    ),
    (
        "trello",
        "addLabelToCard",
        "removeLabelFromCard",
        None,
        set_paths(action__type="removeLabelFromCard"),
    ),
    (
        "trello",
        "createCard",
        "addAttachmentToCard",
        None,
        set_paths(
            action__type="addAttachmentToCard",
            action__data__attachment={"name": "log.txt", "url": "https://trello.com/1/log.txt"},
        ),
    ),
    (
        "trello",
        "createCard",
        "updateCheckItemStateOnCard",
        None,
        set_paths(
            action__type="updateCheckItemStateOnCard",
            action__data__checkItem={"name": "Write tests", "state": "complete"},
        ),
    ),
    ("trello", "createCard", "deleteCard", None, set_paths(action__type="deleteCard")),
    (
        "trello",
        "createCard",
        "createList",
        None,
        set_paths(
            action__type="createList", action__data__card=None, action__data__list={"name": "Done"}
        ),
    ),
    (
        "travis",
        "passed_push",
        "fixed_pull_request",
        None,
        set_paths(
            status_message="Fixed",
            type="pull_request",
            pull_request=True,
            pull_request_number=12,
            pull_request_title="Fix the build",
            compare_url="https://github.com/hl7-fhir/fhir-svn/pull/12",
        ),
    ),
    ("travis", "failed_push", "broken_tag", None, set_paths(status_message="Broken", tag="v2.0")),
]


@pytest.mark.parametrize(
    ("source", "base", "name", "header", "change"), CASES, ids=[f"{c[0]}/{c[2]}" for c in CASES]
)
async def test_event(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    base: str,
    name: str,
    header: str | None,
    change: Change,
) -> None:
    document = fixture_document(source, base, change)
    only = ["workflow_run.in_progress"] if name == "workflow_run_in_progress" else None
    settings: dict[str, Any] = {"travis_verify": False} if source == "travis" else {}
    if only:
        settings["only_events"] = only
    robot = await make_robot(source, **settings)
    delivery = delivery_of(source, base, document, secret=None)
    if header is not None:
        delivery.headers["X-GitHub-Event"] = header
    message = await shown(client, admin_headers, robot, delivery)
    golden(GOLDEN / source / "events" / f"{name}.json", message["content"])


async def test_every_builder_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every builder function of every source is reached by a fixture or by a case above."""
    modules = {
        "github": github,
        "gitlab": gitlab,
        "codeup": codeup,
        "jira": jira,
        "travis": travis,
        "trello": trello,
        "alertmanager": alertmanager,
        "grafana": grafana,
    }
    everything: set[tuple[str, str]] = set()
    called: set[tuple[str, str]] = set()
    for source, module in modules.items():
        for name in ("BUILDERS", "ZONED_BUILDERS"):  # zoned builders also take the group's zone
            table: dict[str, Any] = getattr(module, name, {})
            everything |= {(source, fn.__name__) for fn in table.values()}
            spies = {key: _spy(source, fn, called) for key, fn in table.items()}
            monkeypatch.setattr(module, name, spies, raising=False)
    config = IntegrationConfig(
        only_events=(
            "*",
            "workflow_run.in_progress",
            "pipeline.running",
            "pending",
            "emoji.award",
            "star.created",
            "fork",
            "deployment_status.*",
            "check_suite.*",
        )
    )
    cases = [(s, b, b, None, _unchanged) for s, b in all_fixtures()] + CASES
    for source, base, _name, header, change in cases:
        document = json.loads(payload(source, base))
        change(document)
        raw = json.dumps(document).encode()
        headers = deliver(source, base, document=raw, secret=None).headers
        if header is not None:
            headers["X-GitHub-Event"] = header
        with contextlib.suppress(Ignored):
            preview(SOURCES[RobotKind(source)], config, raw, headers)
    assert everything - called == set()


def _unchanged(document: dict[str, Any]) -> None:
    pass


def _spy(source: str, fn: Any, called: set[tuple[str, str]]) -> Any:
    def run(document: dict[str, Any], *zone: Any) -> Any:
        called.add((source, fn.__name__))
        return fn(document, *zone)

    return run
