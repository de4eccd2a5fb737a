"""GitLab webhooks: pushes and tags, merge requests, issues, comments, pipelines, jobs, releases.

The event is named by the payload's ``object_kind`` (``X-Gitlab-Event`` names the same thing
and may be missing behind proxies) plus its action or status: ``merge_request.merge``,
``pipeline.failed``, ``job.success``. With a source secret, ``X-Gitlab-Token`` must equal it
(GitLab sends the token in plain text; it is compared in constant time). The payload models
are in :mod:`gong.integrations.gitlab_models`; ``PushEvent`` and ``User`` are re-exported here for
Codeup, which sends GitLab-shaped pushes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gong.domain.models import RobotKind
from gong.integrations.git import ZERO_SHA, Change, Commit, Push, branch_of, push_message
from gong.integrations.gitlab_models import (
    IssueEvent,
    JobEvent,
    MergeRequestEvent,
    NoteEvent,
    PipelineEvent,
    PushEvent,
    ReleaseEvent,
    ReviewerChange,
    User,
)
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    IntegrationConfig,
    Source,
    bad_signature,
    dispatch,
    invalid,
    parse,
    same,
)
from gong.integrations.text import action_card, duration, escape, link, quote, timestamp
from gong.protocol.messages import Message

__all__ = [
    "GitLab",
    "PushEvent",
    "User",
    "event_name",
    "gitlab_push",
    "site_path",
]


# -- builders ---------------------------------------------------------------------------------

#: A pipeline's or job's status → (mark, phrase).
STATUSES: dict[str, tuple[str, str]] = {
    "success": ("✅", "succeeded"),
    "failed": ("❌", "failed"),
    "canceled": ("⚪", "was canceled"),
    "skipped": ("⚪", "was skipped"),
    "manual": ("⏸️", "waits for a manual action"),
    "running": ("🔄", "is running"),
    "pending": ("🕓", "is pending"),
    "created": ("🕓", "was created"),
    "preparing": ("🕓", "is preparing"),
    "scheduled": ("🕓", "is scheduled"),
    "waiting_for_resource": ("🕓", "waits for a resource"),
}


def _status(status: str) -> tuple[str, str]:
    return STATUSES.get(status, ("⚪", escape(status.replace("_", " "))))


def site_path(url: str | None) -> str:
    """``https://gitlab.com/group/project`` → ``group/project``."""
    return urlsplit(url).path.strip("/") if url else ""


def push(document: dict[str, Any]) -> Message:
    event = parse(PushEvent, document, "GitLab push")
    return push_message(gitlab_push(event))


def gitlab_push(event: PushEvent, *, links: bool = True) -> Push:
    """A GitLab-shaped push (GitLab, Codeup) as the shared push record.

    ``links=False`` leaves out compare and branch links, whose paths only GitLab is known to use.
    """
    if event.project is not None:
        repo, base = event.project.path_with_namespace, event.project.web_url
    elif event.repository is not None:
        base = event.repository.homepage
        repo = site_path(base) or event.repository.name
    else:
        raise invalid("GitLab push: field project is missing")
    name = branch_of(event.ref)
    created = event.before == ZERO_SHA
    deleted = event.after == ZERO_SHA
    compare = None
    if links and base and not created and not deleted and event.before:
        compare = f"{base}/-/compare/{event.before[:12]}...{event.after[:12]}"
    tree = "tags" if event.ref.startswith("refs/tags/") else "tree"
    return Push(
        repo=repo,
        repo_url=base,
        pusher=event.user_name or event.user_username or "someone",
        ref=event.ref,
        commits=[Commit(c.id, c.message, c.url, c.author.name) for c in event.commits],
        total=event.total_commits_count
        if event.total_commits_count is not None
        else len(event.commits),
        compare_url=compare,
        ref_url=f"{base}/-/{tree}/{name}" if base and links else None,
        created=created,
        deleted=deleted,
    )


_MR_VERBS = {
    "open": ("opened", "opened"),
    "reopen": ("reopened", "reopened"),
    "close": ("closed", "closed"),
    "merge": ("merged", "merged"),
    "approved": ("approved", "approved"),
}


def merge_request(document: dict[str, Any]) -> Message:
    event = parse(MergeRequestEvent, document, "GitLab merge_request")
    mr = event.object_attributes
    action = mr.action or ""
    details = [f"**{escape(mr.source_branch)}** → **{escape(mr.target_branch)}**"]
    body = None
    if action == "update":  # named review_requested: the reviewers changed
        added = _added_reviewers(event.changes.reviewers)
        verb = f"requested a review from **{', '.join(escape(u.shown) for u in added)}** on"
        word = "review requested"
    else:
        verb, word = _MR_VERBS[action]
        if action == "open":
            body = mr.description
            if mr.draft or mr.work_in_progress:
                verb = "opened draft"
            if event.reviewers:
                details.append("Reviewers: " + ", ".join(escape(u.shown) for u in event.reviewers))
            if event.labels:
                details.append(
                    "Labels: " + ", ".join(escape(label.title) for label in event.labels)
                )
    return Change(
        repo=event.project.path_with_namespace,
        repo_url=event.project.web_url,
        noun="merge request",
        number=f"!{mr.iid}",
        title=mr.title,
        url=mr.url,
        actor=event.user.shown,
        verb=verb,
        event=word,
        details=details,
        body=body,
        button="View merge request",
    ).message()


def _added_reviewers(change: ReviewerChange | None) -> list[User]:
    if change is None:
        return []
    before = {(u.username or u.name) for u in change.previous or []}
    return [u for u in change.current or [] if (u.username or u.name) not in before]


def issue(document: dict[str, Any]) -> Message:
    event = parse(IssueEvent, document, "GitLab issue")
    item = event.object_attributes
    action = item.action or ""
    verb = {"open": "opened", "close": "closed", "reopen": "reopened"}[action]
    details: list[str] = []
    if action == "open":
        if event.labels:
            details.append("Labels: " + ", ".join(escape(label.title) for label in event.labels))
        if event.assignees:
            details.append("Assignees: " + ", ".join(escape(u.shown) for u in event.assignees))
    return Change(
        repo=event.project.path_with_namespace,
        repo_url=event.project.web_url,
        noun="issue",
        number=f"#{item.iid}",
        title=item.title,
        url=item.url,
        actor=event.user.shown,
        verb=verb,
        event=verb,
        details=details,
        body=item.description if action == "open" else None,
        button="View issue",
    ).message()


def note(document: dict[str, Any]) -> Message:
    event = parse(NoteEvent, document, "GitLab note")
    attrs = event.object_attributes
    kind = attrs.noteable_type
    if kind == "MergeRequest" and event.merge_request is not None:
        noun, number, title = (
            "merge request",
            f"!{event.merge_request.iid}",
            event.merge_request.title,
        )
    elif kind == "Issue" and event.issue is not None:
        noun, number, title = "issue", f"#{event.issue.iid}", event.issue.title
    elif kind == "Commit" and event.commit is not None:
        noun, number, title = "commit", event.commit.id[:7], event.commit.message.split("\n")[0]
    elif kind == "Snippet" and event.snippet is not None:
        noun, number, title = "snippet", f"${event.snippet.id}", event.snippet.title
    else:
        raise invalid(f"GitLab note: the {kind} it comments on is missing")
    item_url = attrs.url.split("#")[0] if attrs.url else None
    return Change(
        repo=event.project.path_with_namespace,
        repo_url=event.project.web_url,
        noun=noun,
        number=number,
        title=title,
        url=item_url,
        actor=event.user.shown,
        verb="commented on",
        event="new comment",
        body=attrs.note,
        button="View comment",
        target=attrs.url,
    ).message()


def _took(seconds: float | None, start: str | None, end: str | None) -> str:
    if seconds is not None:
        return duration(seconds)
    began, ended = timestamp(start), timestamp(end)
    if began is None or ended is None:
        return ""
    return duration((ended - began).total_seconds())


def pipeline(document: dict[str, Any]) -> Message:
    event = parse(PipelineEvent, document, "GitLab pipeline")
    attrs = event.object_attributes
    project = event.project
    mark, phrase = _status(attrs.status)
    what = "tag" if attrs.tag else "branch"
    facts = [
        link(project.path_with_namespace, project.web_url),
        f"{what} {link(attrs.ref, project.url(('tags/' if attrs.tag else 'tree/') + attrs.ref))}",
    ]
    if attrs.source:
        facts.append(escape(attrs.source.replace("_", " ")))
    if event.user is not None:
        facts.append(f"by **{escape(event.user.shown)}**")
    if attrs.status in ("success", "failed", "canceled"):
        took = _took(attrs.duration, attrs.created_at, attrs.finished_at)
        if took:
            facts.append(f"took {took}")
    parts = [f"#### {mark} Pipeline #{attrs.id} {phrase}", " · ".join(facts)]
    if event.merge_request is not None:
        mr = event.merge_request
        parts.append(f"Merge request {link(f'!{mr.iid} {mr.title}', mr.url)}")
    if event.commit is not None:
        c = event.commit
        parts.append(Commit(c.id, c.message, c.url, c.author.name).line())
    failed = [b for b in event.builds if b.status == "failed"]
    if failed:
        jobs = []
        for build in failed[:10]:
            shown = link(build.name, project.url(f"jobs/{build.id}"))
            notes = [escape(build.stage)] if build.stage else []
            if build.allow_failure:
                notes.append("allowed to fail")
            jobs.append(f"- {shown}" + (f" ({', '.join(notes)})" if notes else ""))
        if len(failed) > 10:
            jobs.append(f"- and {len(failed) - 10} more")
        parts.append("Failed jobs:\n\n" + "\n".join(jobs))
    title = f"[{project.path_with_namespace}] {mark} Pipeline #{attrs.id} {phrase} on {attrs.ref}"
    return action_card(
        title, "\n\n".join(parts), "View pipeline", project.url(f"pipelines/{attrs.id}")
    )


def job(document: dict[str, Any]) -> Message:
    event = parse(JobEvent, document, "GitLab job")
    base = event.repository.homepage if event.repository else None
    repo = site_path(base) or event.project_name
    mark, phrase = _status(event.build_status)
    what = "tag" if event.tag else "branch"
    facts = [link(repo, base), f"{what} **{escape(event.ref)}**"]
    if event.build_stage:
        facts.append(f"stage {escape(event.build_stage)}")
    if event.build_status == "failed":
        if event.build_failure_reason:
            facts.append(escape(event.build_failure_reason.replace("_", " ")))
        if event.build_allow_failure:
            facts.append("allowed to fail")
    if event.build_status in ("success", "failed", "canceled"):
        took = _took(event.build_duration, None, None)
        if took:
            facts.append(f"took {took}")
    parts = [f"#### {mark} Job {escape(event.build_name)} {phrase}", " · ".join(facts)]
    if event.environment is not None:
        env = f"Environment **{escape(event.environment.name)}**"
        if event.environment.action:
            env += f" ({escape(event.environment.action)})"
        parts.append(env)
    if event.commit is not None:
        c = event.commit
        url = f"{base}/-/commit/{c.sha}" if base else None
        parts.append(Commit(c.sha, c.message, url, c.author_name).line())
    title = f"[{repo}] {mark} Job {event.build_name} {phrase} on {event.ref}"
    url = f"{base}/-/jobs/{event.build_id}" if base else None
    return action_card(title, "\n\n".join(parts), "View job", url)


def release(document: dict[str, Any]) -> Message:
    event = parse(ReleaseEvent, document, "GitLab release")
    project = event.project
    name = event.name or event.tag
    where = link(project.path_with_namespace, project.web_url)
    text = f"Release {link(name, event.url)} published in {where}"
    if name != event.tag:
        text += f"\n\nTag: **{escape(event.tag)}**"
    body = quote(event.description, limit=600, lines=12)
    if body:
        text += "\n\n" + body
    title = f"[{project.path_with_namespace}] Release {name} published"
    return action_card(title, text, "View release", event.url)


_PIPELINE_SHOWN = ("success", "failed", "canceled")
_PIPELINE_QUIET = (
    "running",
    "pending",
    "created",
    "preparing",
    "scheduled",
    "waiting_for_resource",
    "skipped",
    "manual",
)

BUILDERS: dict[str, Builder] = {
    "push": push,
    "tag_push": push,
    "merge_request.open": merge_request,
    "merge_request.reopen": merge_request,
    "merge_request.close": merge_request,
    "merge_request.merge": merge_request,
    "merge_request.approved": merge_request,
    "merge_request.review_requested": merge_request,
    "issue.open": issue,
    "issue.close": issue,
    "issue.reopen": issue,
    "note.merge_request": note,
    "note.issue": note,
    "note.commit": note,
    "note.snippet": note,
    "release.create": release,
    **{f"pipeline.{s}": pipeline for s in (*_PIPELINE_SHOWN, *_PIPELINE_QUIET)},
    **{f"job.{s}": job for s in (*_PIPELINE_SHOWN, *_PIPELINE_QUIET)},
}
QUIET = frozenset(
    {f"pipeline.{s}" for s in _PIPELINE_QUIET} | {f"job.{s}" for s in _PIPELINE_QUIET}
)

_SNAKE = {
    "MergeRequest": "merge_request",
    "Issue": "issue",
    "Commit": "commit",
    "Snippet": "snippet",
}


def event_name(document: dict[str, Any], label: str) -> str:
    """``push``, ``merge_request.merge``, ``pipeline.failed``, ``job.success``, ``note.issue``, …"""
    kind = document.get("object_kind")
    if not isinstance(kind, str) or not kind:
        raise invalid(f"no object_kind in the body: this is not a {label} webhook payload")
    attrs = document.get("object_attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    if kind in ("build", "job"):
        return f"job.{_word(document, 'build_status', label)}"
    if kind == "pipeline":
        return f"pipeline.{_word(attrs, 'status', f'{label} pipeline: object_attributes')}"
    if kind == "note":
        noteable = _word(attrs, "noteable_type", f"{label} note: object_attributes")
        return f"note.{_SNAKE.get(noteable, noteable.lower())}"
    action = attrs.get("action") if attrs else document.get("action")
    if kind == "merge_request" and action == "update":
        changes = document.get("changes")
        if isinstance(changes, dict) and "reviewers" in changes:
            return "merge_request.review_requested"
    return f"{kind}.{action}" if isinstance(action, str) and action else kind


def _word(document: dict[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise invalid(f"{where}: field {key} is missing or not a string")
    return value


class GitLab(Source):
    kind = RobotKind.GITLAB
    label = "GitLab"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        token = delivery.header("X-Gitlab-Token")
        if token is None:
            raise bad_signature(
                "X-Gitlab-Token is missing: set the secret token in GitLab's webhook settings"
            )
        if not same(token, secret):
            raise bad_signature("X-Gitlab-Token does not match the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        return dispatch(event_name(document, self.label), document, BUILDERS, QUIET)
