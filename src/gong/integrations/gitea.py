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
from gong.integrations.git import ZERO_SHA, Change, Commit, Push, branch_of, push_message
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
from gong.integrations.github import OUTCOMES
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
from gong.integrations.text import (
    action_card,
    duration,
    escape,
    link,
    markdown,
    plural,
    quote,
    short_sha,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = ["Gitea"]

#: Failed steps of a job listed in its message; the rest are counted.
MAX_STEPS = 10


# -- builders ---------------------------------------------------------------------------------


def _ref_url(repo: Repository, ref: str, is_tag: bool) -> str | None:
    """The page of a branch or tag: ``/{owner}/{repo}/src/branch/main``."""
    return repo.url(f"src/{'tag' if is_tag else 'branch'}/{ref}")


def push(document: dict[str, Any]) -> Message:
    event = parse(PushEvent, document, "Gitea push")
    repo = event.repository
    commits = event.commits or []
    pusher = (event.pusher or event.sender or User()).shown
    is_tag = event.ref.startswith("refs/tags/")
    return push_message(
        Push(
            repo=repo.full_name,
            repo_url=repo.html_url,
            pusher=pusher,
            ref=event.ref,
            commits=[
                Commit(
                    c.id,
                    c.message,
                    c.url,
                    (c.author.name or c.author.username) if c.author else "",
                )
                for c in commits
            ],
            total=event.total_commits if event.total_commits is not None else len(commits),
            compare_url=event.compare_url or None,
            ref_url=_ref_url(repo, branch_of(event.ref), is_tag),
            created=event.before == ZERO_SHA,
            deleted=event.after == ZERO_SHA,
        )
    )


def _ref_event(document: dict[str, Any], verb: str) -> Message:
    event = parse(RefEvent, document, f"Gitea {'create' if verb == 'created' else 'delete'}")
    repo = event.repository
    who = (event.sender or User()).shown
    name = branch_of(event.ref)
    is_tag = event.ref_type == "tag"
    ref = link(name, _ref_url(repo, name, is_tag)) if verb == "created" else f"**{escape(name)}**"
    where = link(repo.full_name, repo.html_url)
    text = f"**{escape(who)}** {verb} {escape(event.ref_type)} {ref} in {where}"
    return markdown(f"[{repo.full_name}] {who} {verb} {event.ref_type} {name}", text)


def create_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, "created")


def delete_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, "deleted")


def _names(users: list[User] | None) -> str:
    return ", ".join(escape(u.shown) for u in users or [])


def _pr_details(pr: PullRequest) -> list[str]:
    details = []
    if pr.head.ref and pr.base.ref:
        details.append(f"**{escape(pr.head.ref)}** → **{escape(pr.base.ref)}**")
    return details


def pull_request(document: dict[str, Any]) -> Message:
    event = parse(PullRequestEvent, document, "Gitea pull_request")
    pr = event.pull_request
    details = _pr_details(pr)
    body: str | None = None
    action = event.action
    actor = event.sender.shown
    if action == "closed":
        merged = bool(pr.merged)
        verb = event_word = "merged" if merged else "closed"
        if merged and pr.merged_by is not None:
            actor = pr.merged_by.shown
    elif action == "review_requested":
        reviewer = event.requested_reviewer.shown if event.requested_reviewer else "someone"
        verb = f"requested a review from **{escape(reviewer)}** on"
        event_word = "review requested"
    else:
        verb = {"opened": "opened draft" if pr.draft else "opened", "reopened": "reopened"}[action]
        event_word = action
        if action == "opened":
            body = pr.body
            if pr.requested_reviewers:
                details.append(f"Reviewers: {_names(pr.requested_reviewers)}")
            if pr.labels:
                details.append("Labels: " + ", ".join(escape(label.name) for label in pr.labels))
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="pull request",
        number=f"#{pr.number}",
        title=pr.title,
        url=pr.html_url,
        actor=actor,
        verb=verb,
        event=event_word,
        details=details,
        body=body,
        button="View pull request",
    ).message()


#: The review events as Gitea names them (``X-Gitea-Event``) → (verb, word in the title).
REVIEWS = {
    "pull_request_approved": ("approved", "approved"),
    "pull_request_rejected": ("requested changes on", "changes requested"),
    "pull_request_comment": ("reviewed", "reviewed"),
}


def _review(document: dict[str, Any], kind: str) -> Message:
    event = parse(PullRequestEvent, document, f"Gitea {kind}")
    verb, word = REVIEWS[kind]
    pr = event.pull_request
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="pull request",
        number=f"#{pr.number}",
        title=pr.title,
        url=pr.html_url,
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
    item = event.issue
    details: list[str] = []
    body = None
    if event.action == "opened":
        body = item.body
        if item.labels:
            details.append("Labels: " + ", ".join(escape(label.name) for label in item.labels))
        if item.assignees:
            details.append(f"Assignees: {_names(item.assignees)}")
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="issue",
        number=f"#{item.number}",
        title=item.title,
        url=item.html_url,
        actor=event.sender.shown,
        verb=event.action,
        event=event.action,
        details=details,
        body=body,
        button="View issue",
    ).message()


def issue_comment(document: dict[str, Any]) -> Message:
    event = parse(IssueCommentEvent, document, "Gitea issue_comment")
    item = event.issue
    author = event.comment.user or event.sender
    on_pull = event.is_pull or item.pull_request is not None
    # The body is markdown: quoted as it is, so fenced code blocks stay code.
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="pull request" if on_pull else "issue",
        number=f"#{item.number}",
        title=item.title,
        url=item.html_url,
        actor=author.shown,
        verb="commented on",
        event="new comment",
        body=event.comment.body,
        button="View comment",
        target=event.comment.html_url or item.html_url,
    ).message()


def release(document: dict[str, Any]) -> Message:
    event = parse(ReleaseEvent, document, "Gitea release")
    rel = event.release
    repo = event.repository
    name = rel.name or rel.tag_name
    kind = "pre-release" if rel.prerelease else "release"
    who = (rel.author or event.sender).shown
    where = link(repo.full_name, repo.html_url)
    text = f"**{escape(who)}** published {kind} {link(name, rel.html_url)} in {where}"
    if name != rel.tag_name:
        text += f"\n\nTag: **{escape(rel.tag_name)}**"
    body = quote(rel.body, limit=600, lines=12)
    if body:
        text += "\n\n" + body
    return action_card(
        f"[{repo.full_name}] {kind.capitalize()} {name} published",
        text,
        "View release",
        rel.html_url,
    )


def _outcome(status: str, conclusion: str | None) -> tuple[str, str]:
    if status != "completed":
        if status in ("queued", "waiting", "blocked", "requested"):
            return "🕓", "is queued"
        return "🔄", "is running"
    return OUTCOMES.get(conclusion or "", ("⚪", f"finished ({conclusion or 'no conclusion'})"))


def _elapsed(start: str | None, end: str | None) -> str:
    began, ended = timestamp(start), timestamp(end)
    if began is None or ended is None or ended < began:
        return ""
    return duration((ended - began).total_seconds())


def _run_facts(
    repo: Repository, branch: str | None, sha: str, event: str, actor: User | None
) -> list[str]:
    facts = [link(repo.full_name, repo.html_url)]
    if branch:
        facts.append(f"branch {link(branch, _ref_url(repo, branch, False))}")
    if sha:
        facts.append(f"commit {link(short_sha(sha), repo.url(f'commit/{sha}'))}")
    if event:
        facts.append(escape(event.replace("_", " ")))
    if actor is not None:
        facts.append(f"by **{escape(actor.shown)}**")
    return facts


def workflow_run(document: dict[str, Any]) -> Message:
    event = parse(WorkflowRunEvent, document, "Gitea workflow_run")
    run = event.workflow_run
    repo = event.repository
    mark, phrase = _outcome(run.status, run.conclusion)
    workflow = event.workflow
    name = (
        (workflow.name if workflow else "")
        or posixpath.basename((workflow.path if workflow else "") or run.path.split("@")[0])
        or "Workflow"
    )
    number = f" #{run.run_number}" if run.run_number is not None else ""
    attempt = f" (attempt {run.run_attempt})" if run.run_attempt and run.run_attempt > 1 else ""
    facts = _run_facts(repo, run.head_branch, run.head_sha, run.event, run.actor or event.sender)
    if run.status == "completed":
        took = _elapsed(run.started_at, run.completed_at)
        if took:
            facts.append(f"took {took}")
    parts = [f"#### {mark} {escape(name)}{number}{attempt} {phrase}", " · ".join(facts)]
    if run.display_title:
        parts.append(f"**{escape(run.display_title)}**")
    on = f" on {run.head_branch}" if run.head_branch else ""
    title = f"[{repo.full_name}] {mark} {name}{number} {phrase}{on}"
    return action_card(title, "\n\n".join(parts), "View run", run.html_url)


def workflow_job(document: dict[str, Any]) -> Message:
    event = parse(WorkflowJobEvent, document, "Gitea workflow_job")
    job = event.workflow_job
    repo = event.repository
    mark, phrase = _outcome(job.status, job.conclusion)
    attempt = f" (attempt {job.run_attempt})" if job.run_attempt and job.run_attempt > 1 else ""
    facts = _run_facts(repo, job.head_branch, job.head_sha, "", event.sender)
    if job.runner_name:
        facts.append(f"runner **{escape(job.runner_name)}**")
    if job.status == "completed":
        took = _elapsed(job.started_at, job.completed_at)
        if took:
            facts.append(f"took {took}")
    parts = [f"#### {mark} Job {escape(job.name)}{attempt} {phrase}", " · ".join(facts)]
    failed = [s for s in job.steps or [] if s.conclusion == "failure"]
    if job.status != "completed" or job.conclusion != "failure":
        failed = []
    if failed:
        lines = [
            f"- {f'{s.number}. ' if s.number is not None else ''}{escape(s.name)}"
            for s in failed[:MAX_STEPS]
        ]
        if len(failed) > MAX_STEPS:
            lines.append(f"- and {plural(len(failed) - MAX_STEPS, 'more step')}")
        parts.append("Failed steps:\n\n" + "\n".join(lines))
    on = f" on {job.head_branch}" if job.head_branch else ""
    title = f"[{repo.full_name}] {mark} Job {job.name} {phrase}{on}"
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
