"""Payload models GitHub and Gitea share: Gitea's (and Forgejo's) webhooks mimic GitHub's.

Only the shapes that are the same in both live here; each source's models module adds its own
fields (its users, which differ) and re-exports these. Unknown fields are ignored and types are
checked (:class:`~gong.integrations.source.Payload`).
"""

from __future__ import annotations

from gong.integrations.source import Payload

__all__ = [
    "CommitAuthor",
    "Label",
    "Numbered",
    "PushCommit",
    "Release",
    "Repository",
    "WorkflowStep",
]


class Repository(Payload):
    full_name: str
    html_url: str | None = None

    def url(self, path: str) -> str | None:
        return f"{self.html_url}/{path}" if self.html_url else None


class Label(Payload):
    name: str


class CommitAuthor(Payload):
    name: str = ""
    username: str | None = None

    @property
    def shown(self) -> str:
        return self.name or self.username or ""


class PushCommit(Payload):
    id: str
    message: str = ""
    url: str | None = None
    author: CommitAuthor | None = None


class Numbered(Payload):
    """A pull request, issue or discussion: its number, title, page and text."""

    number: int
    title: str
    html_url: str | None = None
    body: str | None = None


class Release(Payload):
    """A release; each source adds its author."""

    tag_name: str
    name: str | None = None
    html_url: str | None = None
    body: str | None = None
    prerelease: bool = False


class WorkflowStep(Payload):
    name: str
    number: int | None = None
    conclusion: str | None = None
