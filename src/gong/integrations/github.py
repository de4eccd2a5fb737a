"""GitHub webhooks: code, reviews, issues, discussions, releases, CI, deployments, security alerts.

The event is named by the ``X-GitHub-Event`` header and the payload's ``action``
(``pull_request.opened``). Finished CI runs, jobs, check suites and check runs add their
conclusion (``workflow_run.completed.failure``), and deployment statuses are named by their state
(``deployment_status.failure``): successes, runs in progress, stars and forks are opt-in
(:data:`QUIET`). With a source secret, ``X-Hub-Signature-256`` must be
``sha256=`` + hex HMAC-SHA256 of the raw body. Form-encoded deliveries (``payload=…``) are read
by the web handler, which hands over the JSON document. The payload models are in
:mod:`gong.integrations.github_models`.
"""

from __future__ import annotations

import re
from typing import Any

from gong.domain.models import RobotKind
from gong.integrations import forge
from gong.integrations.git import (
    Change,
    Commit,
    Item,
    Push,
    Ref,
    branch_of,
    listed,
    push_message,
)
from gong.integrations.github_models import (
    CheckRunEvent,
    CheckSuiteEvent,
    CodeScanningAlertEvent,
    CodeScanningInstance,
    Comment,
    DependabotAlertEvent,
    Deployment,
    DeploymentEvent,
    DeploymentStatusEvent,
    DiscussionCommentEvent,
    DiscussionEvent,
    ForkEvent,
    HeadCommit,
    IssueCommentEvent,
    IssuesEvent,
    PingEvent,
    PullRequest,
    PullRequestEvent,
    PushEvent,
    RefEvent,
    ReleaseEvent,
    Repository,
    ReviewCommentEvent,
    ReviewEvent,
    RunLink,
    SecretScanningAlertEvent,
    StarEvent,
    User,
    WorkflowJobEvent,
    WorkflowRunEvent,
)
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    Ignored,
    IgnoreReason,
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
    capped,
    cut,
    escape,
    facts,
    fenced,
    link,
    markdown,
    plural,
    quote,
)
from gong.protocol.messages import Message

__all__ = ["GitHub"]


# -- builders ---------------------------------------------------------------------------------

#: Statuses of a run, job or check not started yet.
WAITING = {
    "queued": "is queued",
    "requested": "is queued",
    "waiting": "is waiting",
    "pending": "is pending",
}


def _outcome(status: str, conclusion: str | None) -> tuple[str, str]:
    return forge.outcome(status, conclusion, WAITING)


def _branch(repo: Repository, branch: str | None) -> str | None:
    return f"branch {link(branch, repo.url(f'tree/{branch}'))}" if branch else None


def _by(user: User | None) -> str | None:
    return f"by **{escape(user.login)}**" if user is not None else None


def _nothing(name: str, why: str) -> Ignored:
    """The payload says there is nothing to show (no generic message either)."""
    ignored = Ignored(name, why, IgnoreReason.NOT_HANDLED)
    ignored.generic = False
    return ignored


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
            commits=forge.commits(event.commits),
            total=len(event.commits),
            compare_url=event.compare,
            ref_url=repo.url(f"tree/{name}"),
            created=event.created,
            deleted=event.deleted,
            forced=event.forced,
        )
    )


def _ref_event(document: dict[str, Any], deleted: bool) -> Message:
    event = parse(RefEvent, document, f"GitHub {'delete' if deleted else 'create'}")
    repo = event.repository
    return Ref(
        repo=repo.full_name,
        repo_url=repo.html_url,
        actor=event.sender.login if event.sender else "someone",
        ref_type=event.ref_type,
        name=event.ref,
        url=repo.url(f"tree/{event.ref}"),
        deleted=deleted,
    ).message()


def create_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, deleted=False)


def delete_ref(document: dict[str, Any]) -> Message:
    return _ref_event(document, deleted=True)


def _pr_details(pr: PullRequest) -> list[str]:
    counts = [f"**{escape(pr.head.ref)}** → **{escape(pr.base.ref)}**"]
    if pr.commits is not None:
        counts.append(plural(pr.commits, "commit"))
    if pr.additions is not None and pr.deletions is not None:
        counts.append(f"+{pr.additions} −{pr.deletions}")
    if pr.changed_files is not None:
        counts.append(plural(pr.changed_files, "file"))
    return [" · ".join(counts)]


def _reason(why: str) -> str:
    return f"Reason: {escape(why.replace('_', ' '))}"


def _names(users: list[User]) -> list[str]:
    return [u.login for u in users]


def pull_request(document: dict[str, Any]) -> Message:
    event = parse(PullRequestEvent, document, "GitHub pull_request")
    pr = event.pull_request
    action = event.action
    merged = action == "closed" and bool(pr.merged)
    reviewer = (
        event.requested_reviewer.login
        if event.requested_reviewer
        else (f"team {event.requested_team.name}" if event.requested_team else "someone")
    )
    verb, word = forge.pull_request_words(action, merged, bool(pr.draft), reviewer)
    details = _pr_details(pr)
    if action in ("opened", "reopened", "ready_for_review"):
        details.append(listed("Reviewers", _names(pr.requested_reviewers)))
        details.append(listed("Labels", [label.name for label in pr.labels]))
    return Change(
        forge.item(event.repository, "pull request", pr),
        actor=((pr.merged_by or event.sender) if merged else event.sender).login,
        verb=verb,
        event=word,
        details=details,
        body=pr.body if action in ("opened", "ready_for_review") else None,
        button="View pull request",
        suffix=" as ready for review" if action == "ready_for_review" else "",
    ).message()


def review(document: dict[str, Any]) -> Message:
    event = parse(ReviewEvent, document, "GitHub pull_request_review")
    pr = event.pull_request
    state = event.review.state.lower()
    if event.action == "dismissed":
        actor = event.sender.login
        verb, word = (
            f"dismissed **{escape(event.review.user.login)}**'s review on",
            "review dismissed",
        )
    else:
        if state == "commented" and not (event.review.body or "").strip():
            # GitHub sends one for every line comment too; the comments are shown on their own.
            raise _nothing(
                f"pull_request_review.{event.action}",
                "is a review without a summary (its line comments are shown as "
                "pull_request_review_comment.created)",
            )
        actor = event.review.user.login
        verb, word = forge.REVIEWS.get(state, forge.REVIEWS["commented"])
    return Change(
        forge.item(event.repository, "pull request", pr),
        actor=actor,
        verb=verb,
        event=word,
        details=[quote(event.review.body)],
        button="View review",
        target=event.review.html_url,
    ).message()


#: Lines of the diff shown above a review comment (the commented line is the hunk's last).
DIFF_LINES = 6


def _diff_excerpt(hunk: str | None) -> str:
    rows = [row for row in (hunk or "").replace("\r\n", "\n").split("\n") if row.strip()]
    if not rows:
        return ""
    shown = [cut(row, 160) for row in rows[-DIFF_LINES:]]
    return fenced("\n".join(shown), "diff")


def review_comment(document: dict[str, Any]) -> Message:
    event = parse(ReviewCommentEvent, document, "GitHub pull_request_review_comment")
    comment = event.comment
    pr = event.pull_request
    line = comment.line or comment.original_line
    first = comment.start_line or comment.original_start_line
    if comment.subject_type == "file" or line is None:
        where = f"On **{escape(comment.path)}**"
    elif first and first != line:
        where = f"On **{escape(comment.path)}**, lines {first}–{line}"
    else:
        where = f"On **{escape(comment.path)}**, line {line}"
    return Change(
        forge.item(event.repository, "pull request", pr),
        actor=comment.user.login,
        verb="commented on",
        event="new review comment",
        details=[where, _diff_excerpt(comment.diff_hunk), quote(comment.body, 600, 12)],
        button="View comment",
        target=comment.html_url,
    ).message()


def issue(document: dict[str, Any]) -> Message:
    event = parse(IssuesEvent, document, "GitHub issues")
    opened = event.issue
    details: list[str] = []
    body = None
    verb = event.action
    if event.action == "opened":
        body = opened.body
        details.append(listed("Labels", [label.name for label in opened.labels]))
        details.append(listed("Assignees", _names(opened.assignees)))
    elif event.action == "closed" and opened.state_reason:
        details.append(_reason(opened.state_reason))
    details.append(quote(body))
    return Change(
        forge.item(event.repository, "issue", opened),
        actor=event.sender.login,
        verb=verb,
        event=verb,
        details=details,
        button="View issue",
    ).message()


def _commented(item: Item, comment: Comment) -> Message:
    return Change(
        item,
        actor=comment.user.login,
        verb="commented on",
        event="new comment",
        details=[quote(comment.body)],
        button="View comment",
        target=comment.html_url,
    ).message()


def issue_comment(document: dict[str, Any]) -> Message:
    event = parse(IssueCommentEvent, document, "GitHub issue_comment")
    issue = event.issue
    noun = "pull request" if issue.pull_request is not None else "issue"
    return _commented(forge.item(event.repository, noun, issue), event.comment)


def release(document: dict[str, Any]) -> Message:
    event = parse(ReleaseEvent, document, "GitHub release")
    author = (event.release.author or event.sender).login
    return forge.release(event.repository, event.release, author)


def _head_commit(repo: Repository, head: HeadCommit | None) -> str:
    """The commit a run or suite checked, as a line of a push."""
    if head is None:
        return ""
    author = head.author.name if head.author else ""
    return Commit(head.id, head.message, repo.url(f"commit/{head.id}"), author).line()


def workflow_run(document: dict[str, Any]) -> Message:
    event = parse(WorkflowRunEvent, document, "GitHub workflow_run")
    run = event.workflow_run
    repo = event.repository
    mark, phrase = _outcome(run.status, run.conclusion)
    name = run.name or "Workflow"
    head = run.head_commit
    parts = [
        f"#### {mark} {escape(name)} #{run.run_number}{forge.attempt(run.run_attempt)} {phrase}",
        facts(
            link(repo.full_name, repo.html_url),
            _branch(repo, run.head_branch),
            escape(run.event.replace("_", " ")) if run.event else None,
            _by(run.actor),
            forge.took(run.status, run.run_started_at or run.created_at, run.updated_at),
        ),
    ]
    if run.display_title and run.display_title != (head.message if head else None):
        parts.append(f"**{escape(run.display_title)}**")
    parts.append(_head_commit(repo, head))
    title = (
        f"[{repo.full_name}] {mark} {name} #{run.run_number} {phrase}{forge.on(run.head_branch)}"
    )
    return action_card(title, "\n\n".join(p for p in parts if p), "View run", run.html_url)


def check_run(document: dict[str, Any]) -> Message:
    event = parse(CheckRunEvent, document, "GitHub check_run")
    check = event.check_run
    repo = event.repository
    mark, phrase = _outcome(check.status, check.conclusion)
    branch = check.check_suite.head_branch if check.check_suite else None
    parts = [
        f"#### {mark} Check {escape(check.name)} {phrase}",
        facts(
            link(repo.full_name, repo.html_url),
            _branch(repo, branch),
            forge.commit_fact(repo, check.head_sha),
            forge.took(check.status, check.started_at, check.completed_at),
        ),
    ]
    if check.output.title:
        parts.append(f"**{escape(check.output.title)}**")
    parts.append(quote(check.output.summary))
    title = f"[{repo.full_name}] {mark} Check {check.name} {phrase}{forge.on(branch)}"
    url = check.html_url or check.details_url
    return action_card(title, "\n\n".join(p for p in parts if p), "View check", url)


def workflow_job(document: dict[str, Any]) -> Message:
    event = parse(WorkflowJobEvent, document, "GitHub workflow_job")
    job = event.workflow_job
    repo = event.repository
    mark, phrase = _outcome(job.status, job.conclusion)
    workflow = job.workflow_name or "Workflow"
    runner = None
    if job.runner_name:
        labels = f" ({escape(', '.join(job.labels))})" if job.labels else ""
        runner = f"runner **{escape(job.runner_name)}**{labels}"
    parts = [
        f"#### {mark} Job {escape(job.name)} {phrase}",
        facts(
            link(repo.full_name, repo.html_url),
            f"workflow **{escape(workflow)}**",
            _branch(repo, job.head_branch),
            forge.commit_fact(repo, job.head_sha),
            runner,
            f"attempt {job.run_attempt}" if job.run_attempt else None,
            forge.took(job.status, job.started_at, job.completed_at),
        ),
    ]
    failed = [
        f"- {escape(cut(step.name, 120))}" for step in job.steps if step.conclusion == "failure"
    ]
    if failed:
        rows = capped(failed, forge.MAX_STEPS, "step")
        parts.append(f"Failed {'step' if len(failed) == 1 else 'steps'}:\n" + "\n".join(rows))
    title = f"[{repo.full_name}] {mark} {workflow} / {job.name} {phrase}{forge.on(job.head_branch)}"
    return action_card(title, "\n\n".join(parts), "View job", job.html_url)


def check_suite(document: dict[str, Any]) -> Message:
    event = parse(CheckSuiteEvent, document, "GitHub check_suite")
    suite = event.check_suite
    repo = event.repository
    mark, phrase = _outcome(suite.status or "completed", suite.conclusion)
    app = (suite.app.name if suite.app else "") or "Checks"
    pulls = ", ".join(
        link(f"#{pr.number}", repo.url(f"pull/{pr.number}")) for pr in suite.pull_requests
    )
    parts = [
        f"#### {mark} Check suite {escape(app)} {phrase}",
        facts(
            link(repo.full_name, repo.html_url),
            _branch(repo, suite.head_branch),
            forge.commit_fact(repo, suite.head_sha),
            f"pull request {pulls}" if pulls else None,
            forge.took(suite.status, suite.created_at, suite.updated_at),
        ),
        _head_commit(repo, suite.head_commit),
    ]
    title = f"[{repo.full_name}] {mark} Check suite {app} {phrase}{forge.on(suite.head_branch)}"
    checks = repo.url(f"commit/{suite.head_sha}/checks") if suite.head_sha else repo.html_url
    return action_card(title, "\n\n".join(p for p in parts if p), "View checks", checks)


# -- deployments --------------------------------------------------------------------------------

#: Deployment status state → (mark, phrase).
DEPLOYMENT_STATES: dict[str, tuple[str, str]] = {
    "success": ("✅", "succeeded"),
    "failure": ("❌", "failed"),
    "error": ("❌", "failed with an error"),
    "in_progress": ("🔄", "is in progress"),
    "queued": ("🕓", "is queued"),
    "pending": ("🕓", "is pending"),
    "inactive": ("⚪", "is inactive"),
}


def _deploymentfacts(repo: Repository, deployment: Deployment, who: User | None) -> str:
    ref = deployment.ref
    return facts(
        link(repo.full_name, repo.html_url),
        f"ref {link(ref, repo.url(f'tree/{ref}'))}" if ref else None,
        forge.commit_fact(repo, deployment.sha),
        _by(who),
    )


def _run_line(run: RunLink | None) -> str:
    if run is None or not run.html_url:
        return ""
    name = run.name or "Workflow run"
    number = f" #{run.run_number}" if run.run_number else ""
    return f"Workflow run: {link(name + number, run.html_url)}"


def deployment(document: dict[str, Any]) -> Message:
    event = parse(DeploymentEvent, document, "GitHub deployment")
    dep = event.deployment
    repo = event.repository
    env = dep.environment or "an environment"
    parts = [
        f"#### 🚀 Deployment to {escape(env)} created",
        _deploymentfacts(repo, dep, dep.creator or event.sender),
        quote(dep.description, literal=True),
        _run_line(event.workflow_run),
    ]
    run = event.workflow_run.html_url if event.workflow_run else None
    ref = f" ({dep.ref})" if dep.ref else ""
    return action_card(
        f"[{repo.full_name}] 🚀 Deployment to {env} created{ref}",
        "\n\n".join(p for p in parts if p),
        "View run" if run else "View deployments",
        run or repo.url("deployments"),
    )


def deployment_status(document: dict[str, Any]) -> Message:
    event = parse(DeploymentStatusEvent, document, "GitHub deployment_status")
    status = event.deployment_status
    dep = event.deployment
    repo = event.repository
    state = status.state.lower()
    mark, phrase = DEPLOYMENT_STATES.get(state, ("⚪", f"is {state.replace('_', ' ')}"))
    env = status.environment or dep.environment or "an environment"
    parts = [
        f"#### {mark} Deployment to {escape(env)} {phrase}",
        _deploymentfacts(repo, dep, status.creator or dep.creator or event.sender),
        quote(status.description or dep.description, literal=True),
        _run_line(event.workflow_run),
    ]
    if state == "success" and status.environment_url:
        parts.append(f"Environment: {link(status.environment_url, status.environment_url)}")
    log = status.log_url or status.target_url
    run = event.workflow_run.html_url if event.workflow_run else None
    button, url = (
        ("View log", log)
        if log
        else (("View run", run) if run else ("View deployments", repo.url("deployments")))
    )
    ref = f" ({dep.ref})" if dep.ref else ""
    title = f"[{repo.full_name}] {mark} Deployment to {env} {phrase}{ref}"
    return action_card(title, "\n\n".join(p for p in parts if p), button, url)


# -- discussions ----------------------------------------------------------------------------------


def discussion(document: dict[str, Any]) -> Message:
    event = parse(DiscussionEvent, document, "GitHub discussion")
    item = event.discussion
    action = event.action
    details: list[str] = []
    actor = event.sender.login
    button, target = "View discussion", item.html_url
    if action == "created":
        verb = word = "started"
        if item.category is not None:
            details.append(f"Category: {escape(item.category.name)}")
        details.append(quote(item.body))
    elif action == "answered":
        actor = (item.answer_chosen_by or event.sender).login
        verb, word = "marked an answer on", "answered"
        if event.answer is not None:
            details.append(f"Answer by **{escape(event.answer.user.login)}**:")
            details.append(quote(event.answer.body))
            button, target = "View answer", event.answer.html_url
    else:
        verb = word = action
        if action == "closed" and item.state_reason:
            details.append(_reason(item.state_reason))
    return Change(
        forge.item(event.repository, "discussion", item),
        actor=actor,
        verb=verb,
        event=word,
        details=details,
        button=button,
        target=target,
    ).message()


def discussion_comment(document: dict[str, Any]) -> Message:
    event = parse(DiscussionCommentEvent, document, "GitHub discussion_comment")
    return _commented(forge.item(event.repository, "discussion", event.discussion), event.comment)


# -- security alerts ------------------------------------------------------------------------------

#: Alert actions that open an alert, and their words; the others resolve one.
_ALERT_OPENED = {
    "created": "opened",
    "reopened": "reopened",
    "reopened_by_user": "reopened",
    "auto_reopened": "reopened automatically",
    "reintroduced": "reintroduced",
    "appeared_in_branch": "appeared in a branch",
}
_ALERT_RESOLVED = {
    "fixed": "fixed",
    "dismissed": "dismissed",
    "auto_dismissed": "dismissed automatically",
    "closed_by_user": "dismissed",
    "resolved": "resolved",
}


def _alert_words(action: str) -> tuple[str, str]:
    """(mark, verb) of an alert event."""
    if action in _ALERT_RESOLVED:
        verb = _ALERT_RESOLVED[action]
        return ("⚪" if verb.startswith("dismissed") else "✅"), verb
    return "⚠️", _ALERT_OPENED.get(action, action.replace("_", " "))


def _dismissal(who: User | None, reason: str | None, comment: str | None) -> list[str]:
    said = f": {escape(reason.replace('_', ' '))}" if reason else ""
    lines = [f"Dismissed{f' by **{escape(who.login)}**' if who else ''}{said}"]
    if comment:
        lines.append(quote(comment, literal=True))
    return lines


def dependabot_alert(document: dict[str, Any]) -> Message:
    event = parse(DependabotAlertEvent, document, "GitHub dependabot_alert")
    alert = event.alert
    repo = event.repository
    advisory = alert.security_advisory
    vulnerability = alert.security_vulnerability
    mark, verb = _alert_words(event.action)
    package = alert.dependency.package
    if not package.name and vulnerability is not None:
        package = vulnerability.package
    severity = (vulnerability.severity if vulnerability else None) or advisory.severity
    summary = advisory.summary or advisory.ghsa_id or "vulnerable dependency"
    ghsa = (
        link(advisory.ghsa_id, f"https://github.com/advisories/{advisory.ghsa_id}")
        if advisory.ghsa_id
        else None
    )
    about = facts(
        link(repo.full_name, repo.html_url),
        f"severity **{escape(severity)}**" if severity else None,
        ghsa,
        escape(advisory.cve_id) if advisory.cve_id else None,
    )
    ecosystem = f" ({escape(package.ecosystem)})" if package.ecosystem else ""
    manifest = alert.dependency.manifest_path
    where = f" in {escape(manifest)}" if manifest else ""
    parts = [
        f"#### {mark} Dependabot alert #{alert.number} {verb}: {escape(summary)}",
        about,
        f"Package **{escape(package.name or 'unknown')}**{ecosystem}{where}",
    ]
    if vulnerability is not None and vulnerability.vulnerable_version_range:
        patched = vulnerability.first_patched_version
        fix = (
            f"patched in **{escape(patched.identifier)}**" if patched else "no patched version yet"
        )
        parts.append(f"Vulnerable: **{escape(vulnerability.vulnerable_version_range)}** · {fix}")
    if event.action == "dismissed":
        parts.extend(
            _dismissal(alert.dismissed_by, alert.dismissed_reason, alert.dismissed_comment)
        )
    name = package.name or summary
    title = f"[{repo.full_name}] {mark} Dependabot alert #{alert.number} {verb}: {name}"
    if severity:
        title += f" ({severity})"
    url = alert.html_url or repo.url(f"security/dependabot/{alert.number}")
    return action_card(title, "\n\n".join(parts), "View alert", url)


def secret_scanning_alert(document: dict[str, Any]) -> Message:
    event = parse(SecretScanningAlertEvent, document, "GitHub secret_scanning_alert")
    alert = event.alert  # the model has no field for the secret itself: it is never shown
    repo = event.repository
    mark, verb = _alert_words(event.action)
    kind = alert.secret_type_display_name or alert.secret_type or "secret"
    bypassed = (
        f"push protection bypassed by **{escape(alert.push_protection_bypassed_by.login)}**"
        if alert.push_protection_bypassed and alert.push_protection_bypassed_by
        else ("push protection bypassed" if alert.push_protection_bypassed else None)
    )
    about = facts(
        link(repo.full_name, repo.html_url),
        f"validity **{escape(alert.validity)}**" if alert.validity else None,
        bypassed,
    )
    parts = [f"#### {mark} Secret scanning alert #{alert.number} {verb}: {escape(kind)}", about]
    if event.action == "resolved":
        how = f" as **{escape(alert.resolution.replace('_', ' '))}**" if alert.resolution else ""
        who = alert.resolved_by or event.sender
        parts.append(f"Resolved{how}{f' by **{escape(who.login)}**' if who else ''}")
        if alert.resolution_comment:
            parts.append(quote(alert.resolution_comment, literal=True))
    title = f"[{repo.full_name}] {mark} Secret scanning alert #{alert.number} {verb}: {kind}"
    url = alert.html_url or repo.url(f"security/secret-scanning/{alert.number}")
    return action_card(title, "\n\n".join(parts), "View alert", url)


def _scanned_ref(repo: Repository, ref: str | None) -> str | None:
    if not ref:
        return None
    if ref.startswith("refs/pull/"):
        number = ref.split("/")[2]
        return f"pull request {link(f'#{number}', repo.url(f'pull/{number}'))}"
    return _branch(repo, branch_of(ref)) if ref.startswith("refs/heads/") else escape(ref)


def _location(repo: Repository, instance: CodeScanningInstance | None) -> str:
    where = instance.location if instance is not None else None
    if where is None or not where.path:
        return ""
    line = f":{where.start_line}" if where.start_line else ""
    sha = instance.commit_sha if instance is not None else None
    anchor = f"#L{where.start_line}" if where.start_line else ""
    url = (
        repo.url(f"blob/{sha}/{where.path}{anchor}")
        if sha and not where.path.startswith("/")
        else None
    )
    return f"In {link(where.path + line, url)}"


def code_scanning_alert(document: dict[str, Any]) -> Message:
    event = parse(CodeScanningAlertEvent, document, "GitHub code_scanning_alert")
    alert = event.alert
    repo = event.repository
    rule = alert.rule
    mark, verb = _alert_words(event.action)
    what = rule.description or rule.name or rule.id or "code scanning alert"
    instance = alert.most_recent_instance or (alert.instances[0] if alert.instances else None)
    severity = rule.security_severity_level or rule.severity
    about = facts(
        link(repo.full_name, repo.html_url),
        f"rule **{escape(rule.id)}**" if rule.id else None,
        f"severity **{escape(severity)}**" if severity else None,
        f"tool **{escape(alert.tool.name)}**" if alert.tool.name else None,
        _scanned_ref(repo, event.ref or (instance.ref if instance else None)),
    )
    parts = [f"#### {mark} Code scanning alert #{alert.number} {verb}: {escape(what)}", about]
    parts.append(_location(repo, instance))
    if event.action == "closed_by_user":
        parts.extend(
            _dismissal(alert.dismissed_by, alert.dismissed_reason, alert.dismissed_comment)
        )
    title = f"[{repo.full_name}] {mark} Code scanning alert #{alert.number} {verb}: {what}"
    url = alert.html_url or repo.url(f"security/code-scanning/{alert.number}")
    return action_card(title, "\n\n".join(p for p in parts if p), "View alert", url)


# -- stars and forks ------------------------------------------------------------------------------


def star(document: dict[str, Any]) -> Message:
    event = parse(StarEvent, document, "GitHub star")
    repo = event.repository
    who = event.sender
    text = f"⭐ {link(who.login, who.html_url)} starred {link(repo.full_name, repo.html_url)}"
    if repo.stargazers_count is not None:
        text += f" ({plural(repo.stargazers_count, 'star')} now)"
    return action_card(
        f"[{repo.full_name}] ⭐ {who.login} starred the repository",
        text,
        "View stargazers",
        repo.url("stargazers"),
    )


def fork(document: dict[str, Any]) -> Message:
    event = parse(ForkEvent, document, "GitHub fork")
    repo = event.repository
    who = event.sender
    copy = event.forkee
    text = (
        f"🍴 {link(who.login, who.html_url)} forked {link(repo.full_name, repo.html_url)} "
        f"to {link(copy.full_name, copy.html_url)}"
    )
    if repo.forks_count is not None:
        text += f" ({plural(repo.forks_count, 'fork')} now)"
    return action_card(
        f"[{repo.full_name}] 🍴 {who.login} forked it to {copy.full_name}",
        text,
        "View fork",
        copy.html_url,
    )


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
    "pull_request_review.dismissed": review,
    "pull_request_review_comment.created": review_comment,
    "issues.opened": issue,
    "issues.closed": issue,
    "issues.reopened": issue,
    "issue_comment.created": issue_comment,
    "discussion.created": discussion,
    "discussion.answered": discussion,
    "discussion.closed": discussion,
    "discussion.reopened": discussion,
    "discussion_comment.created": discussion_comment,
    # GitHub also sends release.released / .prereleased / .created for the same release.
    "release.published": release,
    "deployment.created": deployment,
    "deployment_status": deployment_status,
    "workflow_run.completed": workflow_run,
    "workflow_run.requested": workflow_run,
    "workflow_run.in_progress": workflow_run,
    "workflow_job.completed": workflow_job,
    "workflow_job.queued": workflow_job,
    "workflow_job.in_progress": workflow_job,
    "workflow_job.waiting": workflow_job,
    "check_suite.completed": check_suite,
    "check_run.completed": check_run,
    "dependabot_alert.created": dependabot_alert,
    "dependabot_alert.reopened": dependabot_alert,
    "dependabot_alert.auto_reopened": dependabot_alert,
    "dependabot_alert.reintroduced": dependabot_alert,
    "dependabot_alert.fixed": dependabot_alert,
    "dependabot_alert.dismissed": dependabot_alert,
    "dependabot_alert.auto_dismissed": dependabot_alert,
    "secret_scanning_alert.created": secret_scanning_alert,
    "secret_scanning_alert.reopened": secret_scanning_alert,
    "secret_scanning_alert.resolved": secret_scanning_alert,
    "code_scanning_alert.created": code_scanning_alert,
    "code_scanning_alert.reopened": code_scanning_alert,
    "code_scanning_alert.reopened_by_user": code_scanning_alert,
    "code_scanning_alert.appeared_in_branch": code_scanning_alert,
    "code_scanning_alert.fixed": code_scanning_alert,
    "code_scanning_alert.closed_by_user": code_scanning_alert,
    "star.created": star,
    "fork": fork,
}
#: CI runs named by their conclusion (``workflow_run.completed.failure``).
CI = ("workflow_run", "workflow_job", "check_suite", "check_run")
#: Opt-in (``include_events``): successful and unremarkable CI, runs in progress, deployments
#: that went well or are under way, stars and forks.
QUIET = frozenset(
    {
        *(f"{ci}.completed.{end}" for ci in CI for end in ("success", "skipped", "neutral")),
        "workflow_run.requested",
        "workflow_run.in_progress",
        "workflow_job.queued",
        "workflow_job.in_progress",
        "workflow_job.waiting",
        *(
            f"deployment_status.{state}"
            for state in ("success", "in_progress", "queued", "pending", "inactive")
        ),
        "star.created",
        "fork",
    }
)
#: A segment GitHub puts in an event's name (a state or a conclusion).
_SEGMENT = re.compile(r"[a-z_]{1,40}")


def _segment(document: dict[str, Any], key: str, field: str) -> str | None:
    """``document[key][field]`` when it is a plain word (``failure``, ``in_progress``)."""
    inner = document.get(key)
    value = inner.get(field) if isinstance(inner, dict) else None
    if isinstance(value, str) and _SEGMENT.fullmatch(value.lower()):
        return value.lower()
    return None


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
        family, action = name, document.get("action")
        if family == "deployment_status":  # always "created": the state says what happened
            state = _segment(document, family, "state")
            name = f"{family}.{state}" if state else family
        elif isinstance(action, str) and action:
            name = f"{family}.{action}"
            conclusion = _segment(document, family, "conclusion")
            if family in CI and action == "completed" and conclusion:
                name = f"{name}.{conclusion}"
        return dispatch(name, document, BUILDERS, QUIET)
