"""Words GitHub and Gitea share: Gitea's (and Forgejo's) webhooks mimic GitHub's.

Runs and jobs of Actions end with the same conclusions, pushes list commits the same way, and
pull requests, issues and releases read the same. Each source keeps its own URLs and field
names, and fills these in from its models (:mod:`gong.integrations.forge_models`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gong.integrations import git
from gong.integrations.forge_models import Numbered, PushCommit, Release, Repository
from gong.integrations.git import review_requested
from gong.integrations.text import elapsed, link, short_sha
from gong.protocol.messages import Message

__all__ = [
    "MAX_STEPS",
    "OUTCOMES",
    "REVIEWS",
    "attempt",
    "commit_fact",
    "commits",
    "item",
    "on",
    "outcome",
    "pull_request_words",
    "release",
    "took",
]

#: Failed steps of a job listed in its message; the rest are counted.
MAX_STEPS = 10

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


def outcome(status: str, conclusion: str | None, waiting: Mapping[str, str]) -> tuple[str, str]:
    """(mark, phrase) of a run: its conclusion once completed; before, ``waiting`` names the
    statuses of a run not started yet (each source has its own), and the rest are running."""
    if status != "completed":
        return ("🕓", waiting[status]) if status in waiting else ("🔄", "is running")
    return OUTCOMES.get(conclusion or "", ("⚪", f"finished ({conclusion or 'no conclusion'})"))


def took(status: str | None, start: str | None, end: str | None) -> str | None:
    """``took 3 min`` for a completed run whose times are known."""
    spent = elapsed(start, end) if status == "completed" else ""
    return f"took {spent}" if spent else None


def commit_fact(repo: Repository, sha: str | None) -> str | None:
    """``commit abc1234``, linked to the commit's page."""
    return f"commit {link(short_sha(sha), repo.url(f'commit/{sha}'))}" if sha else None


def on(branch: str | None) -> str:
    """`` on main`` at the end of a run's title; empty without a branch."""
    return f" on {branch}" if branch else ""


def attempt(number: int | None) -> str:
    """`` (attempt 2)`` for a run again; empty for the first."""
    return f" (attempt {number})" if number and number > 1 else ""


def commits(pushed: Sequence[PushCommit]) -> list[git.Commit]:
    """A push's commits, for :func:`~gong.integrations.git.push_message`."""
    return [git.Commit(c.id, c.message, c.url, c.author.shown if c.author else "") for c in pushed]


def item(repo: Repository, noun: str, numbered: Numbered) -> git.Item:
    """``#2 Fix the build`` in its repository, for a :class:`~gong.integrations.git.Change`."""
    number = f"#{numbered.number}"
    return git.Item(repo.full_name, repo.html_url, noun, number, numbered.title, numbered.html_url)


#: A review's state → (verb, word in the title).
REVIEWS = {
    "approved": ("approved", "approved"),
    "changes_requested": ("requested changes on", "changes requested"),
    "commented": ("reviewed", "reviewed"),
}


def pull_request_words(action: str, merged: bool, draft: bool, reviewer: str) -> tuple[str, str]:
    """(verb, word in the title) of a pull request's action; ``reviewer`` is whom a review was
    requested from."""
    if action == "closed":
        return ("merged", "merged") if merged else ("closed", "closed")
    if action == "review_requested":
        return review_requested([reviewer]), "review requested"
    if action == "opened":
        return ("opened draft" if draft else "opened"), "opened"
    return {
        "reopened": ("reopened", "reopened"),
        "ready_for_review": ("marked", "ready for review"),
    }[action]


def release(repo: Repository, published: Release, author: str) -> Message:
    """The message for a published release (``author`` is the source's name for its user)."""
    return git.Release(
        repo=repo.full_name,
        repo_url=repo.html_url,
        author=author,
        tag=published.tag_name,
        name=published.name,
        url=published.html_url,
        body=published.body,
        prerelease=published.prerelease,
    ).message()
