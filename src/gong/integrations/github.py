"""GitHub webhooks: pushes, branches and tags, pull requests, issues, comments, releases, CI.

The event is named by the ``X-GitHub-Event`` header and the payload's ``action``
(``pull_request.opened``). With a source secret, ``X-Hub-Signature-256`` must be
``sha256=`` + hex HMAC-SHA256 of the raw body. Form-encoded deliveries (``payload=…``) are read
by the web handler, which hands over the JSON document. The payload models are in
:mod:`gong.integrations.github_models`.
"""

from __future__ import annotations

from typing import Any

from gong.domain.models import RobotKind
from gong.integrations.git import Change, Commit, Push, branch_of, push_message
from gong.integrations.github_models import (
    CheckRunEvent,
    IssueCommentEvent,
    IssuesEvent,
    PingEvent,
    PullRequest,
    PullRequestEvent,
    PushEvent,
    RefEvent,
    ReleaseEvent,
    ReviewEvent,
    User,
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
from gong.integrations.text import (
    action_card,
    duration,
    escape,
    link,
    markdown,
    plural,
    quote,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = ["GitHub"]


# -- builders ---------------------------------------------------------------------------------

#: Conclusion of a run or check → (mark, phrase).
OUTCOMES: dict[str, tuple[str, str]] = {
    "success": ("✅", "succeeded"),
    "failure": ("❌", "failed"),
    "timed_out": ("❌", "timed out"),
    "startup_failure": ("❌", "failed to start"),
    "cancelled": ("⚪", "was cancelled"),
    "skipped": ("⚪", "was skipped"),
    "neutral": ("⚪", "finished"),
    "stale": ("⚪", "is stale"),
    "action_required": ("⚠️", "needs action"),
}
_RUNNING = ("🔄", "is running")


def _outcome(status: str, conclusion: str | None) -> tuple[str, str]:
    if status != "completed":
        return ("🕓", "is queued") if status in ("queued", "requested", "waiting") else _RUNNING
    return OUTCOMES.get(conclusion or "", ("⚪", f"finished ({conclusion or 'no conclusion'})"))


def ping(document: dict[str, Any]) -> Message:
    event = parse(PingEvent, document, "GitHub ping")
    where = event.repository.full_name if event.repository else None
    url = event.repository.html_url if event.repository else None
    if where is None and event.organization is not None:
        where, url = event.organization.login, event.organization.html_url
    events = event.hook.events
    sends = "all events" if events == ["*"] else (", ".join(events) or "no events")
    target = link(where, url) if where else "GitHub"
    text = f"✅ GitHub webhook connected: {target} sends {escape(sends)} to this robot."
    if event.zen:
        text += "\n\n" + quote(event.zen, literal=True)
    return markdown(f"GitHub webhook connected{f': {where}' if where else ''}", text)


def push(document: dict[str, Any]) -> Message:
    event = parse(PushEvent, document, "GitHub push")
    repo = event.repository
    name = branch_of(event.ref)
    pusher = (
        event.pusher.name if event.pusher else (event.sender.login if event.sender else "someone")
    )
    return push_message(
        Push(
            repo=repo.full_name,
            repo_url=repo.html_url,
            pusher=pusher,
            ref=event.ref,
            commits=[
                Commit(c.id, c.message, c.url, c.author.name or c.author.username or "")
                for c in event.commits
            ],
            total=len(event.commits),
            compare_url=event.compare,
            ref_url=repo.url(f"tree/{name}"),
            created=event.created,
            deleted=event.deleted,
            forced=event.forced,
        )
    )


def _ref_event(document: dict[str, Any], verb: str) -> Message:
    event = parse(RefEvent, document, f"GitHub {'create' if verb == 'created' else 'delete'}")
    repo = event.repository
    who = event.sender.login if event.sender else "someone"
    ref = (
        link(event.ref, repo.url(f"tree/{event.ref}"))
        if verb == "created"
        else f"**{escape(event.ref)}**"
    )
    where = link(repo.full_name, repo.html_url)
    text = f"**{escape(who)}** {verb} {escape(event.ref_type)} {ref} in {where}"
    return markdown(f"[{repo.full_name}] {who} {verb} {event.ref_type} {event.ref}", text)


def create_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, "created")


def delete_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, "deleted")


def _pr_details(pr: PullRequest) -> list[str]:
    counts = [f"**{escape(pr.head.ref)}** → **{escape(pr.base.ref)}**"]
    if pr.commits is not None:
        counts.append(plural(pr.commits, "commit"))
    if pr.additions is not None and pr.deletions is not None:
        counts.append(f"+{pr.additions} −{pr.deletions}")
    if pr.changed_files is not None:
        counts.append(plural(pr.changed_files, "file"))
    return [" · ".join(counts)]


def _names(users: list[User]) -> str:
    return ", ".join(escape(u.login) for u in users)


def pull_request(document: dict[str, Any]) -> Message:
    event = parse(PullRequestEvent, document, "GitHub pull_request")
    pr = event.pull_request
    details = _pr_details(pr)
    body: str | None = None
    action = event.action
    if action == "closed":
        merged = bool(pr.merged)
        verb = event_word = "merged" if merged else "closed"
        actor = (pr.merged_by or event.sender).login if merged else event.sender.login
    elif action == "review_requested":
        reviewer = (
            event.requested_reviewer.login
            if event.requested_reviewer
            else (f"team {event.requested_team.name}" if event.requested_team else "someone")
        )
        actor = event.sender.login
        verb = f"requested a review from **{escape(reviewer)}** on"
        event_word = "review requested"
    else:
        actor = event.sender.login
        verb = {
            "opened": "opened draft" if pr.draft else "opened",
            "reopened": "reopened",
            "ready_for_review": "marked",
        }[action]
        event_word = {"opened": "opened", "reopened": "reopened"}.get(action, "ready for review")
        body = pr.body if action != "reopened" else None
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
        suffix=" as ready for review" if action == "ready_for_review" else "",
    ).message()


_REVIEW_VERBS = {
    "approved": ("approved", "approved"),
    "changes_requested": ("requested changes on", "changes requested"),
    "commented": ("reviewed", "reviewed"),
}


def review(document: dict[str, Any]) -> Message:
    event = parse(ReviewEvent, document, "GitHub pull_request_review")
    verb, word = _REVIEW_VERBS.get(event.review.state.lower(), ("reviewed", "reviewed"))
    pr = event.pull_request
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="pull request",
        number=f"#{pr.number}",
        title=pr.title,
        url=pr.html_url,
        actor=event.review.user.login,
        verb=verb,
        event=word,
        body=event.review.body,
        button="View review",
        target=event.review.html_url,
    ).message()


def issue(document: dict[str, Any]) -> Message:
    event = parse(IssuesEvent, document, "GitHub issues")
    item = event.issue
    details: list[str] = []
    body = None
    verb = event.action
    if event.action == "opened":
        body = item.body
        if item.labels:
            details.append("Labels: " + ", ".join(escape(label.name) for label in item.labels))
        if item.assignees:
            details.append(f"Assignees: {_names(item.assignees)}")
    elif event.action == "closed" and item.state_reason:
        details.append(f"Reason: {escape(item.state_reason.replace('_', ' '))}")
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="issue",
        number=f"#{item.number}",
        title=item.title,
        url=item.html_url,
        actor=event.sender.login,
        verb=verb,
        event=verb,
        details=details,
        body=body,
        button="View issue",
    ).message()


def issue_comment(document: dict[str, Any]) -> Message:
    event = parse(IssueCommentEvent, document, "GitHub issue_comment")
    item = event.issue
    return Change(
        repo=event.repository.full_name,
        repo_url=event.repository.html_url,
        noun="pull request" if item.pull_request is not None else "issue",
        number=f"#{item.number}",
        title=item.title,
        url=item.html_url,
        actor=event.comment.user.login,
        verb="commented on",
        event="new comment",
        body=event.comment.body,
        button="View comment",
        target=event.comment.html_url,
    ).message()


def release(document: dict[str, Any]) -> Message:
    event = parse(ReleaseEvent, document, "GitHub release")
    rel = event.release
    repo = event.repository
    name = rel.name or rel.tag_name
    kind = "pre-release" if rel.prerelease else "release"
    who = (rel.author or event.sender).login
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


def _elapsed(start: str | None, end: str | None) -> str:
    began, ended = timestamp(start), timestamp(end)
    if began is None or ended is None:
        return ""
    return duration((ended - began).total_seconds())


def workflow_run(document: dict[str, Any]) -> Message:
    event = parse(WorkflowRunEvent, document, "GitHub workflow_run")
    run = event.workflow_run
    repo = event.repository
    mark, phrase = _outcome(run.status, run.conclusion)
    name = run.name or "Workflow"
    attempt = f" (attempt {run.run_attempt})" if run.run_attempt and run.run_attempt > 1 else ""
    heading = f"#### {mark} {escape(name)} #{run.run_number}{attempt} {phrase}"
    facts = [link(repo.full_name, repo.html_url)]
    if run.head_branch:
        facts.append(f"branch {link(run.head_branch, repo.url(f'tree/{run.head_branch}'))}")
    if run.event:
        facts.append(escape(run.event.replace("_", " ")))
    if run.actor is not None:
        facts.append(f"by **{escape(run.actor.login)}**")
    if run.status == "completed":
        took = _elapsed(run.run_started_at or run.created_at, run.updated_at)
        if took:
            facts.append(f"took {took}")
    parts = [heading, " · ".join(facts)]
    if run.display_title and run.display_title != (
        run.head_commit.message if run.head_commit else None
    ):
        parts.append(f"**{escape(run.display_title)}**")
    if run.head_commit is not None:
        author = run.head_commit.author.name if run.head_commit.author else ""
        commit = Commit(
            run.head_commit.id,
            run.head_commit.message,
            repo.url(f"commit/{run.head_commit.id}"),
            author,
        )
        parts.append(commit.line())
    branch = f" on {run.head_branch}" if run.head_branch else ""
    title = f"[{repo.full_name}] {mark} {name} #{run.run_number} {phrase}{branch}"
    return action_card(title, "\n\n".join(parts), "View run", run.html_url)


def check_run(document: dict[str, Any]) -> Message:
    event = parse(CheckRunEvent, document, "GitHub check_run")
    check = event.check_run
    repo = event.repository
    mark, phrase = _outcome(check.status, check.conclusion)
    branch = check.check_suite.head_branch if check.check_suite else None
    facts = [link(repo.full_name, repo.html_url)]
    if branch:
        facts.append(f"branch {link(branch, repo.url(f'tree/{branch}'))}")
    facts.append(f"commit {link(check.head_sha[:7], repo.url(f'commit/{check.head_sha}'))}")
    took = _elapsed(check.started_at, check.completed_at) if check.status == "completed" else ""
    if took:
        facts.append(f"took {took}")
    parts = [f"#### {mark} Check {escape(check.name)} {phrase}", " · ".join(facts)]
    if check.output.title:
        parts.append(f"**{escape(check.output.title)}**")
    summary = quote(check.output.summary)
    if summary:
        parts.append(summary)
    on = f" on {branch}" if branch else ""
    title = f"[{repo.full_name}] {mark} Check {check.name} {phrase}{on}"
    return action_card(title, "\n\n".join(parts), "View check", check.html_url or check.details_url)


BUILDERS: dict[str, Builder] = {
    "ping": ping,
    "push": push,
    "create": create_ref,
    "delete": delete_ref,
    "pull_request.opened": pull_request,
    "pull_request.reopened": pull_request,
    "pull_request.closed": pull_request,
    "pull_request.ready_for_review": pull_request,
    "pull_request.review_requested": pull_request,
    "pull_request_review.submitted": review,
    "issues.opened": issue,
    "issues.closed": issue,
    "issues.reopened": issue,
    "issue_comment.created": issue_comment,
    "release.published": release,
    "workflow_run.completed": workflow_run,
    "workflow_run.requested": workflow_run,
    "workflow_run.in_progress": workflow_run,
    "check_run.completed": check_run,
}
#: Shown only when a robot's only_events names them: in-progress CI is noise for most groups.
QUIET = frozenset({"workflow_run.requested", "workflow_run.in_progress"})


class GitHub(Source):
    kind = RobotKind.GITHUB
    label = "GitHub"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        given = delivery.header("X-Hub-Signature-256")
        if not given:
            raise bad_signature(
                "X-Hub-Signature-256 is missing: set the same secret in GitHub's webhook settings"
            )
        if not same(given, "sha256=" + hmac_hex(secret, delivery.body)):
            raise bad_signature("X-Hub-Signature-256 does not match the body and the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        name = delivery.header("X-GitHub-Event")
        if not name:
            raise invalid("no X-GitHub-Event header: this is not a GitHub webhook delivery")
        action = document.get("action")
        if isinstance(action, str) and action:
            name = f"{name}.{action}"
        return dispatch(name, document, BUILDERS, QUIET)
