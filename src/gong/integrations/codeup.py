"""Alibaba Cloud Codeup (云效) webhooks: pushes, tag pushes, merge requests and comments.

These four are all Codeup sends. Its payloads are GitLab-shaped (``object_kind``,
``object_attributes``, ``total_commits_count``) but carry no ``project`` object: the repository
comes from ``repository.homepage`` or a merge request's ``target.web_url``. Events are named as
GitLab's are (:func:`gong.integrations.gitlab.event_name`), from the payload, so the event
header (``Codeup-Event``, ``X-Codeup-Event`` behind some proxies) is not needed. With a source
secret, ``X-Codeup-Token`` must equal it.
"""

from __future__ import annotations

from typing import Any

from gong.domain.models import RobotKind
from gong.integrations.git import Change, Item, push_message
from gong.integrations.gitlab import (
    PushEvent,
    User,
    event_name,
    gitlab_push,
    note_message,
    site_path,
)
from gong.integrations.gitlab_models import NoteAttributes as GitLabNoteAttributes
from gong.integrations.gitlab_models import NotedCommit
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    IntegrationConfig,
    Payload,
    Source,
    bad_signature,
    dispatch,
    invalid,
    parse,
    same,
)
from gong.integrations.text import escape, first_line
from gong.protocol.messages import Message

__all__ = ["Codeup"]


class Repository(Payload):
    name: str = ""
    homepage: str | None = None


class Side(Payload):
    name: str = ""
    web_url: str | None = None


class MergeRequestAttributes(Payload):
    iid: int
    title: str
    url: str | None = None
    action: str | None = None
    source_branch: str = ""
    target_branch: str = ""
    description: str | None = None
    work_in_progress: bool | None = None
    target: Side | None = None


class MergeRequestEvent(Payload):
    user: User
    object_attributes: MergeRequestAttributes
    repository: Repository | None = None


class NoteAttributes(GitLabNoteAttributes):
    """GitLab's comment attributes (diff position, ``action``); the type may be missing."""

    noteable_type: str = ""


class Noted(Payload):
    iid: int | None = None
    title: str = ""


class NoteEvent(Payload):
    user: User
    object_attributes: NoteAttributes
    repository: Repository | None = None
    merge_request: Noted | None = None
    issue: Noted | None = None
    commit: NotedCommit | None = None


def _repo(repository: Repository | None, fallback: str | None = None) -> tuple[str, str | None]:
    url = (repository.homepage if repository else None) or fallback
    name = site_path(url) or (repository.name if repository else "") or "Codeup"
    return name, url


def push(document: dict[str, Any]) -> Message:
    return push_message(gitlab_push(parse(PushEvent, document, "Codeup push"), links=False))


_MR_VERBS = {
    "open": "opened",
    "reopen": "reopened",
    "close": "closed",
    "merge": "merged",
}


def merge_request(document: dict[str, Any]) -> Message:
    event = parse(MergeRequestEvent, document, "Codeup merge_request")
    mr = event.object_attributes
    repo, repo_url = _repo(event.repository, mr.target.web_url if mr.target else None)
    verb = _MR_VERBS[mr.action or ""]
    if verb == "opened" and mr.work_in_progress:
        verb = "opened draft"
    return Change(
        Item(repo, repo_url, "merge request", f"!{mr.iid}", mr.title, mr.url),
        actor=event.user.shown,
        verb=verb,
        event=_MR_VERBS[mr.action or ""],
        details=[f"**{escape(mr.source_branch)}** → **{escape(mr.target_branch)}**"],
        body=mr.description if mr.action == "open" else None,
        button="View merge request",
    ).message()


def note(document: dict[str, Any]) -> Message:
    event = parse(NoteEvent, document, "Codeup note")
    attrs = event.object_attributes
    repo, repo_url = _repo(event.repository)
    if event.merge_request is not None:
        noun, number, title = (
            "merge request",
            f"!{event.merge_request.iid}",
            event.merge_request.title,
        )
    elif event.issue is not None:
        noun, number, title = "issue", f"#{event.issue.iid}", event.issue.title
    elif event.commit is not None:
        noun, number, title = "commit", event.commit.id[:7], first_line(event.commit.message)
    else:
        noun, number, title = attrs.noteable_type.lower() or "change", "", ""
    url = attrs.url.split("#")[0] if attrs.url else None
    return note_message(Item(repo, repo_url, noun, number, title, url), event.user.shown, attrs)


_NOTED = ("merge_request", "issue", "commit")

BUILDERS: dict[str, Builder] = {
    "push": push,
    "tag_push": push,
    "merge_request.open": merge_request,
    "merge_request.reopen": merge_request,
    "merge_request.close": merge_request,
    "merge_request.merge": merge_request,
    **{f"note.{target}": note for target in _NOTED},
}
#: Opt-in (``include_events``): edited comments (``note.merge_request.update``).
QUIET = frozenset(f"note.{target}.update" for target in _NOTED)


class Codeup(Source):
    kind = RobotKind.CODEUP
    label = "Codeup"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        token = delivery.header("X-Codeup-Token")
        if token is None:
            raise bad_signature(
                "X-Codeup-Token is missing: set the secret token in Codeup's webhook settings"
            )
        if not same(token, secret):
            raise bad_signature("X-Codeup-Token does not match the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        if "object_kind" not in document:
            raise invalid("no object_kind in the body: this is not a Codeup webhook payload")
        return dispatch(event_name(document, self.label), document, BUILDERS, QUIET)
