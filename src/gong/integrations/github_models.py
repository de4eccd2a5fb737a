"""GitHub's webhook payloads as typed models: only the fields the messages use.

Unknown fields are ignored and types are checked (:class:`~gong.integrations.source.Payload`);
the shapes Gitea sends too live in :mod:`gong.integrations.forge_models` and are re-exported
here. :mod:`gong.integrations.github` names the events and builds their messages from these.
"""

from __future__ import annotations

from typing import Any

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
    "AlertDependency",
    "AlertPackage",
    "Branch",
    "CheckOutput",
    "CheckRun",
    "CheckRunEvent",
    "CheckSuite",
    "CheckSuiteApp",
    "CheckSuiteEvent",
    "CheckSuitePull",
    "CodeScanningAlert",
    "CodeScanningAlertEvent",
    "CodeScanningInstance",
    "CodeScanningLocation",
    "CodeScanningRule",
    "CodeScanningTool",
    "Comment",
    "CommitAuthor",
    "DependabotAdvisory",
    "DependabotAlert",
    "DependabotAlertEvent",
    "DependabotVulnerability",
    "Deployment",
    "DeploymentEvent",
    "DeploymentStatus",
    "DeploymentStatusEvent",
    "Discussion",
    "DiscussionCategory",
    "DiscussionCommentEvent",
    "DiscussionEvent",
    "ForkEvent",
    "HeadCommit",
    "Hook",
    "Issue",
    "IssueCommentEvent",
    "IssuesEvent",
    "Label",
    "PatchedVersion",
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
    "ReviewComment",
    "ReviewCommentEvent",
    "ReviewEvent",
    "RunLink",
    "SecretScanningAlert",
    "SecretScanningAlertEvent",
    "StarEvent",
    "StarredRepository",
    "Team",
    "User",
    "WorkflowJob",
    "WorkflowJobEvent",
    "WorkflowRun",
    "WorkflowRunEvent",
    "WorkflowStep",
]


class User(Payload):
    login: str
    html_url: str | None = None


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


class PullRequest(Numbered):
    html_url: str
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


class Issue(Numbered):
    html_url: str
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


class Release(ForgeRelease):
    html_url: str
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


class CheckSuiteApp(Payload):
    name: str = ""


class CheckSuitePull(Payload):
    number: int


class CheckSuite(Payload):
    head_branch: str | None = None
    head_sha: str = ""
    status: str | None = None
    conclusion: str | None = None
    app: CheckSuiteApp | None = None
    pull_requests: list[CheckSuitePull] = Field(default_factory=list)
    head_commit: HeadCommit | None = None
    created_at: str | None = None
    updated_at: str | None = None


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


class CheckSuiteEvent(Payload):
    action: str
    check_suite: CheckSuite
    repository: Repository
    sender: User | None = None


class WorkflowJob(Payload):
    name: str
    workflow_name: str | None = None
    run_attempt: int | None = None
    status: str
    conclusion: str | None = None
    head_branch: str | None = None
    head_sha: str = ""
    html_url: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    steps: list[WorkflowStep] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    runner_name: str | None = None


class WorkflowJobEvent(Payload):
    action: str
    workflow_job: WorkflowJob
    repository: Repository
    sender: User | None = None


class RunLink(Payload):
    """The workflow run behind a deployment, when GitHub Actions made it."""

    name: str | None = None
    run_number: int | None = None
    html_url: str | None = None


class Deployment(Payload):
    id: int | None = None
    sha: str = ""
    ref: str = ""
    task: str | None = None
    environment: str = ""
    description: str | None = None
    creator: User | None = None
    production_environment: bool | None = None


class DeploymentEvent(Payload):
    action: str
    deployment: Deployment
    workflow_run: RunLink | None = None
    repository: Repository
    sender: User | None = None


class DeploymentStatus(Payload):
    state: str
    description: str | None = None
    environment: str | None = None
    target_url: str | None = None
    log_url: str | None = None
    environment_url: str | None = None
    creator: User | None = None


class DeploymentStatusEvent(Payload):
    deployment_status: DeploymentStatus
    deployment: Deployment
    workflow_run: RunLink | None = None
    repository: Repository
    sender: User | None = None


class ReviewComment(Payload):
    html_url: str
    body: str | None = None
    user: User
    path: str = ""
    line: int | None = None
    original_line: int | None = None
    start_line: int | None = None
    original_start_line: int | None = None
    diff_hunk: str | None = None
    subject_type: str | None = None


class ReviewCommentEvent(Payload):
    action: str
    comment: ReviewComment
    pull_request: PullRequest
    repository: Repository
    sender: User


class DiscussionCategory(Payload):
    name: str


class Discussion(Numbered):
    html_url: str
    user: User | None = None
    state_reason: str | None = None
    category: DiscussionCategory | None = None
    answer_chosen_by: User | None = None


class DiscussionEvent(Payload):
    action: str
    discussion: Discussion
    answer: Comment | None = None
    repository: Repository
    sender: User


class DiscussionCommentEvent(Payload):
    action: str
    comment: Comment
    discussion: Discussion
    repository: Repository
    sender: User


class AlertPackage(Payload):
    ecosystem: str = ""
    name: str = ""


class AlertDependency(Payload):
    package: AlertPackage = Field(default_factory=AlertPackage)
    manifest_path: str | None = None
    scope: str | None = None


class PatchedVersion(Payload):
    identifier: str


class DependabotVulnerability(Payload):
    package: AlertPackage = Field(default_factory=AlertPackage)
    severity: str | None = None
    vulnerable_version_range: str | None = None
    first_patched_version: PatchedVersion | None = None


class DependabotAdvisory(Payload):
    ghsa_id: str | None = None
    cve_id: str | None = None
    summary: str = ""
    severity: str | None = None


class DependabotAlert(Payload):
    number: int
    state: str | None = None
    html_url: str | None = None
    dependency: AlertDependency = Field(default_factory=AlertDependency)
    security_advisory: DependabotAdvisory = Field(default_factory=DependabotAdvisory)
    security_vulnerability: DependabotVulnerability | None = None
    dismissed_by: User | None = None
    dismissed_reason: str | None = None
    dismissed_comment: str | None = None


class DependabotAlertEvent(Payload):
    action: str
    alert: DependabotAlert
    repository: Repository
    sender: User | None = None


class SecretScanningAlert(Payload):
    """A leaked secret's alert. The payload may carry the secret itself: it is not modelled,
    so no message can show it."""

    number: int
    html_url: str | None = None
    secret_type: str | None = None
    secret_type_display_name: str | None = None
    validity: str | None = None
    resolution: str | None = None
    resolved_by: User | None = None
    resolution_comment: str | None = None
    push_protection_bypassed: bool | None = None
    push_protection_bypassed_by: User | None = None


class SecretScanningAlertEvent(Payload):
    action: str
    alert: SecretScanningAlert
    repository: Repository
    sender: User | None = None


class CodeScanningRule(Payload):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    severity: str | None = None
    security_severity_level: str | None = None


class CodeScanningTool(Payload):
    name: str = ""


class CodeScanningLocation(Payload):
    path: str | None = None
    start_line: int | None = None


class CodeScanningInstance(Payload):
    ref: str | None = None
    commit_sha: str | None = None
    location: CodeScanningLocation | None = None


class CodeScanningAlert(Payload):
    number: int
    html_url: str | None = None
    rule: CodeScanningRule = Field(default_factory=CodeScanningRule)
    tool: CodeScanningTool = Field(default_factory=CodeScanningTool)
    most_recent_instance: CodeScanningInstance | None = None
    instances: list[CodeScanningInstance] = Field(default_factory=list)
    dismissed_by: User | None = None
    dismissed_reason: str | None = None
    dismissed_comment: str | None = None


class CodeScanningAlertEvent(Payload):
    action: str
    alert: CodeScanningAlert
    ref: str | None = None
    commit_oid: str | None = None
    repository: Repository
    sender: User | None = None


class StarredRepository(Repository):
    stargazers_count: int | None = None
    forks_count: int | None = None


class StarEvent(Payload):
    action: str
    repository: StarredRepository
    sender: User


class ForkEvent(Payload):
    forkee: Repository
    repository: StarredRepository
    sender: User
