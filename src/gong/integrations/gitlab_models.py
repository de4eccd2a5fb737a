"""GitLab's webhook payloads as typed models: only the fields the messages use.

Unknown fields are ignored and types are checked (:class:`~gong.integrations.source.Payload`);
:mod:`gong.integrations.gitlab` names the events and builds their messages from these (Codeup
sends GitLab-shaped pushes, read with :class:`PushEvent`).
"""

from __future__ import annotations

from pydantic import Field

from gong.integrations.source import Payload

__all__ = [
    "Author",
    "Build",
    "Environment",
    "IssueAttributes",
    "IssueEvent",
    "JobCommit",
    "JobEvent",
    "Label",
    "MergeRequestAttributes",
    "MergeRequestChanges",
    "MergeRequestEvent",
    "NoteAttributes",
    "NoteEvent",
    "Noted",
    "NotedCommit",
    "PipelineAttributes",
    "PipelineCommit",
    "PipelineEvent",
    "PipelineMergeRequest",
    "Project",
    "PushCommit",
    "PushEvent",
    "ReleaseEvent",
    "Repository",
    "ReviewerChange",
    "User",
]


class User(Payload):
    name: str = ""
    username: str | None = None

    @property
    def shown(self) -> str:
        return self.name or self.username or "someone"


class Project(Payload):
    path_with_namespace: str
    web_url: str | None = None

    def url(self, path: str) -> str | None:
        return f"{self.web_url}/-/{path}" if self.web_url else None


class Repository(Payload):
    name: str = ""
    homepage: str | None = None


class Author(Payload):
    name: str = ""


class PushCommit(Payload):
    id: str
    message: str = ""
    url: str | None = None
    author: Author = Field(default_factory=Author)


class PushEvent(Payload):
    ref: str
    before: str = ""
    after: str = ""
    user_name: str | None = None
    user_username: str | None = None
    project: Project | None = None
    repository: Repository | None = None
    commits: list[PushCommit] = Field(default_factory=list)
    total_commits_count: int | None = None


class Label(Payload):
    title: str


class ReviewerChange(Payload):
    previous: list[User] | None = None
    current: list[User] | None = None


class MergeRequestChanges(Payload):
    reviewers: ReviewerChange | None = None


class MergeRequestAttributes(Payload):
    iid: int
    title: str
    url: str | None = None
    action: str | None = None
    source_branch: str = ""
    target_branch: str = ""
    description: str | None = None
    draft: bool | None = None
    work_in_progress: bool | None = None


class MergeRequestEvent(Payload):
    user: User
    project: Project
    object_attributes: MergeRequestAttributes
    labels: list[Label] = Field(default_factory=list)
    reviewers: list[User] = Field(default_factory=list)
    changes: MergeRequestChanges = Field(default_factory=MergeRequestChanges)


class IssueAttributes(Payload):
    iid: int
    title: str
    url: str | None = None
    action: str | None = None
    description: str | None = None


class IssueEvent(Payload):
    user: User
    project: Project
    object_attributes: IssueAttributes
    labels: list[Label] = Field(default_factory=list)
    assignees: list[User] = Field(default_factory=list)


class NoteAttributes(Payload):
    note: str
    noteable_type: str
    url: str | None = None


class Noted(Payload):
    """The merge request, issue or snippet a comment is on."""

    iid: int | None = None
    id: int | None = None
    title: str = ""


class NotedCommit(Payload):
    id: str
    message: str = ""


class NoteEvent(Payload):
    user: User
    project: Project
    object_attributes: NoteAttributes
    merge_request: Noted | None = None
    issue: Noted | None = None
    snippet: Noted | None = None
    commit: NotedCommit | None = None


class PipelineAttributes(Payload):
    id: int
    ref: str
    tag: bool = False
    sha: str
    source: str | None = None
    status: str
    created_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None


class Build(Payload):
    id: int
    name: str
    stage: str = ""
    status: str
    allow_failure: bool | None = False
    failure_reason: str | None = None


class PipelineCommit(Payload):
    id: str
    message: str = ""
    url: str | None = None
    author: Author = Field(default_factory=Author)


class PipelineMergeRequest(Payload):
    iid: int
    title: str
    url: str | None = None


class PipelineEvent(Payload):
    user: User | None = None
    project: Project
    object_attributes: PipelineAttributes
    builds: list[Build] = Field(default_factory=list)
    commit: PipelineCommit | None = None
    merge_request: PipelineMergeRequest | None = None


class JobCommit(Payload):
    sha: str
    message: str = ""
    author_name: str = ""


class Environment(Payload):
    name: str
    action: str | None = None


class JobEvent(Payload):
    ref: str
    tag: bool = False
    sha: str
    build_id: int
    build_name: str
    build_stage: str = ""
    build_status: str
    build_duration: float | None = None
    build_failure_reason: str | None = None
    build_allow_failure: bool | None = False
    project_name: str = ""
    user: User | None = None
    commit: JobCommit | None = None
    repository: Repository | None = None
    environment: Environment | None = None


class ReleaseEvent(Payload):
    tag: str
    name: str | None = None
    url: str | None = None
    description: str | None = None
    project: Project
