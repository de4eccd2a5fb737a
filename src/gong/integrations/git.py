"""Messages that git hosts share (GitHub, Gitea, GitLab, Codeup): pushes, branches and tags,
pull/merge requests, issues and comments, and releases.

Each host parses its own payload and fills in these plain records; the wording lives here once,
so a push reads the same whichever host sent it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gong.integrations.text import (
    action_card,
    escape,
    first_line,
    link,
    markdown,
    plural,
    quote,
    short_sha,
)
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import Message

__all__ = [
    "MAX_COMMITS",
    "ZERO_SHA",
    "Change",
    "Commit",
    "Item",
    "Push",
    "Ref",
    "Release",
    "branch_of",
    "listed",
    "push_message",
    "review_requested",
]

#: Commits listed in a push message; the rest are counted ("and 40 more commits").
MAX_COMMITS = 10
#: The all-zero object id git hosts send as ``before`` of a new ref and ``after`` of a deleted one.
ZERO_SHA = "0" * 40

_BRANCH = "refs/heads/"
_TAG = "refs/tags/"


def branch_of(ref: str) -> str:
    """``refs/heads/main`` → ``main``; ``refs/tags/v1`` → ``v1``; anything else unchanged."""
    for prefix in (_BRANCH, _TAG):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str
    url: str | None
    author: str

    def line(self) -> str:
        summary = escape(first_line(self.message, 80)) or "(no message)"
        author = f" ({escape(self.author)})" if self.author else ""
        return f"- {link(short_sha(self.sha), self.url)} {summary}{author}"


@dataclass(frozen=True, slots=True)
class Push:
    """A push of commits, a new or deleted branch, or a pushed or deleted tag."""

    repo: str
    repo_url: str | None
    pusher: str
    ref: str
    commits: Sequence[Commit]
    total: int
    compare_url: str | None
    ref_url: str | None
    created: bool
    deleted: bool
    forced: bool = False

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith(_TAG)


def _commit_lines(commits: Sequence[Commit], total: int) -> list[str]:
    budget = MAX_BODY_BYTES - 4_000  # room for the heading and the JSON around the text
    lines: list[str] = []
    used = 0
    for commit in commits[:MAX_COMMITS]:
        line = commit.line()
        used += len(line.encode()) + 1
        if used > budget:
            break
        lines.append(line)
    hidden = max(total, len(commits)) - len(lines)
    if hidden > 0:
        lines.append(f"- and {plural(hidden, 'more commit')}")
    return lines


def push_message(push: Push) -> Message:
    """The one message for a push: who, how many commits, where, and the first commits."""
    name = branch_of(push.ref)
    what = "tag" if push.is_tag else "branch"
    repo = link(push.repo, push.repo_url)
    who = f"**{escape(push.pusher)}**"
    ref = link(name, push.ref_url) if push.ref_url else f"**{escape(name)}**"
    count = max(push.total, len(push.commits))
    lines: list[str] = []
    if push.deleted:
        title = f"[{push.repo}] {push.pusher} deleted {what} {name}"
        head = f"{who} deleted {what} **{escape(name)}** in {repo}"
    elif push.is_tag:
        title = f"[{push.repo}] {push.pusher} pushed tag {name}"
        head = f"{who} pushed tag {ref} in {repo}"
        if push.commits:
            lines = [push.commits[-1].line()]
    elif push.created:
        title = f"[{push.repo}] {push.pusher} created branch {name}"
        head = f"{who} created branch {ref} in {repo}"
        if count:
            head += f" with {link(plural(count, 'commit'), push.compare_url)}"
            lines = _commit_lines(push.commits, push.total)
    elif count == 0:
        title = f"[{push.repo}] {push.pusher} pushed to {name}"
        head = f"{who} pushed to {ref} in {repo} (no new commits)"
    else:
        verb = "force-pushed" if push.forced else "pushed"
        commits = plural(count, "commit")
        title = f"[{push.repo}] {push.pusher} {verb} {commits} to {name}"
        head = f"{who} {verb} {link(commits, push.compare_url)} to {ref} in {repo}"
        lines = _commit_lines(push.commits, push.total)
    text = head if not lines else head + "\n\n" + "\n".join(lines)
    return markdown(title, text)


@dataclass(frozen=True, slots=True)
class Ref:
    """A branch or tag created or deleted on its own (the ``create`` and ``delete`` events)."""

    repo: str
    repo_url: str | None
    actor: str
    #: "branch" or "tag"
    ref_type: str
    #: The short name: "main", "v1.0".
    name: str
    #: The ref's page, linked when it was created.
    url: str | None
    deleted: bool

    def message(self) -> Message:
        verb = "deleted" if self.deleted else "created"
        ref = f"**{escape(self.name)}**" if self.deleted else link(self.name, self.url)
        where = link(self.repo, self.repo_url)
        text = f"**{escape(self.actor)}** {verb} {escape(self.ref_type)} {ref} in {where}"
        return markdown(f"[{self.repo}] {self.actor} {verb} {self.ref_type} {self.name}", text)


@dataclass(frozen=True, slots=True)
class Item:
    """A numbered pull or merge request, issue or discussion in its repository."""

    repo: str
    repo_url: str | None
    #: "pull request", "merge request", "issue", …
    noun: str
    #: "#2" or "!1"
    number: str
    title: str
    url: str | None


def listed(label: str, names: Iterable[str]) -> str:
    """``Labels: bug, ui`` with the names escaped; empty when there are none."""
    shown = ", ".join(escape(name) for name in names)
    return f"{label}: {shown}" if shown else ""


def review_requested(reviewers: Iterable[str]) -> str:
    """The verb of a review request: ``requested a review from **octocat** on``."""
    return f"requested a review from **{', '.join(escape(name) for name in reviewers)}** on"


@dataclass(frozen=True, slots=True)
class Change:
    """Something done to an item (opened, merged, reviewed, commented on), as one card."""

    item: Item
    actor: str
    #: "opened", "merged", "closed", "requested a review from octocat on", …
    verb: str
    #: The event in the title: "opened", "review requested", "commented on", …
    event: str
    #: A line under the heading: branches, counts, labels (already markdown).
    details: Sequence[str] = field(default_factory=tuple)
    body: str | None = None
    button: str = "View"
    #: Where the button goes; defaults to the item's page.
    target: str | None = None
    literal_body: bool = False
    #: Words after the item: " as ready for review".
    suffix: str = ""

    def message(self) -> Message:
        item = self.item
        shown = link(f"{item.number} {item.title}", item.url)
        repo = link(item.repo, item.repo_url)
        heading = f"**{escape(self.actor)}** {self.verb} {item.noun} {shown} in {repo}{self.suffix}"
        parts = [heading, *[d for d in self.details if d]]
        quoted = quote(self.body, literal=self.literal_body)
        if quoted:
            parts.append(quoted)
        noun = item.noun[:1].upper() + item.noun[1:]
        title = f"[{item.repo}] {noun} {item.number} {self.event}: {item.title}"
        return action_card(title, "\n\n".join(parts), self.button, self.target or item.url)


@dataclass(frozen=True, slots=True)
class Release:
    """A published release (or pre-release) of a repository."""

    repo: str
    repo_url: str | None
    author: str
    tag: str
    name: str | None
    url: str | None
    body: str | None
    prerelease: bool

    def message(self) -> Message:
        name = self.name or self.tag
        kind = "pre-release" if self.prerelease else "release"
        where = link(self.repo, self.repo_url)
        text = f"**{escape(self.author)}** published {kind} {link(name, self.url)} in {where}"
        if name != self.tag:
            text += f"\n\nTag: **{escape(self.tag)}**"
        body = quote(self.body, limit=600, lines=12)
        if body:
            text += "\n\n" + body
        title = f"[{self.repo}] {kind.capitalize()} {name} published"
        return action_card(title, text, "View release", self.url)
