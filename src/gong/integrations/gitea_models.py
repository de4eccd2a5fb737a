"""Gitea's (and Forgejo's) webhook payloads as typed models: only the fields the messages use.

The shapes are Gitea's ``modules/structs`` (``hook.go``, ``repo_actions.go``); Forgejo sends the
same. Repositories, labels, commits, releases and steps are GitHub's shapes
(:mod:`gong.integrations.forge_models`); users and events are Gitea's own, below.
:mod:`gong.integrations.gitea` names the events and builds their messages from these.
"""

from __future__ import annotations

from pydantic import Field

from gong.integrations.forge_models import (
    CommitAuthor,
    Label,
    Numbered,
    PushCommit,
    Repository,
    WorkflowStep,
)
from gong.integrations.forge_models import Release as ForgeRelease
from gong.integrations.source import Payload

__all__ = [
    "Comment",
    "CommitAuthor",
    "Issue",
    "IssueCommentEvent",
    "IssuesEvent",
    "Label",
    "PullRequest",
    "PullRequestEvent",
    "PushCommit",
    "PushEvent",
    "RefEvent",
    "Release",
    "ReleaseEvent",
    "Repository",
    "Review",
    "User",
    "Workflow",
    "WorkflowJob",
    "WorkflowJobEvent",
    "WorkflowRun",
    "WorkflowRunEvent",
    "WorkflowStep",
]


class User(Payload):
    login: str = ""
    username: str = ""
    full_name: str = ""

    @property
    def shown(self) -> str:
        return self.login or self.username or self.full_name or "someone"


class PushEvent(Payload):
    ref: str
    before: str = ""
    after: str = ""
    compare_url: str | None = None
    commits: list[PushCommit] | None = None
    total_commits: int | None = None
    repository: Repository
    pusher: User | None = None
    sender: User | None = None


class RefEvent(Payload):
    """``create`` and ``delete``: ``ref`` is the short name (``main``, ``v1.0``)."""

    ref: str
    ref_type: str
    repository: Repository
    sender: User | None = None


class Branch(Payload):
    ref: str = ""
    label: str = ""


class PullRequest(Numbered):
    user: User | None = None
    merged: bool | None = False
    merged_by: User | None = None
    draft: bool | None = False
    head: Branch = Field(default_factory=Branch)
    base: Branch = Field(default_factory=Branch)
    labels: list[Label] | None = None
    requested_reviewers: list[User] | None = None


class Review(Payload):
    """Gitea's review summary: its kind (``pull_request_review_approved``, …) and text."""

    type: str = ""
    content: str | None = None


class PullRequestEvent(Payload):
    action: str
    pull_request: PullRequest
    repository: Repository
    sender: User
    requested_reviewer: User | None = None
    review: Review | None = None


class Issue(Numbered):
    user: User | None = None
    labels: list[Label] | None = None
    assignees: list[User] | None = None
    pull_request: dict[str, object] | None = None


class IssuesEvent(Payload):
    action: str
    issue: Issue
    repository: Repository
    sender: User


class Comment(Payload):
    html_url: str | None = None
    body: str | None = None
    user: User | None = None


class IssueCommentEvent(Payload):
    action: str
    issue: Issue
    comment: Comment
    repository: Repository
    sender: User
    is_pull: bool = False


class Release(ForgeRelease):
    author: User | None = None


class ReleaseEvent(Payload):
    action: str
    release: Release
    repository: Repository
    sender: User


class Workflow(Payload):
    name: str = ""
    path: str = ""


class WorkflowRun(Payload):
    id: int
    display_title: str = ""
    path: str = ""
    event: str = ""
    run_attempt: int | None = None
    run_number: int | None = None
    head_sha: str = ""
    head_branch: str | None = None
    status: str
    conclusion: str | None = None
    html_url: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    actor: User | None = None


class WorkflowRunEvent(Payload):
    action: str
    workflow: Workflow | None = None
    workflow_run: WorkflowRun
    repository: Repository
    sender: User | None = None


class WorkflowJob(Payload):
    id: int
    run_id: int | None = None
    name: str
    html_url: str | None = None
    head_sha: str = ""
    head_branch: str | None = None
    status: str
    conclusion: str | None = None
    run_attempt: int | None = None
    runner_name: str | None = None
    steps: list[WorkflowStep] | None = None
    started_at: str | None = None
    completed_at: str | None = None


class WorkflowJobEvent(Payload):
    action: str
    workflow_job: WorkflowJob
    repository: Repository
    sender: User | None = None
