"""Sentry webhooks: issue alerts, metric alerts, issues, comments, errors and installations.

Two senders. An **internal integration** (the integration platform) names the resource in
``Sentry-Hook-Resource`` and the action in the body: the event is ``<resource>.<action>``
(``event_alert.triggered``, ``metric_alert.critical``, ``issue.resolved``, …). The legacy
**WebHooks plugin** sends one kind of body, an issue alert, without that header; it is named
``event_alert.triggered`` too, so one filter serves both.

Issue alerts and errors show the title, culprit, level, project, environment and release, the
first exception and its last in-app frames in a short code block, and a "View in Sentry" button.
Metric alerts carry :class:`~gong.domain.alerts.AlertFacts` (one alert per rule and projects), so
that ``metric_alert.resolved`` resolves the critical or warning message in place.

With a source secret (the integration's client secret), ``Sentry-Hook-Signature`` must be the hex
HMAC-SHA256 of the raw body; a delivery without it is refused, so the legacy plugin, which cannot
sign, needs a robot without a source secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from gong.domain.alerts import AlertFacts, AlertItem
from gong.domain.models import RobotKind
from gong.integrations.fitting import fit
from gong.integrations.source import (
    Delivery,
    Event,
    IntegrationConfig,
    Payload,
    Rendered,
    Source,
    Zoned,
    bad_signature,
    dispatch,
    hmac_hex,
    in_zone,
    invalid,
    parse,
    same,
)
from gong.integrations.text import (
    action_card,
    cut,
    escape,
    fenced,
    first_line,
    format_local,
    markdown,
    plural,
    quote,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = ["Sentry"]

#: Frames shown in the code block (the last ones: where it happened).
MAX_FRAMES = 5
#: Characters of one line of the code block.
MAX_CODE_LINE = 160
#: Characters of an exception's value, a title or a culprit.
MAX_TEXT = 300
_MARKS = {"fatal": "🔴", "error": "🔴", "warning": "🟠", "info": "🔵", "debug": "⚪"}


# -- payload models ---------------------------------------------------------------------------


class Frame(Payload):
    filename: str | None = None
    abs_path: str | None = None
    function: str | None = None
    module: str | None = None
    lineno: int | None = None
    in_app: bool | None = None
    context_line: str | None = None

    def lines(self) -> list[str]:
        where = self.filename or self.abs_path or self.module or "?"
        if self.lineno is not None:
            where += f":{self.lineno}"
        head = f"  {where}" + (f" in {self.function}" if self.function else "")
        rows = [_code(head)]
        if self.context_line and self.context_line.strip():
            rows.append(_code("    " + self.context_line.strip()))
        return rows


class Stacktrace(Payload):
    frames: list[Frame] | None = None


class ExceptionValue(Payload):
    type: str | None = None
    value: str | None = None
    stacktrace: Stacktrace | None = None


class Exceptions(Payload):
    values: list[ExceptionValue] | None = None


class SentryEvent(Payload):
    """An event as Sentry sends it in alerts, errors and the legacy plugin."""

    event_id: str | None = None
    title: str | None = None
    message: str | None = None
    culprit: str | None = None
    level: str | None = None
    environment: str | None = None
    #: A version string (some SDKs send an object: not shown then).
    release: Any = None
    tags: list[Any] | dict[str, Any] | None = None
    exception: Exceptions | None = None
    metadata: dict[str, Any] | None = None
    url: str | None = None
    web_url: str | None = None
    datetime: str | None = None

    def tag(self, name: str) -> str | None:
        """A tag's value: tags come as ``[key, value]`` pairs, ``{key, value}`` objects or a map."""
        found: Any = None
        if isinstance(self.tags, dict):
            found = self.tags.get(name)
        else:
            for item in self.tags or []:
                if isinstance(item, list | tuple) and len(item) == 2 and item[0] == name:
                    found = item[1]
                elif isinstance(item, dict) and item.get("key") == name:
                    found = item.get("value")
                if found is not None:
                    break
        return found if isinstance(found, str) and found.strip() else None

    @property
    def shown_title(self) -> str:
        return self.title or first_line(self.message) or "(no title)"


class Actor(Payload):
    type: str | None = None
    name: str | None = None


class Project(Payload):
    slug: str | None = None
    name: str | None = None


class Issue(Payload):
    id: str | None = None
    short_id: str | None = Field(default=None, alias="shortId")
    title: str = "(no title)"
    culprit: str | None = None
    level: str | None = None
    status: str | None = None
    substatus: str | None = None
    count: str | int | None = None
    user_count: int | None = Field(default=None, alias="userCount")
    project: Project | None = None
    web_url: str | None = None
    permalink: str | None = None

    @property
    def link(self) -> str | None:
        return _url(self.web_url) or _url(self.permalink)


class Assignee(Payload):
    type: str | None = None
    name: str | None = None
    email: str | None = None


class IssueData(Payload):
    issue: Issue
    assignee: Assignee | None = None


class IssueEvent(Payload):
    action: str
    data: IssueData
    actor: Actor | None = None


class AlertData(Payload):
    event: SentryEvent
    triggered_rule: str | None = None


class AlertEvent(Payload):
    data: AlertData


class ErrorData(Payload):
    error: SentryEvent


class ErrorEvent(Payload):
    data: ErrorData


class LegacyAlert(Payload):
    """The WebHooks plugin's body."""

    id: str | None = None
    project: str | None = None
    project_name: str | None = None
    project_slug: str | None = None
    culprit: str | None = None
    level: str | None = None
    message: str | None = None
    url: str | None = None
    triggering_rules: list[str] = Field(default_factory=list)
    event: SentryEvent = Field(default_factory=SentryEvent)


class AlertRule(Payload):
    id: str | int | None = None
    name: str = "Metric alert"
    aggregate: str | None = None
    query: str | None = None
    environment: str | None = None
    time_window: int | float | None = None
    projects: list[str] = Field(default_factory=list)


class Incident(Payload):
    id: str | int | None = None
    identifier: str | int | None = None
    title: str | None = None
    alert_rule: AlertRule = Field(default_factory=AlertRule)
    projects: list[str] = Field(default_factory=list)
    date_started: str | None = None
    date_closed: str | None = None


class MetricData(Payload):
    metric_alert: Incident
    description_title: str | None = None
    description_text: str | None = None
    web_url: str | None = None


class MetricEvent(Payload):
    action: str
    data: MetricData


class CommentData(Payload):
    comment: str = ""
    project_slug: str | None = None
    issue_id: int | str | None = None


class CommentEvent(Payload):
    action: str
    data: CommentData
    actor: Actor | None = None


class App(Payload):
    slug: str | None = None


class Organization(Payload):
    slug: str | None = None


class Installation(Payload):
    app: App | None = None
    organization: Organization | None = None


class InstallationData(Payload):
    installation: Installation = Field(default_factory=Installation)


class InstallationEvent(Payload):
    action: str
    data: InstallationData = Field(default_factory=InstallationData)
    actor: Actor | None = None


# -- wording ----------------------------------------------------------------------------------


def _url(value: str | None) -> str | None:
    if not value or len(value) > 2_048:
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.hostname else None


def _one(text: str | None, limit: int = MAX_TEXT) -> str:
    """``text`` on one line, cut to ``limit`` characters (not escaped)."""
    return cut(" ".join((text or "")[: limit * 4].split()), limit)


def _code(text: str) -> str:
    """A line for a code block, cut (:func:`fenced` keeps it from ending the block)."""
    return cut(text[: MAX_CODE_LINE * 4].rstrip(), MAX_CODE_LINE)


def _inline(text: str) -> str:
    """``text`` shown literally (DingTalk's markdown has no inline code)."""
    return escape(text)


def _mark(level: str | None) -> str:
    return _MARKS.get((level or "").lower(), "🔴")


def _who(actor: Actor | None) -> str:
    return actor.name if actor is not None and actor.name else "Sentry"


def _trace(event: SentryEvent) -> str | None:
    """The first exception and its last in-app frames (all frames when none is in-app), as a
    code block; None when the event has no exception."""
    values = event.exception.values if event.exception and event.exception.values else []
    if not values:
        return None
    # Sentry lists chained exceptions oldest first: the last one is what was raised.
    error = values[-1]
    head = ": ".join(p for p in (error.type, _one(error.value)) if p) or "Exception"
    frames = error.stacktrace.frames if error.stacktrace and error.stacktrace.frames else []
    own = [f for f in frames if f.in_app] or frames
    shown = own[-MAX_FRAMES:]
    rows = [_code(head)]
    if len(own) > len(shown):
        rows.append(f"  … {plural(len(own) - len(shown), 'earlier frame')}")
    for frame in shown:
        rows += frame.lines()
    return fenced("\n".join(rows))


def _project_of(url: str | None) -> str | None:
    """The project slug of an event's API URL (``…/projects/<org>/<project>/events/…``)."""
    if not url:
        return None
    parts = urlsplit(url).path.strip("/").split("/")
    if "projects" in parts:
        at = parts.index("projects")
        if len(parts) > at + 2:
            return parts[at + 2]
    return None


def _event_message(
    event: SentryEvent,
    *,
    kind: str,
    project: str | None,
    rule: str | None,
    url: str | None,
    culprit: str | None = None,
    level: str | None = None,
) -> Message:
    level = level or event.level or event.tag("level")
    title = _one(event.shown_title, 200)
    heading = f"#### {_mark(level)} {escape(title)}"
    facts = []
    if rule:
        facts.append(f"{kind} **{escape(_one(rule, 200))}**")
    else:
        facts.append(kind)
    if project:
        facts.append(f"project **{escape(_one(project, 100))}**")
    if level:
        facts.append(f"level **{escape(_one(level, 20))}**")
    parts = [heading, " · ".join(facts)]
    where = culprit or event.culprit
    if where and where.strip():
        parts.append(f"in {_inline(_one(where, 200))}")
    context = []
    environment = event.environment or event.tag("environment")
    if environment:
        context.append(f"environment **{escape(_one(environment, 100))}**")
    release = event.release if isinstance(event.release, str) else None
    release = release or event.tag("release")
    if release:
        context.append(f"release **{escape(_one(release, 100))}**")
    if context:
        parts.append(" · ".join(context))
    trace = _trace(event)
    if trace:
        parts.append(trace)
    elif event.message and event.message.strip() and event.message.strip() != title:
        parts.append(quote(event.message, literal=True))
    prefix = f"[{_one(project, 100)}] " if project else ""
    return action_card(f"{prefix}{title}", "\n\n".join(parts), "View in Sentry", _url(url))


# -- builders ---------------------------------------------------------------------------------


def event_alert(document: dict[str, Any]) -> Message:
    alert = parse(AlertEvent, document, "Sentry issue alert")
    event = alert.data.event
    return _event_message(
        event,
        kind="Alert",
        project=_project_of(event.url),
        rule=alert.data.triggered_rule,
        url=event.web_url,
    )


def legacy_alert(document: dict[str, Any]) -> Message:
    alert = parse(LegacyAlert, document, "Sentry WebHooks plugin alert")
    event = alert.event
    if not event.title and alert.message:
        event = event.model_copy(update={"title": alert.message})
    rules = ", ".join(alert.triggering_rules) or None
    return _event_message(
        event,
        kind="Alert",
        project=alert.project_name or alert.project_slug or alert.project,
        rule=rules,
        url=alert.url,
        culprit=alert.culprit,
        level=alert.level,
    )


def error_created(document: dict[str, Any]) -> Message:
    error = parse(ErrorEvent, document, "Sentry error").data.error
    return _event_message(
        error, kind="New error", project=_project_of(error.url), rule=None, url=error.web_url
    )


_ISSUE_VERBS = {
    "created": ("🆕", "New issue"),
    "resolved": ("✅", "resolved"),
    "assigned": ("👤", "assigned"),
    "ignored": ("🔕", "archived"),
    "archived": ("🔕", "archived"),
    "unresolved": ("↩️", "unresolved"),
}


def issue(document: dict[str, Any]) -> Message:
    event = parse(IssueEvent, document, "Sentry issue")
    item = event.data.issue
    mark, verb = _ISSUE_VERBS.get(event.action, ("🔔", event.action))
    name = item.short_id or (f"#{item.id}" if item.id else "issue")
    title = _one(item.title, 200)
    project = item.project.slug or item.project.name if item.project else None
    if event.action == "created":
        heading = f"#### {mark} New issue {escape(name)}: {escape(title)}"
        title_line = f"New issue {name}: {title}"
    else:
        heading = f"#### {mark} Issue {escape(name)} {verb}: {escape(title)}"
        title_line = f"Issue {name} {verb}: {title}"
    facts = []
    if event.action == "assigned":
        assignee = event.data.assignee
        whom = assignee.name or assignee.email if assignee else None
        team = assignee is not None and assignee.type == "team"
        target = f"team {whom}" if team and whom else (whom or "someone")
        facts.append(
            f"assigned to **{escape(_one(target, 100))}** by **{escape(_who(event.actor))}**"
        )
    elif event.action != "created":
        facts.append(f"by **{escape(_who(event.actor))}**")
    if project:
        facts.append(f"project **{escape(_one(project, 100))}**")
    if item.level:
        facts.append(f"level **{escape(_one(item.level, 20))}**")
    parts = [heading, " · ".join(facts)]
    if item.culprit and item.culprit.strip():
        parts.append(f"in {_inline(_one(item.culprit, 200))}")
    counts = []
    count = str(item.count).strip() if item.count is not None else ""
    if count.isdigit():
        counts.append(plural(int(count), "event"))
    if item.user_count:
        counts.append(plural(item.user_count, "user"))
    if item.substatus and event.action in ("created", "unresolved"):
        counts.append(escape(item.substatus.replace("_", " ")))
    if counts:
        parts.append(" · ".join(counts))
    prefix = f"[{_one(project, 100)}] " if project else ""
    return action_card(f"{prefix}{title_line}", "\n\n".join(parts), "View in Sentry", item.link)


def comment(document: dict[str, Any]) -> Message:
    event = parse(CommentEvent, document, "Sentry comment")
    data = event.data
    verb = {"created": "commented", "updated": "edited a comment", "deleted": "deleted a comment"}
    did = verb.get(event.action, event.action)
    on = f"issue {data.issue_id}" if data.issue_id is not None else "an issue"
    where = f" in **{escape(_one(data.project_slug, 100))}**" if data.project_slug else ""
    text = f"💬 **{escape(_who(event.actor))}** {escape(did)} on {escape(on)}{where}"
    body = quote(data.comment, literal=True) if event.action != "deleted" else ""
    if body:
        text += "\n\n" + body
    prefix = f"[{_one(data.project_slug, 100)}] " if data.project_slug else ""
    return markdown(f"{prefix}{_who(event.actor)} {did} on {on}", text)


def installation(document: dict[str, Any]) -> Message:
    event = parse(InstallationEvent, document, "Sentry installation")
    found = event.data.installation
    app = found.app.slug if found.app and found.app.slug else "integration"
    org = found.organization.slug if found.organization and found.organization.slug else None
    done = "installed" if event.action == "created" else "uninstalled"
    mark = "✅" if event.action == "created" else "⚪"
    where = f" in **{escape(org)}**" if org else ""
    who = escape(_who(event.actor))
    text = f"{mark} Sentry integration **{escape(app)}** {done}{where} by **{who}**"
    return markdown(f"Sentry integration {app} {done}", text)


def _fingerprint(rule: AlertRule, projects: Sequence[str]) -> str:
    """One alert per rule and projects, so a resolve finds the critical or warning message."""
    rule_id = rule.id if rule.id is not None else rule.name
    given = f"sentry:metric:{rule_id}:{','.join(sorted(projects))}"
    if len(given) <= 64:
        return given
    return "sentry:metric:" + hashlib.sha256(given.encode()).hexdigest()[:32]


def _ms(value: str | None) -> int | None:
    parsed = timestamp(value)
    return int(parsed.timestamp() * 1000) if parsed is not None else None


_METRIC = {
    "critical": ("🔥", "Critical"),
    "warning": ("⚠️", "Warning"),
    "resolved": ("✅", "Resolved"),
}


def metric_alert(document: dict[str, Any], tz: dt.tzinfo) -> Rendered:
    event = parse(MetricEvent, document, "Sentry metric alert")
    incident = event.data.metric_alert
    rule = incident.alert_rule
    mark, word = _METRIC.get(event.action, ("🔔", event.action.capitalize()))
    title = _one(event.data.description_title or f"{word}: {rule.name}", 200)
    projects = incident.projects or rule.projects
    parts = [f"#### {mark} {escape(title)}"]
    description = (event.data.description_text or "").replace("\\n", "\n")
    if description.strip():
        rows = [escape(_one(row, MAX_TEXT)) for row in description.splitlines()[:6] if row.strip()]
        parts.append("  \n".join(rows))
    facts = [f"rule **{escape(_one(rule.name, 200))}**"]
    if projects:
        facts.append("project " + ", ".join(f"**{escape(_one(p, 100))}**" for p in projects[:10]))
    if rule.aggregate:
        window = f" over {rule.time_window:g} min" if rule.time_window else ""
        facts.append(f"{_inline(_one(rule.aggregate, 100))}{window}")
    if rule.environment:
        facts.append(f"environment **{escape(_one(rule.environment, 100))}**")
    parts.append(" · ".join(facts))
    started = _ms(incident.date_started)
    closed = _ms(incident.date_closed)
    when = []
    if incident.title or incident.identifier is not None:
        name = escape(_one(incident.title, 100)) if incident.title else "incident"
        number = f" #{escape(str(incident.identifier))}" if incident.identifier is not None else ""
        when.append(f"Incident {name}{number}")
    if started is not None:
        when.append(f"started {format_local(started, tz)}")
    if closed is not None and event.action == "resolved":
        when.append(f"closed {format_local(closed, tz)}")
    if when:
        parts.append(" · ".join(when))
    firing = event.action != "resolved"
    item = AlertItem(
        fingerprint=_fingerprint(rule, projects),
        firing=firing,
        starts_at=started,
        ends_at=None if firing else closed,
        labels={"alertname": rule.name, "project": ",".join(projects)},
    )
    facts_title = f"[{word.upper()}] {_one(rule.name, 200)}"
    message = action_card(title, "\n\n".join(parts), "View in Sentry", _url(event.data.web_url))
    return Rendered(fit(message), AlertFacts(items=(item,), title=facts_title))


#: Events that write no time.
BUILDERS: dict[str, Callable[[dict[str, Any]], Message]] = {
    "event_alert.triggered": event_alert,
    "error.created": error_created,
    "issue.created": issue,
    "issue.resolved": issue,
    "issue.assigned": issue,
    "issue.ignored": issue,
    "issue.archived": issue,
    "issue.unresolved": issue,
    "comment.created": comment,
    "comment.updated": comment,
    "comment.deleted": comment,
    "installation.created": installation,
    "installation.deleted": installation,
}
#: Metric alerts write the incident's times on the group's clock.
ZONED_BUILDERS: dict[str, Zoned] = {
    "metric_alert.critical": metric_alert,
    "metric_alert.warning": metric_alert,
    "metric_alert.resolved": metric_alert,
}
#: Every error Sentry sees is noise for most groups: shown only when the robot opts in.
QUIET = frozenset({"error.created"})


def _is_legacy(document: dict[str, Any]) -> bool:
    return "triggering_rules" in document or ("project_slug" in document and "event" in document)


class Sentry(Source):
    kind = RobotKind.SENTRY
    label = "Sentry"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        given = delivery.header("Sentry-Hook-Signature")
        if given is None:
            raise bad_signature(
                "Sentry-Hook-Signature is missing: this robot has a source secret, so it takes "
                "only signed deliveries from an internal integration whose client secret is the "
                "source secret (the legacy WebHooks plugin cannot sign: use a robot without one)"
            )
        if not same(given.strip().lower(), hmac_hex(secret, delivery.body)):
            raise bad_signature(
                "Sentry-Hook-Signature does not match the body and the source secret "
                "(the integration's client secret)"
            )

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        resource = (delivery.header("Sentry-Hook-Resource") or "").strip().lower()
        builders: dict[str, Any] = {**BUILDERS, **in_zone(ZONED_BUILDERS, delivery.tz)}
        if not resource:
            if not _is_legacy(document):
                raise invalid(
                    "no Sentry-Hook-Resource header, and the body is not a WebHooks plugin "
                    "alert: this is not a Sentry webhook"
                )
            return dispatch("event_alert.triggered", document, {"event_alert": legacy_alert})
        action = document.get("action")
        if not isinstance(action, str) or not action.strip():
            raise invalid(f"the {resource} webhook has no action: this is not a Sentry webhook")
        return dispatch(f"{resource}.{action.strip().lower()}", document, builders, QUIET)
