"""GitLab webhooks: pushes and tags, merge requests, issues, comments, pipelines, jobs,
deployments, releases, feature flags, wiki pages and emoji reactions.

The event is named by the payload's ``object_kind`` (``X-Gitlab-Event`` names the same thing
and may be missing behind proxies) plus its action or status: ``merge_request.merge``,
``pipeline.failed``, ``job.success``, ``deployment.success``, ``note.issue`` (an edited comment
adds ``.update``: ``note.issue.update``). Failures are shown; successful and in-progress CI
runs, edited comments and emoji reactions are opt-in (:data:`QUIET`), except successful
deployments, which are rare and worth seeing. With a source secret, ``X-Gitlab-Token`` must
equal it (GitLab sends the token in plain text; it is compared in constant time). The payload
models are in :mod:`gong.integrations.gitlab_models`; ``PushEvent`` and ``User`` are re-exported
here for Codeup, which sends GitLab-shaped pushes and comments.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gong.domain.models import RobotKind
from gong.integrations.git import (
    ZERO_SHA,
    Change,
    Commit,
    Item,
    Push,
    branch_of,
    listed,
    push_message,
    review_requested,
)
from gong.integrations.gitlab_models import (
    DeploymentEvent,
    EmojiEvent,
    FeatureFlagEvent,
    IssueEvent,
    JobEvent,
    MergeRequestEvent,
    NoteAttributes,
    NoteEvent,
    PipelineEvent,
    Project,
    PushEvent,
    ReleaseEvent,
    ReviewerChange,
    User,
    WikiPageEvent,
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
from gong.integrations.text import (
    action_card,
    cut,
    duration,
    escape,
    first_line,
    link,
    quote,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = [
    "GitLab",
    "PushEvent",
    "User",
    "event_name",
    "gitlab_push",
    "note_message",
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


def _item(project: Project, noun: str, number: str, title: str, url: str | None) -> Item:
    return Item(project.path_with_namespace, project.web_url, noun, number, title, url)


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
        verb = review_requested(u.shown for u in added)
        word = "review requested"
    else:
        verb, word = _MR_VERBS[action]
        if action == "open":
            body = mr.description
            if mr.draft or mr.work_in_progress:
                verb = "opened draft"
            details.append(listed("Reviewers", [u.shown for u in event.reviewers]))
            details.append(listed("Labels", [label.title for label in event.labels]))
    return Change(
        _item(event.project, "merge request", f"!{mr.iid}", mr.title, mr.url),
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
        details.append(listed("Labels", [label.title for label in event.labels]))
        details.append(listed("Assignees", [u.shown for u in event.assignees]))
    return Change(
        _item(event.project, "issue", f"#{item.iid}", item.title, item.url),
        actor=event.user.shown,
        verb=verb,
        event=verb,
        details=details,
        body=item.description if action == "open" else None,
        button="View issue",
    ).message()


def note_location(attrs: NoteAttributes) -> str:
    """``File: **app/x.rb**, line 12`` for a comment on a line of a diff; empty otherwise."""
    position = attrs.position
    path = line = None
    if position is not None:
        path = position.new_path or position.old_path
        line = position.new_line or position.old_line
    if not path and attrs.st_diff is not None:
        path = attrs.st_diff.new_path or attrs.st_diff.old_path
    parts = (attrs.line_code or "").split("_")  # "<sha of the path>_<old line>_<new line>"
    if line is None and len(parts) >= 3:
        line = next((int(n) for n in (parts[-1], parts[-2]) if n.isdigit() and int(n) > 0), None)
    if not path:
        return ""
    where = f"File: **{escape(cut(path, 200))}**"
    return f"{where}, line {line}" if line else where


def note_message(item: Item, actor: str, attrs: NoteAttributes) -> Message:
    """A comment on ``item``: new, or edited (``action: update``); GitLab's and Codeup's."""
    edited = attrs.action == "update"
    return Change(
        item,
        actor=actor,
        verb="edited a comment on" if edited else "commented on",
        event="comment edited" if edited else "new comment",
        details=[note_location(attrs)],
        body=attrs.note,
        button="View comment",
        target=attrs.url,
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
        noun, number, title = "commit", event.commit.id[:7], first_line(event.commit.message)
    elif kind == "Snippet" and event.snippet is not None:
        noun, number, title = "snippet", f"${event.snippet.id}", event.snippet.title
    else:
        raise invalid(f"GitLab note: the {kind} it comments on is missing")
    item_url = attrs.url.split("#")[0] if attrs.url else None
    return note_message(
        _item(event.project, noun, number, title, item_url), event.user.shown, attrs
    )


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
            if build.failure_reason:
                notes.append(escape(build.failure_reason.replace("_", " ")))
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
    base: str | None
    if event.project is not None and event.project.web_url:
        repo, base = event.project.path_with_namespace, event.project.web_url
    else:
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
    if event.retries_count:
        facts.append(f"attempt {event.retries_count + 1}")
    parts = [f"#### {mark} Job {escape(event.build_name)} {phrase}", " · ".join(facts)]
    more = []
    if event.pipeline_id is not None:
        name = event.commit.name if event.commit is not None and event.commit.name else None
        shown = f"#{event.pipeline_id}" + (f" {name}" if name else "")
        url = f"{base}/-/pipelines/{event.pipeline_id}" if base else None
        more.append(f"Pipeline {link(shown, url)}")
    if event.runner is not None and event.runner.description:
        more.append(f"runner {escape(cut(event.runner.description, 100))}")
    if event.user is not None and event.user.shown != "someone":
        more.append(f"by **{escape(event.user.shown)}**")
    if more:
        parts.append(" · ".join(more))
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


def deployment(document: dict[str, Any]) -> Message:
    event = parse(DeploymentEvent, document, "GitLab deployment")
    project = event.project
    mark, phrase = _status(event.status)
    env = event.environment
    facts = [
        link(project.path_with_namespace, project.web_url),
        f"environment {link(env, event.environment_external_url)}",
    ]
    if event.environment_tier and event.environment_tier != env:
        facts.append(f"tier {escape(event.environment_tier)}")
    if event.ref:
        facts.append(f"ref **{escape(event.ref)}**")
    if event.user is not None:
        facts.append(f"by **{escape(event.user.shown)}**")
    parts = [f"#### {mark} Deployment to {escape(env)} {phrase}", " · ".join(facts)]
    if event.deployable_url:
        job = f"#{event.deployable_id}" if event.deployable_id is not None else "job"
        parts.append(f"Job {link(job, event.deployable_url)}")
    if event.short_sha:
        parts.append(Commit(event.short_sha, event.commit_title or "", event.commit_url, "").line())
    title = f"[{project.path_with_namespace}] {mark} Deployment to {env} {phrase}"
    url = event.deployable_url or project.url("environments")
    return action_card(
        title, "\n\n".join(parts), "View job" if event.deployable_url else "View environments", url
    )


#: At most this many release asset links are listed; the rest are counted.
MAX_ASSETS = 10
_RELEASE_VERBS = {"create": "published", "update": "updated", "delete": "deleted"}


def release(document: dict[str, Any]) -> Message:
    event = parse(ReleaseEvent, document, "GitLab release")
    project = event.project
    name = event.name or event.tag
    verb = _RELEASE_VERBS[event.action or "create"]
    where = link(project.path_with_namespace, project.web_url)
    gone = verb == "deleted"
    shown = f"**{escape(name)}**" if gone else link(name, event.url)
    parts = [f"Release {shown} {verb} in {where}"]
    if name != event.tag:
        tag = link(event.tag, None if gone else project.url(f"tags/{event.tag}"))
        parts.append(f"Tag: **{tag}**" if gone else f"Tag: {tag}")
    if not gone:
        if event.commit is not None:
            c = event.commit
            parts.append(Commit(c.id, c.message, c.url, c.author.name).line())
        body = quote(event.description, limit=600, lines=12)
        if body:
            parts.append(body)
        links = [f"- {link(a.name or a.url, a.url)}" for a in event.assets.links[:MAX_ASSETS]]
        if len(event.assets.links) > MAX_ASSETS:
            links.append(f"- and {len(event.assets.links) - MAX_ASSETS} more")
        if links:
            parts.append("Assets:\n\n" + "\n".join(links))
    title = f"[{project.path_with_namespace}] Release {name} {verb}"
    url = project.url("releases") if gone else (event.url or project.url("releases"))
    return action_card(
        title, "\n\n".join(parts), "View release" if not gone else "View releases", url
    )


def feature_flag(document: dict[str, Any]) -> Message:
    event = parse(FeatureFlagEvent, document, "GitLab feature_flag")
    project = event.project
    flag = event.object_attributes
    state = "on" if flag.active else "off"
    mark = "🟢" if flag.active else "⚪"
    who = f"**{escape(event.user.shown)}**" if event.user is not None else "Someone"
    where = link(project.path_with_namespace, project.web_url)
    parts = [f"{mark} {who} turned feature flag **{escape(flag.name)}** {state} in {where}"]
    described = quote(flag.description, limit=300, lines=4, literal=True)
    if described:
        parts.append(described)
    title = f"[{project.path_with_namespace}] Feature flag {flag.name} turned {state}"
    return action_card(
        title, "\n\n".join(parts), "View feature flags", project.url("feature_flags")
    )


_WIKI_VERBS = {"create": "created", "update": "updated", "delete": "deleted"}


def wiki_page(document: dict[str, Any]) -> Message:
    event = parse(WikiPageEvent, document, "GitLab wiki_page")
    project = event.project
    page = event.object_attributes
    verb = _WIKI_VERBS[page.action or ""]
    gone = verb == "deleted"
    shown = f"**{escape(page.title)}**" if gone else link(page.title, page.url)
    where = link(project.path_with_namespace, project.web_url)
    parts = [f"**{escape(event.user.shown)}** {verb} wiki page {shown} in {where}"]
    message = quote(page.message, limit=300, lines=4, literal=True)
    if message:
        parts.append(message)
    if verb == "updated" and page.diff_url:
        parts.append(link("View the changes", page.diff_url))
    title = f"[{project.path_with_namespace}] Wiki page {page.title} {verb}"
    url = (event.wiki.web_url or project.url("wikis")) if gone else page.url
    return action_card(title, "\n\n".join(parts), "View wiki" if gone else "View page", url)


#: GitLab's emoji names → the emoji; others are shown by name (``:party_parrot:``).
EMOJI = {
    "thumbsup": "👍",
    "thumbsdown": "👎",
    "heart": "❤️",
    "tada": "🎉",
    "smile": "😄",
    "laughing": "😆",
    "rocket": "🚀",
    "eyes": "👀",
    "confused": "😕",
    "100": "💯",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "fire": "🔥",
    "clap": "👏",
    "pray": "🙏",
    "ok_hand": "👌",
    "muscle": "💪",
    "thinking": "🤔",
    "star": "⭐",
    "x": "❌",
}


def emoji(document: dict[str, Any]) -> Message:
    event = parse(EmojiEvent, document, "GitLab emoji")
    attrs = event.object_attributes
    project = event.project
    face = EMOJI.get(attrs.name, f":{attrs.name}:")
    kind = attrs.awardable_type
    on_comment = kind == "Note" and event.note is not None
    if on_comment and event.note is not None:
        kind = event.note.noteable_type
    if kind == "MergeRequest" and event.merge_request is not None:
        item = ("merge request", f"!{event.merge_request.iid}", event.merge_request.title)
        url = event.merge_request.url
    elif kind == "Issue" and event.issue is not None:
        item = ("issue", f"#{event.issue.iid}", event.issue.title)
        url = event.issue.url
    elif kind == "Snippet" and event.snippet is not None:
        item = ("snippet", f"${event.snippet.id}", event.snippet.title)
        url = event.snippet.url
    elif kind == "Commit" and event.commit is not None:
        item = ("commit", event.commit.id[:7], first_line(event.commit.message))
        url = event.commit.url
    else:
        item = (kind.lower() or "item", "", "")
        url = None
    noun, number, name = item
    thing = link(f"{number} {name}".strip(), url or attrs.awarded_on_url) if number else ""
    target = f"{'a comment on ' if on_comment else ''}{noun} {thing}".strip()
    who = f"**{escape(event.user.shown)}**"
    where = link(project.path_with_namespace, project.web_url)
    about = f"{'a comment on ' if on_comment else ''}{noun} {number}".strip()
    if attrs.action == "revoke":
        head = f"{who} removed their {escape(face)} reaction from {target} in {where}"
        title_words = f"removed {face} from {about}"
    else:
        head = f"{who} reacted {escape(face)} to {target} in {where}"
        title_words = f"reacted {face} to {about}"
    parts = [head]
    if on_comment and event.note is not None:
        excerpt = quote(event.note.note, limit=200, lines=3)
        if excerpt:
            parts.append(excerpt)
    title = f"[{project.path_with_namespace}] {event.user.shown} {title_words}"
    return action_card(title, "\n\n".join(parts), "View", attrs.awarded_on_url or url)


#: Pipeline and job states shown by default; the others are opt-in (include_events).
_CI_SHOWN = ("failed", "canceled")
_CI_QUIET = (
    "success",
    "running",
    "pending",
    "created",
    "preparing",
    "scheduled",
    "waiting_for_resource",
    "skipped",
    "manual",
)
_DEPLOY_SHOWN = ("success", "failed", "canceled")
_DEPLOY_QUIET = ("running", "created")
_NOTED = ("merge_request", "issue", "commit", "snippet")

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
    **{f"note.{target}": note for target in _NOTED},
    "release.create": release,
    "release.update": release,
    "release.delete": release,
    **{f"pipeline.{s}": pipeline for s in (*_CI_SHOWN, *_CI_QUIET)},
    **{f"job.{s}": job for s in (*_CI_SHOWN, *_CI_QUIET)},
    **{f"deployment.{s}": deployment for s in (*_DEPLOY_SHOWN, *_DEPLOY_QUIET)},
    "feature_flag.on": feature_flag,
    "feature_flag.off": feature_flag,
    "wiki_page.create": wiki_page,
    "wiki_page.update": wiki_page,
    "wiki_page.delete": wiki_page,
    "emoji.award": emoji,
    "emoji.revoke": emoji,
}
#: Opt-in (``include_events``): successful and in-progress CI runs, deployments in progress,
#: edited comments (``note.issue.update``) and emoji reactions.
QUIET = frozenset(
    {f"pipeline.{s}" for s in _CI_QUIET}
    | {f"job.{s}" for s in _CI_QUIET}
    | {f"deployment.{s}" for s in _DEPLOY_QUIET}
    | {f"note.{target}.update" for target in _NOTED}
    | {"emoji"}
)

_SNAKE = {
    "MergeRequest": "merge_request",
    "Issue": "issue",
    "Commit": "commit",
    "Snippet": "snippet",
}


def event_name(document: dict[str, Any], label: str) -> str:
    """``push``, ``merge_request.merge``, ``pipeline.failed``, ``job.success``, ``note.issue``
    (``note.issue.update`` when edited), ``deployment.success``, ``feature_flag.on``, …"""
    kind = document.get("object_kind")
    if not isinstance(kind, str) or not kind:
        raise invalid(f"no object_kind in the body: this is not a {label} webhook payload")
    attrs = document.get("object_attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    if kind in ("build", "job"):
        return f"job.{_word(document, 'build_status', label)}"
    if kind == "pipeline":
        return f"pipeline.{_word(attrs, 'status', f'{label} pipeline: object_attributes')}"
    if kind == "deployment":
        return f"deployment.{_word(document, 'status', f'{label} deployment')}"
    if kind == "feature_flag":
        active = attrs.get("active")
        if not isinstance(active, bool):
            where = f"{label} feature_flag: object_attributes"
            raise invalid(f"{where}: field active is missing or not true/false")
        return f"feature_flag.{'on' if active else 'off'}"
    if kind == "note":
        noteable = _word(attrs, "noteable_type", f"{label} note: object_attributes")
        name = f"note.{_SNAKE.get(noteable, noteable.lower())}"
        return f"{name}.update" if attrs.get("action") == "update" else name
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
