"""JIRA webhooks: issues created, updated (which fields changed, from → to), deleted; comments.

The event is named in the body: ``webhookEvent`` without its ``jira:`` prefix, and for issue
updates ``issue_event_type_name`` too (``issue_updated.issue_assigned``). Jira Server's old way of
delivering a comment (an issue update with a ``comment`` object) reads as a comment. With a
source secret, ``X-Hub-Signature`` must be ``sha256=`` + hex HMAC-SHA256 of the raw body (Jira
Cloud admin webhooks with a secret); other JIRA webhooks are unsigned, so leave it unset there.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gong.domain.models import RobotKind
from gong.integrations.fitting import fit_lines
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    Ignored,
    IntegrationConfig,
    Named,
    Payload,
    Source,
    bad_signature,
    dispatch,
    hmac_hex,
    invalid,
    parse,
    same,
)
from gong.integrations.text import action_card, cut, escape, link, markdown, quote
from gong.protocol.messages import Message

__all__ = ["Jira", "adf_text"]


class Project(Payload):
    key: str = ""
    name: str = ""


class Fields(Payload):
    summary: str = ""
    issuetype: Named | None = None
    priority: Named | None = None
    status: Named | None = None
    assignee: Named | None = None
    description: str | dict[str, Any] | None = None
    labels: list[str] | None = None
    project: Project | None = None


class Issue(Payload):
    self_url: str = Field(default="", alias="self")
    key: str
    fields: Fields = Field(default_factory=Fields)

    @property
    def url(self) -> str | None:
        """``https://x.atlassian.net/rest/api/2/issue/10040`` → ``…/browse/KEY``."""
        at = self.self_url.find("/rest/api/")
        return f"{self.self_url[:at]}/browse/{self.key}" if at > 0 else None

    @property
    def kind(self) -> str:
        return self.fields.issuetype.shown if self.fields.issuetype else "issue"


class ChangeItem(Payload):
    field: str
    from_string: str | None = Field(default=None, alias="fromString")
    to_string: str | None = Field(default=None, alias="toString")


class Changelog(Payload):
    items: list[ChangeItem] = Field(default_factory=list)


class Comment(Payload):
    body: str | dict[str, Any] | None = None
    author: Named | None = None
    update_author: Named | None = Field(default=None, alias="updateAuthor")


class JiraEvent(Payload):
    webhook_event: str = Field(alias="webhookEvent")
    user: Named | None = None
    issue: Issue
    changelog: Changelog | None = None
    comment: Comment | None = None

    @property
    def actor(self) -> str:
        if self.user is not None:
            return self.user.shown
        if self.comment is not None:
            who = self.comment.update_author or self.comment.author
            if who is not None:
                return who.shown
        return "someone"


def adf_text(value: str | dict[str, Any] | None) -> str:
    """Plain text of a JIRA body: wiki text as is, Atlassian Document Format flattened."""
    if value is None or isinstance(value, str):
        return value or ""
    lines: list[str] = []

    def walk(node: Any, line: list[str]) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            line.append(node["text"])
        for child in node.get("content") or []:
            if isinstance(child, dict) and child.get("type") in (
                "paragraph",
                "heading",
                "listItem",
            ):
                inner: list[str] = []
                walk(child, inner)
                lines.append("".join(inner))
            else:
                walk(child, line)

    rest: list[str] = []
    walk(value, rest)
    if rest:
        lines.append("".join(rest))
    return "\n".join(lines)


def _item(issue: Issue) -> str:
    return link(f"{issue.key} {issue.fields.summary}".strip(), issue.url)


def _facts(issue: Issue) -> str:
    fields = issue.fields
    facts = []
    if fields.priority is not None:
        facts.append(f"Priority **{escape(fields.priority.shown)}**")
    if fields.status is not None:
        facts.append(f"Status **{escape(fields.status.shown)}**")
    assignee = fields.assignee.shown if fields.assignee else "Unassigned"
    facts.append(f"Assignee **{escape(assignee)}**")
    return " · ".join(facts)


def _title(issue: Issue, what: str) -> str:
    summary = issue.fields.summary.strip()
    return f"[{issue.key}] {what}: {summary}" if summary else f"[{issue.key}] {what}"


def _card(event: JiraEvent, title: str, parts: list[str]) -> Message:
    return action_card(title, "\n\n".join(p for p in parts if p), "View issue", event.issue.url)


def issue_created(document: dict[str, Any]) -> Message:
    event = parse(JiraEvent, document, "JIRA issue_created")
    issue = event.issue
    parts = [
        f"**{escape(event.actor)}** created {escape(issue.kind)} {_item(issue)}",
        _facts(issue),
    ]
    if issue.fields.labels:
        parts.append("Labels: " + ", ".join(escape(label) for label in issue.fields.labels))
    parts.append(quote(adf_text(issue.fields.description), literal=True))
    return _card(event, _title(issue, f"{issue.kind} created"), parts)


def _value(text: str | None) -> str:
    if text is None or text == "":
        return "(none)"
    return escape(cut(" ".join(text.split()), 80))


def issue_updated(document: dict[str, Any]) -> Message:
    event = parse(JiraEvent, document, "JIRA issue_updated")
    issue = event.issue
    if event.comment is not None and event.comment.body:
        return _comment(event, "commented on")
    items = event.changelog.items if event.changelog else []
    if not items:
        raise Ignored("issue_updated", f"of {issue.key} changed no field")
    lines = []
    for item in items:
        name = escape(item.field[:1].upper() + item.field[1:])
        if item.field.lower() == "description":
            lines.append(f"- **{name}** changed")
        else:
            lines.append(f"- **{name}**: {_value(item.from_string)} → {_value(item.to_string)}")
    shown = fit_lines(lines, 12_000, lambda n: f"- and {n} more changes", keep=15)
    parts = [
        f"**{escape(event.actor)}** updated {escape(issue.kind)} {_item(issue)}",
        "\n".join(shown),
    ]
    described = [i for i in items if i.field.lower() == "description" and i.to_string]
    if described:
        parts.append(quote(described[0].to_string, limit=300, lines=5, literal=True))
    first = min(items, key=lambda i: _RANK.get(i.field.lower(), len(_RANK)))
    if first.field.lower() == "description":
        change = "description changed"
    else:
        was, now = cut(first.from_string or "(none)", 30), cut(first.to_string or "(none)", 30)
        change = f"{first.field} {was} → {now}"
    more = f" (+{len(items) - 1})" if len(items) > 1 else ""
    return _card(event, _title(issue, f"{change}{more}"), parts)


#: Which change names an update in its title, most telling first.
_RANK = {"status": 0, "assignee": 1, "priority": 2, "resolution": 3, "summary": 4}


def _comment(event: JiraEvent, verb: str) -> Message:
    issue = event.issue
    body = adf_text(event.comment.body if event.comment else None)
    parts = [f"**{escape(event.actor)}** {verb} {escape(issue.kind)} {_item(issue)}"]
    if verb != "deleted a comment on":
        parts.append(quote(body, literal=True))
    word = {"commented on": "new comment", "edited a comment on": "comment edited"}.get(
        verb, "comment deleted"
    )
    return _card(event, _title(issue, word), parts)


def comment_created(document: dict[str, Any]) -> Message:
    return _comment(parse(JiraEvent, document, "JIRA comment_created"), "commented on")


def comment_updated(document: dict[str, Any]) -> Message:
    return _comment(parse(JiraEvent, document, "JIRA comment_updated"), "edited a comment on")


def comment_deleted(document: dict[str, Any]) -> Message:
    return _comment(parse(JiraEvent, document, "JIRA comment_deleted"), "deleted a comment on")


def issue_deleted(document: dict[str, Any]) -> Message:
    event = parse(JiraEvent, document, "JIRA issue_deleted")
    issue = event.issue
    summary = escape(f"{issue.key} {issue.fields.summary}".strip())
    text = f"**{escape(event.actor)}** deleted {escape(issue.kind)} **{summary}**"
    return markdown(_title(issue, f"{issue.kind} deleted"), text)


BUILDERS: dict[str, Builder] = {
    "issue_created": issue_created,
    "issue_updated": issue_updated,
    "issue_deleted": issue_deleted,
    "comment_created": comment_created,
    "comment_updated": comment_updated,
    "comment_deleted": comment_deleted,
}


class Jira(Source):
    kind = RobotKind.JIRA
    label = "JIRA"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        given = delivery.header("X-Hub-Signature")
        if not given:
            raise bad_signature(
                "X-Hub-Signature is missing: set the same secret in JIRA's webhook settings"
            )
        if not same(given, "sha256=" + hmac_hex(secret, delivery.body)):
            raise bad_signature("X-Hub-Signature does not match the body and the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        name = document.get("webhookEvent")
        if not isinstance(name, str) or not name:
            raise invalid("no webhookEvent in the body: this is not a JIRA webhook payload")
        name = name.removeprefix("jira:")
        kind = document.get("issue_event_type_name")
        if name == "issue_updated" and isinstance(kind, str) and kind:
            name = f"{name}.{kind}"
        return dispatch(name, document, BUILDERS)
