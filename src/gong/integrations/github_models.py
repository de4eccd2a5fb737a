"""GitHub's webhook payloads as typed models: only the fields the messages use.

Unknown fields are ignored and types are checked (:class:`~gong.integrations.source.Payload`);
:mod:`gong.integrations.github` names the events and builds their messages from these.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gong.integrations.source import Payload

__all__ = [
    "Branch",
    "CheckOutput",
    "CheckRun",
    "CheckRunEvent",
    "CheckSuite",
    "Comment",
    "CommitAuthor",
    "HeadCommit",
    "Hook",
    "Issue",
    "IssueCommentEvent",
    "IssuesEvent",
    "Label",
    "PingEvent",
    "PullRequest",
    "PullRequestEvent",
    "PushCommit",
    "PushEvent",
    "Pusher",
    "RefEvent",
    "Release",
    "ReleaseEvent",
    "Repository",
    "Review",
    "ReviewEvent",
    "Team",
    "User",
    "WorkflowRun",
    "WorkflowRunEvent",
]


class User(Payload):
    login: str
    html_url: str | None = None


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


class PushCommit(Payload):
    id: str
    message: str = ""
    url: str | None = None
    author: CommitAuthor = Field(default_factory=CommitAuthor)


class Pusher(Payload):
    name: str


class PushEvent(Payload):
    ref: str
    before: str = ""
    after: str = ""
    created: bool = False
    deleted: bool = False
    forced: bool = False
    compare: str | None = None
    commits: list[PushCommit] = Field(default_factory=list)
    head_commit: PushCommit | None = None
    pusher: Pusher | None = None
    sender: User | None = None
    repository: Repository


class RefEvent(Payload):
    ref: str
    ref_type: str
    sender: User | None = None
    repository: Repository


class Branch(Payload):
    ref: str


class PullRequest(Payload):
    number: int
    title: str
    html_url: str
    body: str | None = None
    user: User
    merged: bool | None = False
    merged_by: User | None = None
    draft: bool | None = False
    head: Branch
    base: Branch
    commits: int | None = None
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    requested_reviewers: list[User] = Field(default_factory=list)
    labels: list[Label] = Field(default_factory=list)


class Team(Payload):
    name: str


class PullRequestEvent(Payload):
    action: str
    pull_request: PullRequest
    repository: Repository
    sender: User
    requested_reviewer: User | None = None
    requested_team: Team | None = None


class Review(Payload):
    state: str
    body: str | None = None
    html_url: str
    user: User


class ReviewEvent(Payload):
    action: str
    review: Review
    pull_request: PullRequest
    repository: Repository
    sender: User


class Issue(Payload):
    number: int
    title: str
    html_url: str
    body: str | None = None
    user: User
    state_reason: str | None = None
    labels: list[Label] = Field(default_factory=list)
    assignees: list[User] = Field(default_factory=list)
    pull_request: dict[str, Any] | None = None


class IssuesEvent(Payload):
    action: str
    issue: Issue
    repository: Repository
    sender: User


class Comment(Payload):
    html_url: str
    body: str | None = None
    user: User


class IssueCommentEvent(Payload):
    action: str
    issue: Issue
    comment: Comment
    repository: Repository
    sender: User


class Release(Payload):
    tag_name: str
    name: str | None = None
    html_url: str
    body: str | None = None
    prerelease: bool = False
    author: User | None = None


class ReleaseEvent(Payload):
    action: str
    release: Release
    repository: Repository
    sender: User


class HeadCommit(Payload):
    id: str
    message: str = ""
    author: CommitAuthor | None = None


class WorkflowRun(Payload):
    name: str | None = None
    display_title: str | None = None
    run_number: int
    run_attempt: int | None = 1
    event: str = ""
    status: str
    conclusion: str | None = None
    head_branch: str | None = None
    head_sha: str
    html_url: str
    run_started_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    actor: User | None = None
    head_commit: HeadCommit | None = None


class WorkflowRunEvent(Payload):
    action: str
    workflow_run: WorkflowRun
    repository: Repository
    sender: User | None = None


class CheckOutput(Payload):
    title: str | None = None
    summary: str | None = None


class CheckSuite(Payload):
    head_branch: str | None = None


class CheckRun(Payload):
    name: str
    status: str
    conclusion: str | None = None
    html_url: str | None = None
    details_url: str | None = None
    head_sha: str
    started_at: str | None = None
    completed_at: str | None = None
    output: CheckOutput = Field(default_factory=CheckOutput)
    check_suite: CheckSuite | None = None


class CheckRunEvent(Payload):
    action: str
    check_run: CheckRun
    repository: Repository
    sender: User | None = None


class Hook(Payload):
    events: list[str] = Field(default_factory=list)


class PingEvent(Payload):
    zen: str = ""
    hook_id: int | None = None
    hook: Hook = Field(default_factory=Hook)
    repository: Repository | None = None
    organization: User | None = None
    sender: User | None = None
