"""Messages that git hosts share (GitHub, GitLab, Codeup): pushes, and pull/merge requests.

Each host parses its own payload and fills in these plain records; the wording lives here once,
so a push reads the same whichever host sent it.
"""

from __future__ import annotations

from collections.abc import Sequence
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

__all__ = ["MAX_COMMITS", "ZERO_SHA", "Change", "Commit", "Push", "branch_of", "push_message"]

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
class Change:
    """A pull or merge request, an issue, or a comment on one, as one card."""

    repo: str
    repo_url: str | None
    #: "pull request", "merge request", "issue", …
    noun: str
    #: "#2" or "!1"
    number: str
    title: str
    url: str | None
    actor: str
    #: "opened", "merged", "closed", "requested a review from octocat on", …
    verb: str
    #: The event in the title: "opened", "review requested", "commented on", …
    event: str
    #: A line under the heading: branches, counts, labels (already markdown).
    details: Sequence[str] = field(default_factory=tuple)
    body: str | None = None
    button: str = "View"
    #: Where the button goes; defaults to ``url``.
    target: str | None = None
    literal_body: bool = False
    #: Words after the item: " as ready for review".
    suffix: str = ""

    def message(self) -> Message:
        item = link(f"{self.number} {self.title}", self.url)
        repo = link(self.repo, self.repo_url)
        heading = f"**{escape(self.actor)}** {self.verb} {self.noun} {item} in {repo}{self.suffix}"
        parts = [heading, *[d for d in self.details if d]]
        quoted = quote(self.body, literal=self.literal_body)
        if quoted:
            parts.append(quoted)
        noun = self.noun[:1].upper() + self.noun[1:]
        title = f"[{self.repo}] {noun} {self.number} {self.event}: {self.title}"
        return action_card(title, "\n\n".join(parts), self.button, self.target or self.url)
