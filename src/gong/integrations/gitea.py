"""Gitea and Forgejo webhooks: pushes, branches and tags, pull requests and reviews, issues,
comments, releases, and Actions runs and jobs.

The event is named by the ``X-Gitea-Event`` header (Forgejo also sends ``X-Forgejo-Event``;
either is read) and the payload's ``action`` (``pull_request.opened``). Reviews come as
Gitea names them, ``pull_request_approved``, ``pull_request_rejected`` and
``pull_request_comment``, with the action ``reviewed``. Finished Actions runs and jobs carry
their conclusion as a last segment (``workflow_run.completed.failure``); successes and runs in
progress are opt-in. With a source secret, ``X-Gitea-Signature`` (or ``X-Forgejo-Signature``)
must be the hex HMAC-SHA256 of the raw body, which Gitea computes whenever the webhook has a
secret. The payload models are in :mod:`gong.integrations.gitea_models`.
"""

from __future__ import annotations

import posixpath
from typing import Any

from gong.domain.models import RobotKind
from gong.integrations import forge
from gong.integrations.git import (
    ZERO_SHA,
    Change,
    Push,
    Ref,
    branch_of,
    listed,
    push_message,
)
from gong.integrations.gitea_models import (
    IssueCommentEvent,
    IssuesEvent,
    PullRequest,
    PullRequestEvent,
    PushEvent,
    RefEvent,
    ReleaseEvent,
    Repository,
    User,
    WorkflowJobEvent,
    WorkflowRunEvent,
)
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    IntegrationConfig,
    Source,
    bad_signature,
    dispatch,
    hmac_hex,
    invalid,
    parse,
    same,
)
from gong.integrations.text import action_card, capped, escape, facts, link
from gong.protocol.messages import Message

__all__ = ["Gitea"]

#: Statuses of a run or job not started yet.
WAITING = dict.fromkeys(("queued", "waiting", "blocked", "requested"), "is queued")


# -- builders ---------------------------------------------------------------------------------


def _ref_url(repo: Repository, ref: str, is_tag: bool) -> str | None:
    """The page of a branch or tag: ``/{owner}/{repo}/src/branch/main``."""
    return repo.url(f"src/{'tag' if is_tag else 'branch'}/{ref}")


def push(document: dict[str, Any]) -> Message:
    event = parse(PushEvent, document, "Gitea push")
    repo = event.repository
    pushed = event.commits or []
    pusher = (event.pusher or event.sender or User()).shown
    is_tag = event.ref.startswith("refs/tags/")
    return push_message(
        Push(
            repo=repo.full_name,
            repo_url=repo.html_url,
            pusher=pusher,
            ref=event.ref,
            commits=forge.commits(pushed),
            total=event.total_commits if event.total_commits is not None else len(pushed),
            compare_url=event.compare_url or None,
            ref_url=_ref_url(repo, branch_of(event.ref), is_tag),
            created=event.before == ZERO_SHA,
            deleted=event.after == ZERO_SHA,
        )
    )


def _ref_event(document: dict[str, Any], deleted: bool) -> Message:
    event = parse(RefEvent, document, f"Gitea {'delete' if deleted else 'create'}")
    repo = event.repository
    name = branch_of(event.ref)
    return Ref(
        repo=repo.full_name,
        repo_url=repo.html_url,
        actor=(event.sender or User()).shown,
        ref_type=event.ref_type,
        name=name,
        url=_ref_url(repo, name, event.ref_type == "tag"),
        deleted=deleted,
    ).message()


def create_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, deleted=False)


def delete_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, deleted=True)


def _names(users: list[User] | None) -> list[str]:
    return [u.shown for u in users or []]


def _pr_details(pr: PullRequest) -> list[str]:
    details = []
    if pr.head.ref and pr.base.ref:
        details.append(f"**{escape(pr.head.ref)}** → **{escape(pr.base.ref)}**")
    return details


def pull_request(document: dict[str, Any]) -> Message:
    event = parse(PullRequestEvent, document, "Gitea pull_request")
    pr = event.pull_request
    action = event.action
    merged = action == "closed" and bool(pr.merged)
    reviewer = event.requested_reviewer.shown if event.requested_reviewer else "someone"
    verb, word = forge.pull_request_words(action, merged, bool(pr.draft), reviewer)
    details = _pr_details(pr)
    if action == "opened":
        details.append(listed("Reviewers", _names(pr.requested_reviewers)))
        details.append(listed("Labels", [label.name for label in pr.labels or []]))
    return Change(
        forge.item(event.repository, "pull request", pr),
        actor=(pr.merged_by if merged and pr.merged_by is not None else event.sender).shown,
        verb=verb,
        event=word,
        details=details,
        body=pr.body if action == "opened" else None,
        button="View pull request",
    ).message()


#: The review events as Gitea names them (``X-Gitea-Event``) → the review's state.
REVIEWS = {
    "pull_request_approved": "approved",
    "pull_request_rejected": "changes_requested",
    "pull_request_comment": "commented",
}


def _review(document: dict[str, Any], kind: str) -> Message:
    event = parse(PullRequestEvent, document, f"Gitea {kind}")
    verb, word = forge.REVIEWS[REVIEWS[kind]]
    return Change(
        forge.item(event.repository, "pull request", event.pull_request),
        actor=event.sender.shown,
        verb=verb,
        event=word,
        body=event.review.content if event.review else None,
        button="View pull request",
    ).message()


def review_approved(document: dict[str, Any]) -> Message:
    return _review(document, "pull_request_approved")


def review_rejected(document: dict[str, Any]) -> Message:
    return _review(document, "pull_request_rejected")


def review_comment(document: dict[str, Any]) -> Message:
    return _review(document, "pull_request_comment")


def issue(document: dict[str, Any]) -> Message:
    event = parse(IssuesEvent, document, "Gitea issues")
    opened = event.issue
    details: list[str] = []
    body = None
    if event.action == "opened":
        body = opened.body
        details.append(listed("Labels", [label.name for label in opened.labels or []]))
        details.append(listed("Assignees", _names(opened.assignees)))
    return Change(
        forge.item(event.repository, "issue", opened),
        actor=event.sender.shown,
        verb=event.action,
        event=event.action,
        details=details,
        body=body,
        button="View issue",
    ).message()


def issue_comment(document: dict[str, Any]) -> Message:
    event = parse(IssueCommentEvent, document, "Gitea issue_comment")
    issue = event.issue
    author = event.comment.user or event.sender
    on_pull = event.is_pull or issue.pull_request is not None
    # The body is markdown: quoted as it is, so fenced code blocks stay code.
    return Change(
        forge.item(event.repository, "pull request" if on_pull else "issue", issue),
        actor=author.shown,
        verb="commented on",
        event="new comment",
        body=event.comment.body,
        button="View comment",
        target=event.comment.html_url or issue.html_url,
    ).message()


def release(document: dict[str, Any]) -> Message:
    event = parse(ReleaseEvent, document, "Gitea release")
    author = (event.release.author or event.sender).shown
    return forge.release(event.repository, event.release, author)


def _run_facts(
    repo: Repository,
    branch: str | None,
    sha: str,
    event: str,
    actor: User | None,
    *more: str | None,
) -> str:
    return facts(
        link(repo.full_name, repo.html_url),
        f"branch {link(branch, _ref_url(repo, branch, False))}" if branch else None,
        forge.commit_fact(repo, sha),
        escape(event.replace("_", " ")) if event else None,
        f"by **{escape(actor.shown)}**" if actor is not None else None,
        *more,
    )


def workflow_run(document: dict[str, Any]) -> Message:
    event = parse(WorkflowRunEvent, document, "Gitea workflow_run")
    run = event.workflow_run
    repo = event.repository
    mark, phrase = forge.outcome(run.status, run.conclusion, WAITING)
    workflow = event.workflow
    name = (
        (workflow.name if workflow else "")
        or posixpath.basename((workflow.path if workflow else "") or run.path.split("@")[0])
        or "Workflow"
    )
    number = f" #{run.run_number}" if run.run_number is not None else ""
    took = forge.took(run.status, run.started_at, run.completed_at)
    parts = [
        f"#### {mark} {escape(name)}{number}{forge.attempt(run.run_attempt)} {phrase}",
        _run_facts(repo, run.head_branch, run.head_sha, run.event, run.actor or event.sender, took),
    ]
    if run.display_title:
        parts.append(f"**{escape(run.display_title)}**")
    title = f"[{repo.full_name}] {mark} {name}{number} {phrase}{forge.on(run.head_branch)}"
    return action_card(title, "\n\n".join(parts), "View run", run.html_url)


def workflow_job(document: dict[str, Any]) -> Message:
    event = parse(WorkflowJobEvent, document, "Gitea workflow_job")
    job = event.workflow_job
    repo = event.repository
    mark, phrase = forge.outcome(job.status, job.conclusion, WAITING)
    runner = f"runner **{escape(job.runner_name)}**" if job.runner_name else None
    took = forge.took(job.status, job.started_at, job.completed_at)
    parts = [
        f"#### {mark} Job {escape(job.name)}{forge.attempt(job.run_attempt)} {phrase}",
        _run_facts(repo, job.head_branch, job.head_sha, "", event.sender, runner, took),
    ]
    failed = [s for s in job.steps or [] if s.conclusion == "failure"]
    if job.status == "completed" and job.conclusion == "failure" and failed:
        rows = [
            f"- {f'{s.number}. ' if s.number is not None else ''}{escape(s.name)}" for s in failed
        ]
        parts.append("Failed steps:\n\n" + "\n".join(capped(rows, forge.MAX_STEPS, "step")))
    title = f"[{repo.full_name}] {mark} Job {job.name} {phrase}{forge.on(job.head_branch)}"
    return action_card(title, "\n\n".join(parts), "View job", job.html_url)


BUILDERS: dict[str, Builder] = {
    "push": push,
    "create": create_ref,
    "delete": delete_ref,
    "pull_request.opened": pull_request,
    "pull_request.reopened": pull_request,
    "pull_request.closed": pull_request,
    "pull_request.review_requested": pull_request,
    "pull_request_approved": review_approved,
    "pull_request_rejected": review_rejected,
    "pull_request_comment": review_comment,
    "issues.opened": issue,
    "issues.closed": issue,
    "issues.reopened": issue,
    "issue_comment.created": issue_comment,
    "release.published": release,
    "workflow_run.completed": workflow_run,
    "workflow_run.requested": workflow_run,
    "workflow_run.in_progress": workflow_run,
    "workflow_job.completed": workflow_job,
    "workflow_job.queued": workflow_job,
    "workflow_job.waiting": workflow_job,
    "workflow_job.in_progress": workflow_job,
}
#: Opt-in: successful and skipped runs and jobs, and runs and jobs not finished yet.
QUIET = frozenset(
    {
        "workflow_run.completed.success",
        "workflow_run.completed.skipped",
        "workflow_run.requested",
        "workflow_run.in_progress",
        "workflow_job.completed.success",
        "workflow_job.completed.skipped",
        "workflow_job.queued",
        "workflow_job.waiting",
        "workflow_job.in_progress",
    }
)
_RUNS = ("workflow_run", "workflow_job")


class Gitea(Source):
    kind = RobotKind.GITEA
    label = "Gitea"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        header = "X-Forgejo-Signature"
        given = delivery.header(header)
        if not given:
            header = "X-Gitea-Signature"
            given = delivery.header(header)
        if not given:
            raise bad_signature(
                "X-Gitea-Signature is missing: set the same secret in the webhook's settings "
                "in Gitea or Forgejo"
            )
        if not same(given.lower(), hmac_hex(secret, delivery.body)):
            raise bad_signature(f"{header} does not match the body and the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        family = delivery.header("X-Forgejo-Event") or delivery.header("X-Gitea-Event")
        if not family:
            raise invalid(
                "no X-Gitea-Event or X-Forgejo-Event header: this is not a Gitea or Forgejo "
                "webhook delivery"
            )
        name = family.strip()
        action = document.get("action")
        if isinstance(action, str) and action:
            name = f"{name}.{action}"
            if name.startswith(_RUNS) and action == "completed":
                item = document.get(family.strip())
                conclusion = item.get("conclusion") if isinstance(item, dict) else None
                if isinstance(conclusion, str) and conclusion:
                    name = f"{name}.{conclusion}"
        return dispatch(name, document, BUILDERS, QUIET)
