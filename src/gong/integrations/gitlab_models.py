"""GitLab's webhook payloads as typed models: only the fields the messages use.

Unknown fields are ignored and types are checked (:class:`~gong.integrations.source.Payload`);
:mod:`gong.integrations.gitlab` names the events and builds their messages from these (Codeup
sends GitLab-shaped pushes, read with :class:`PushEvent`, and comments, whose diff position
is read with :class:`NotePosition`).
"""

from __future__ import annotations

from pydantic import Field

from gong.integrations.source import Payload

__all__ = [
    "AssetLink",
    "Assets",
    "Author",
    "Build",
    "DeploymentEvent",
    "EmojiAttributes",
    "EmojiEvent",
    "EmojiNote",
    "Environment",
    "FeatureFlag",
    "FeatureFlagEvent",
    "IssueAttributes",
    "IssueEvent",
    "JobCommit",
    "JobEvent",
    "Label",
    "MergeRequestAttributes",
    "MergeRequestChanges",
    "MergeRequestEvent",
    "NoteAttributes",
    "NoteDiff",
    "NoteEvent",
    "NotePosition",
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
    "Runner",
    "User",
    "Wiki",
    "WikiPageAttributes",
    "WikiPageEvent",
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


class NoteDiff(Payload):
    """The file a comment on a commit's diff is on (older GitLab: ``st_diff``)."""

    new_path: str | None = None
    old_path: str | None = None


class NotePosition(NoteDiff):
    """Where a comment on a diff (``DiffNote``) sits: the file and the line."""

    new_line: int | None = None
    old_line: int | None = None


class NoteAttributes(Payload):
    note: str
    noteable_type: str
    url: str | None = None
    #: ``create`` or ``update`` (GitLab 16.11 and later).
    action: str | None = None
    #: ``DiffNote`` for a comment on a line of a diff.
    type: str | None = None
    position: NotePosition | None = None
    st_diff: NoteDiff | None = None
    #: ``<sha of the path>_<old line>_<new line>`` for a comment on a line.
    line_code: str | None = None


class Noted(Payload):
    """The merge request, issue or snippet a comment is on."""

    iid: int | None = None
    id: int | None = None
    title: str = ""
    url: str | None = None


class NotedCommit(Payload):
    id: str
    message: str = ""
    url: str | None = None


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


class Runner(Payload):
    id: int | None = None
    description: str | None = None


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
    #: The pipeline's name (``workflow:name``), GitLab 15.8 and later.
    name: str | None = None


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
    retries_count: int | None = None
    pipeline_id: int | None = None
    project_name: str = ""
    user: User | None = None
    commit: JobCommit | None = None
    repository: Repository | None = None
    #: Sent by newer GitLab (16 and later); older payloads have ``repository`` only.
    project: Project | None = None
    runner: Runner | None = None
    environment: Environment | None = None


class AssetLink(Payload):
    name: str = ""
    url: str


class Assets(Payload):
    #: The links added to the release (the source archives GitLab adds to every release are
    #: left out of the message).
    links: list[AssetLink] = Field(default_factory=list)


class ReleaseEvent(Payload):
    tag: str
    name: str | None = None
    url: str | None = None
    description: str | None = None
    action: str | None = None
    project: Project
    assets: Assets = Field(default_factory=Assets)
    commit: PushCommit | None = None


class DeploymentEvent(Payload):
    status: str
    environment: str
    project: Project
    environment_tier: str | None = None
    environment_external_url: str | None = None
    deployable_id: int | None = None
    #: The job that ran the deployment; null for deployments made through the API.
    deployable_url: str | None = None
    deployment_id: int | None = None
    #: Not sent by GitLab today; read when a newer version adds it.
    ref: str | None = None
    short_sha: str | None = None
    commit_url: str | None = None
    commit_title: str | None = None
    user: User | None = None
    user_url: str | None = None


class FeatureFlag(Payload):
    name: str
    description: str | None = None
    active: bool


class FeatureFlagEvent(Payload):
    project: Project
    user: User | None = None
    object_attributes: FeatureFlag


class Wiki(Payload):
    web_url: str | None = None


class WikiPageAttributes(Payload):
    title: str
    action: str | None = None
    message: str | None = None
    url: str | None = None
    diff_url: str | None = None


class WikiPageEvent(Payload):
    user: User
    project: Project
    wiki: Wiki = Field(default_factory=Wiki)
    object_attributes: WikiPageAttributes


class EmojiAttributes(Payload):
    name: str
    action: str | None = None
    awardable_type: str = ""
    awarded_on_url: str | None = None


class EmojiNote(Payload):
    """The comment an emoji reaction is on."""

    note: str = ""
    noteable_type: str = ""
    url: str | None = None


class EmojiEvent(Payload):
    user: User
    project: Project
    object_attributes: EmojiAttributes
    note: EmojiNote | None = None
    merge_request: Noted | None = None
    issue: Noted | None = None
    snippet: Noted | None = None
    commit: NotedCommit | None = None
