"""Harbor webhooks: artifacts pushed, pulled and deleted, vulnerability scans, quotas,
replications and tag retention runs.

The event is the payload's ``type`` in lower case (``push_artifact``, ``scanning_completed``, …);
the ``CloudEvents`` payload format is read too (``harbor.artifact.pushed`` → ``push_artifact``).
Pulls are opt-in: every ``docker pull`` (and every scanner's) would post one. A completed scan
shows the vulnerability counts by severity, the worst first. Harbor's payload has no link to the
artifact's page (that needs the project's id), so the message names the artifact's full pull
reference and the button opens the registry's Harbor. Times are on the group's clock.

Harbor does not sign its webhooks: it sends the policy's **Auth Header** verbatim in
``Authorization``. With a source secret the header must be the secret or ``Bearer <secret>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from gong.domain.models import RobotKind
from gong.integrations.source import (
    Delivery,
    Event,
    IntegrationConfig,
    Payload,
    Source,
    Zoned,
    bad_signature,
    dispatch,
    in_zone,
    invalid,
    parse,
    same,
)
from gong.integrations.text import (
    action_card,
    cut,
    duration,
    escape,
    format_local,
    plural,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = ["Harbor"]

#: Artifacts listed in one message; the rest are counted.
MAX_ARTIFACTS = 10
#: Severities as Harbor's scanners name them, the worst first.
SEVERITIES = ("Critical", "High", "Medium", "Low", "Negligible", "Unknown", "None")
_SEVERITY_MARKS = {"Critical": "🔴", "High": "🔴", "Medium": "🟠", "Low": "🟡"}
#: CloudEvents types → the Default format's.
CLOUD_EVENTS = {
    "harbor.artifact.pushed": "PUSH_ARTIFACT",
    "harbor.artifact.pulled": "PULL_ARTIFACT",
    "harbor.artifact.deleted": "DELETE_ARTIFACT",
    "harbor.scan.completed": "SCANNING_COMPLETED",
    "harbor.scan.failed": "SCANNING_FAILED",
    "harbor.scan.stopped": "SCANNING_STOPPED",
    "harbor.quota.exceeded": "QUOTA_EXCEED",
    "harbor.quota.warned": "QUOTA_WARNING",
    "harbor.replication.status.changed": "REPLICATION",
    "harbor.tag_retention.finished": "TAG_RETENTION",
}


# -- payload models ---------------------------------------------------------------------------


class VulnerabilityCounts(Payload):
    total: int | None = None
    fixable: int | None = None
    summary: dict[str, int] | None = None


class Scanner(Payload):
    name: str | None = None
    version: str | None = None


class Report(Payload):
    scan_status: str | None = None
    severity: str | None = None
    duration: int | float | None = None
    summary: VulnerabilityCounts | None = None
    end_time: str | None = None
    scanner: Scanner | None = None


class Resource(Payload):
    digest: str | None = None
    tag: str | None = None
    resource_url: str | None = None
    scan_overview: dict[str, Report] | None = None

    def report(self) -> Report | None:
        """The vulnerability report (the first with counts, else the first)."""
        reports = list((self.scan_overview or {}).values())
        return next((r for r in reports if r.summary is not None), reports[0] if reports else None)


class Repository(Payload):
    name: str | None = None
    namespace: str | None = None
    repo_full_name: str | None = None
    repo_type: str | None = None


class ArtifactInfo(Payload):
    type: str | None = None
    status: str | None = None
    name_tag: str | None = None
    fail_reason: str | None = None


class Endpoint(Payload):
    registry_name: str | None = None
    registry_type: str | None = None
    endpoint: str | None = None
    namespace: str | None = None

    @property
    def shown(self) -> str:
        where = self.registry_name or self.endpoint or self.registry_type or "?"
        return f"{where}/{self.namespace}" if self.namespace else where


class Replication(Payload):
    harbor_hostname: str | None = None
    job_status: str | None = None
    trigger_type: str | None = None
    policy_creator: str | None = None
    src_resource: Endpoint | None = None
    dest_resource: Endpoint | None = None
    successful_artifact: list[ArtifactInfo] | None = None
    failed_artifact: list[ArtifactInfo] | None = None


class Retention(Payload):
    total: int | None = None
    retained: int | None = None
    harbor_hostname: str | None = None
    project_name: str | None = None
    status: str | None = Field(default=None, alias="result")
    deleted_artifact: list[ArtifactInfo] | None = None


class EventData(Payload):
    resources: list[Resource] | None = None
    repository: Repository | None = None
    replication: Replication | None = None
    retention: Retention | None = None
    custom_attributes: dict[str, Any] | None = None


class Notification(Payload):
    type: str
    occur_at: int | float | None = None
    operator: str | None = None
    event_data: EventData = Field(default_factory=EventData)


# -- wording ----------------------------------------------------------------------------------


def _one(text: str | None, limit: int = 200) -> str:
    return cut(" ".join((text or "")[: limit * 4].split()), limit)


def _inline(text: str) -> str:
    """An artifact or repository name in bold (DingTalk's markdown has no inline code)."""
    return f"**{escape(text)}**"


def _ref(resource: Resource, repo: str) -> str:
    """``harbor/alpine:3.8``, or ``harbor/alpine@sha256:954b378c375d`` without a real tag."""
    tag = resource.tag or ""
    if tag and tag != resource.digest:
        return f"{repo}:{tag}"
    digest = resource.digest or ""
    algorithm, _, value = digest.partition(":")
    return f"{repo}@{algorithm}:{value[:12]}" if value else repo or "artifact"


def _host(notification: Notification) -> str | None:
    """The registry's host, from a resource URL (``harbor.example.com/lib/app:1``)."""
    data = notification.event_data
    for resource in data.resources or []:
        if resource.resource_url:
            host = resource.resource_url.split("/", 1)[0].strip()
            if host and " " not in host and ("." in host or ":" in host or host == "localhost"):
                return host
    for name in (
        data.replication.harbor_hostname if data.replication else None,
        data.retention.harbor_hostname if data.retention else None,
    ):
        if name and name.strip() and " " not in name.strip():
            return name.strip()
    return None


def _harbor_url(notification: Notification) -> str | None:
    host = _host(notification)
    return f"https://{host}/harbor/projects" if host else None


def _repo(notification: Notification) -> str:
    repo = notification.event_data.repository
    if repo is None:
        return ""
    return repo.repo_full_name or "/".join(p for p in (repo.namespace, repo.name) if p)


def _project(notification: Notification) -> str | None:
    repo = notification.event_data.repository
    if repo is not None and repo.namespace:
        return repo.namespace
    retention = notification.event_data.retention
    return retention.project_name if retention is not None else None


def _when(notification: Notification, tz: dt.tzinfo) -> str | None:
    at = notification.occur_at
    if at is None or not 0 < at < 32_503_680_000:
        return None
    return format_local(int(at * 1000), tz)


def _operator(notification: Notification) -> str:
    return _one(notification.operator, 100) or "Harbor"


def _artifacts(notification: Notification) -> list[str]:
    repo = _repo(notification)
    return [_ref(r, repo) for r in notification.event_data.resources or []]


def _listed(names: list[str]) -> str:
    """Artifacts as code, the first :data:`MAX_ARTIFACTS`, then how many more."""
    shown = [_inline(_one(n, 200)) for n in names[:MAX_ARTIFACTS]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _card(notification: Notification, title: str, parts: list[str]) -> Message:
    project = _project(notification)
    prefix = f"[{_one(project, 100)}] " if project else ""
    return action_card(
        prefix + title, "\n\n".join(p for p in parts if p), "Open Harbor", _harbor_url(notification)
    )


def _artifact_event(verb: str, mark: str) -> Zoned:
    def build(document: dict[str, Any], tz: dt.tzinfo) -> Message:
        notification = parse(Notification, document, "Harbor notification")
        names = _artifacts(notification) or [_repo(notification) or "an artifact"]
        who = _operator(notification)
        heading = f"#### {mark} {escape(who)} {verb} {_listed(names)}"
        facts = []
        when = _when(notification, tz)
        if when:
            facts.append(f"at {when}")
        repo = notification.event_data.repository
        if repo is not None and repo.repo_type:
            facts.append(f"{escape(repo.repo_type)} repository")
        digests = [r.digest for r in notification.event_data.resources or [] if r.digest]
        if len(digests) == 1:
            facts.append(f"digest {escape(_one(digests[0], 100))}")
        first = names[0] if len(names) == 1 else plural(len(names), "artifact")
        return _card(notification, f"{who} {verb} {first}", [heading, " · ".join(facts)])

    return build


def _counts(report: Report) -> str:
    """``**High** 4 · **Unknown** 1``, the worst severity first."""
    counts = (report.summary.summary if report.summary else None) or {}
    known = [s for s in SEVERITIES if counts.get(s)]
    others = sorted(k for k, v in counts.items() if v and k not in SEVERITIES)
    return " · ".join(f"**{escape(_one(s, 30))}** {counts[s]}" for s in [*known, *others][:12])


def _scanner(report: Report, tz: dt.tzinfo) -> str:
    facts = []
    if report.scanner is not None and report.scanner.name:
        version = f" {report.scanner.version}" if report.scanner.version else ""
        facts.append(f"scanned by {escape(_one(report.scanner.name + version, 100))}")
    if report.duration:
        facts.append(f"took {duration(float(report.duration))}")
    ended = timestamp(report.end_time)
    if ended is not None:
        facts.append(f"at {format_local(int(ended.timestamp() * 1000), tz)}")
    return " · ".join(facts)


def scanning_completed(document: dict[str, Any], tz: dt.tzinfo) -> Message:
    notification = parse(Notification, document, "Harbor scan notification")
    repo = _repo(notification)
    resources = notification.event_data.resources or []
    if not resources:
        raise invalid("Harbor scan notification: event_data.resources is empty")
    resource = resources[0]
    name = _ref(resource, repo)
    report = resource.report() or Report()
    counts = report.summary
    total = counts.total if counts is not None and counts.total is not None else 0
    severity = report.severity if report.severity in SEVERITIES else None
    if total:
        mark = _SEVERITY_MARKS.get(severity or "", "⚪")
        found = plural(total, "vulnerability", "vulnerabilities")
        fixable = f" ({counts.fixable} fixable)" if counts and counts.fixable is not None else ""
        heading = f"#### {mark} Scan of {escape(_one(name))}: {found}{fixable}"
        title = f"{mark} {name}: {found}" + (f", worst {severity}" if severity else "")
    else:
        heading = f"#### ✅ Scan of {escape(_one(name))}: no vulnerabilities found"
        title = f"✅ {name}: no vulnerabilities"
    parts = [heading]
    if total:
        parts.append(_counts(report))
    parts.append(_scanner(report, tz))
    if len(resources) > 1:
        parts.append(f"and {plural(len(resources) - 1, 'more artifact')} in this notification")
    return _card(notification, title, parts)


def _scan_ended(word: str, mark: str) -> Zoned:
    def build(document: dict[str, Any], tz: dt.tzinfo) -> Message:
        notification = parse(Notification, document, "Harbor scan notification")
        names = _artifacts(notification) or [_repo(notification) or "an artifact"]
        resources = notification.event_data.resources or []
        report = (resources[0].report() if resources else None) or Report()
        heading = f"#### {mark} Scan of {_listed(names)} {word}"
        facts = []
        if report.scan_status:
            facts.append(f"status **{escape(_one(report.scan_status, 50))}**")
        scanner = _scanner(report, tz)
        if scanner:
            facts.append(scanner)
        elif _when(notification, tz):
            facts.append(f"at {_when(notification, tz)}")
        return _card(
            notification, f"{mark} Scan of {names[0]} {word}", [heading, " · ".join(facts)]
        )

    return build


def _details(notification: Notification) -> str:
    attributes = notification.event_data.custom_attributes or {}
    details = attributes.get("Details") or attributes.get("details")
    return escape(_one(details, 500)) if isinstance(details, str) else ""


def _quota(word: str, mark: str) -> Zoned:
    def build(document: dict[str, Any], tz: dt.tzinfo) -> Message:
        notification = parse(Notification, document, "Harbor quota notification")
        project = _project(notification) or "a project"
        heading = f"#### {mark} Quota {word} in project **{escape(_one(project, 100))}**"
        facts = []
        repo = _repo(notification)
        if repo:
            facts.append(f"pushing to {_inline(_one(repo))}")
        digests = [r.digest for r in notification.event_data.resources or [] if r.digest]
        if digests:
            facts.append(f"digest {escape(_one(digests[0]))}")
        when = _when(notification, tz)
        if when:
            facts.append(f"at {when}")
        parts = [heading, _details(notification), " · ".join(facts)]
        return action_card(
            f"{mark} Harbor quota {word} in {project}",
            "\n\n".join(p for p in parts if p),
            "Open Harbor",
            _harbor_url(notification),
        )

    return build


_JOB_MARKS = {"success": "✅", "succeed": "✅", "failed": "❌", "error": "❌", "stopped": "⚪"}


def _artifact_lines(items: list[ArtifactInfo], label: str) -> str:
    names = [
        _one(a.name_tag, 200) + (f" ({_one(a.fail_reason, 200)})" if a.fail_reason else "")
        for a in items
        if a.name_tag
    ]
    if not names:
        return ""
    shown = ", ".join(escape(n) for n in names[:MAX_ARTIFACTS])
    more = len(names) - min(len(names), MAX_ARTIFACTS)
    return f"{label}: {shown}" + (f" and {more} more" if more else "")


def replication(document: dict[str, Any], tz: dt.tzinfo) -> Message:
    notification = parse(Notification, document, "Harbor replication notification")
    job = notification.event_data.replication
    if job is None:
        raise invalid("Harbor replication notification: event_data.replication is missing")
    status = job.job_status or "changed"
    mark = _JOB_MARKS.get(status.lower(), "🔁")
    source = job.src_resource.shown if job.src_resource else "?"
    target = job.dest_resource.shown if job.dest_resource else "?"
    route = f"{escape(_one(source, 200))} → {escape(_one(target, 200))}"
    heading = f"#### {mark} Replication {escape(_one(status, 50))}: {route}"
    facts = []
    if job.trigger_type:
        facts.append(f"trigger {escape(_one(job.trigger_type, 50))}")
    if job.policy_creator:
        facts.append(f"policy by **{escape(_one(job.policy_creator, 100))}**")
    when = _when(notification, tz)
    if when:
        facts.append(f"at {when}")
    parts = [
        heading,
        " · ".join(facts),
        _artifact_lines(job.successful_artifact or [], "Replicated"),
        _artifact_lines(job.failed_artifact or [], "Failed"),
    ]
    return _card(notification, f"{mark} Harbor replication {status}: {source} → {target}", parts)


def tag_retention(document: dict[str, Any], tz: dt.tzinfo) -> Message:
    notification = parse(Notification, document, "Harbor tag retention notification")
    run = notification.event_data.retention
    if run is None:
        raise invalid("Harbor tag retention notification: event_data.retention is missing")
    project = run.project_name or "a project"
    status = run.status or "finished"
    mark = (
        "✅"
        if status.lower() in ("success", "succeed")
        else "❌"
        if status.lower() in ("failed", "error")
        else "🧹"
    )
    where = f"project **{escape(_one(project, 100))}**"
    heading = f"#### {mark} Tag retention in {where}: {escape(_one(status, 50))}"
    facts = []
    if run.total is not None and run.retained is not None:
        facts.append(f"kept {run.retained} of {plural(run.total, 'artifact')}")
    when = _when(notification, tz)
    if when:
        facts.append(f"at {when}")
    parts = [heading, " · ".join(facts), _artifact_lines(run.deleted_artifact or [], "Deleted")]
    return action_card(
        f"{mark} Harbor tag retention in {project}: {status}",
        "\n\n".join(p for p in parts if p),
        "Open Harbor",
        _harbor_url(notification),
    )


#: Every event writes its time on the group's clock.
ZONED_BUILDERS: dict[str, Zoned] = {
    "push_artifact": _artifact_event("pushed", "📦"),
    "pull_artifact": _artifact_event("pulled", "⬇️"),
    "delete_artifact": _artifact_event("deleted", "🗑️"),
    "scanning_completed": scanning_completed,
    "scanning_failed": _scan_ended("failed", "❌"),
    "scanning_stopped": _scan_ended("stopped", "⚪"),
    "quota_exceed": _quota("exceeded", "🚫"),
    "quota_warning": _quota("near its limit", "⚠️"),
    "replication": replication,
    "tag_retention": tag_retention,
}
#: Every pull (scanners and CI pull too) would post one: shown only when the robot opts in.
QUIET = frozenset({"pull_artifact"})


def _default_format(document: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvents body in the Default format's shape (other bodies as they are)."""
    if "specversion" not in document or not isinstance(document.get("type"), str):
        return document
    kind = document["type"]
    occur = timestamp(document.get("time") if isinstance(document.get("time"), str) else None)
    return {
        "type": CLOUD_EVENTS.get(kind, kind),
        "occur_at": int(occur.timestamp()) if occur is not None else None,
        "operator": document.get("operator"),
        "event_data": document.get("data") if isinstance(document.get("data"), dict) else {},
    }


class Harbor(Source):
    kind = RobotKind.HARBOR
    label = "Harbor"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        header = delivery.header("Authorization")
        if not header or not header.strip():
            raise bad_signature(
                "the Authorization header is missing: set the webhook's Auth Header to the "
                "source secret (or Bearer and the source secret)"
            )
        given = header.strip()
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            given = credentials.strip()
        if not same(given, secret):
            raise bad_signature("the Authorization header does not match the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        normal = _default_format(document)
        kind = normal.get("type")
        if not isinstance(kind, str) or not kind.strip():
            raise invalid("no type in the body: this is not a Harbor webhook")
        name = kind.strip().lower()
        if name.startswith("harbor."):
            name = name.replace(".", "_")
        return dispatch(name, normal, in_zone(ZONED_BUILDERS, delivery.tz), QUIET)
