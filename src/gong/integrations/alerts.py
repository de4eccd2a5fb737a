"""One digest message for a group of alerts, shared by Alertmanager and Grafana.

Both send Alertmanager's webhook format (Grafana adds values, silence, dashboard and panel links
and a title). A notification becomes one message: a heading with the counts, the labels and
annotations every alert shares, then each alert (firing first) with the labels that set it apart,
its summary and description, values, since when or for how long, and links; alerts that do not
fit the 20 000 bytes are counted ("and 12 more alerts").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from gong.integrations.source import Payload
from gong.integrations.text import (
    action_card,
    cut,
    duration,
    escape,
    labels_line,
    link,
    plural,
    timestamp,
)
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import Message

__all__ = [
    "Alert",
    "Notification",
    "Style",
    "default_title",
    "digest",
    "group_name",
    "is_test",
]

#: Annotations shown as text, in this order; the others are listed as ``key: value``.
_TEXT_ANNOTATIONS = ("summary", "description", "message")
#: A line break inside a paragraph: two spaces and a newline (CommonMark and DingTalk agree).
_BREAK = "  \n"
#: Annotations that are links.
_LINK_ANNOTATIONS = {"runbook_url": "Runbook", "dashboard_url": "Dashboard"}


class Alert(Payload):
    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str | None = Field(default=None, alias="startsAt")
    ends_at: str | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    # Grafana's additions.
    silence_url: str | None = Field(default=None, alias="silenceURL")
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    panel_url: str | None = Field(default=None, alias="panelURL")
    image_url: str | None = Field(default=None, alias="imageURL")
    values: dict[str, float | int | str | None] | None = None
    value_string: str | None = Field(default=None, alias="valueString")

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.annotations.get("summary") or "Alert"

    @property
    def firing(self) -> bool:
        return self.status != "resolved"


class Notification(Payload):
    status: str
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str | None = Field(default=None, alias="externalURL")
    alerts: list[Alert]
    truncated_alerts: int | None = Field(default=0, alias="truncatedAlerts")
    group_key: str | None = Field(default=None, alias="groupKey")
    # Grafana's additions.
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Style:
    """What differs between the senders: the name and the button."""

    source: str
    button: str


def _url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, or None (Alertmanager may send ``http://:9093``)."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return value.strip()


def _number(value: float | int | str | None) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "null" if value is None else str(value)


def _when(alert: Alert) -> str:
    started = timestamp(alert.starts_at)
    ended = timestamp(alert.ends_at)
    if not alert.firing:
        if started is not None and ended is not None and ended >= started:
            lasted = duration((ended - started).total_seconds())
            return f"Resolved at {ended:%Y-%m-%d %H:%M:%S} UTC after {lasted}"
        return "Resolved"
    return f"Firing since {started:%Y-%m-%d %H:%M:%S} UTC" if started else "Firing"


def _annotations(annotations: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Text lines and link snippets from annotations (values cut, markdown escaped)."""
    lines = []
    for key in _TEXT_ANNOTATIONS:
        value = annotations.get(key, "").strip()
        if value:  # people write markdown here (**bold**); keep it, on one line, without HTML
            lines.append(cut(" ".join(value.split()), 300).replace("<", "\\<"))
    links = []
    for key, value in annotations.items():
        if key in _TEXT_ANNOTATIONS or not value.strip():
            continue
        if key in _LINK_ANNOTATIONS and _url(value):
            links.append(link(_LINK_ANNOTATIONS[key], value))
        else:
            lines.append(f"{escape(key)}: {escape(cut(' '.join(value.split()), 200))}")
    return lines, links


def _block(alert: Alert, notification: Notification, several: bool) -> str:
    mark = "🔥" if alert.firing else "✅"
    shared = notification.common_labels if several else {}
    own = [(k, v) for k, v in alert.labels.items() if k != "alertname" and shared.get(k) != v]
    head = f"**{mark} {escape(cut(alert.name, 120))}**"
    if own:
        head += " · " + labels_line(own)
    common = notification.common_annotations if several else {}
    mine = {k: v for k, v in alert.annotations.items() if common.get(k) != v}
    lines, links = _annotations(mine)
    if alert.values:
        values = " · ".join(f"{escape(k)}={_number(v)}" for k, v in alert.values.items())
        lines.append(f"Values: {values}")
    elif alert.value_string and alert.value_string.strip():
        lines.append(f"Value: {escape(cut(alert.value_string.strip(), 300))}")
    for label, url in (
        ("Source", alert.generator_url),
        ("Silence", alert.silence_url if alert.firing else None),
        ("Dashboard", alert.dashboard_url),
        ("Panel", alert.panel_url),
    ):
        if _url(url):
            links.append(link(label, url))
    foot = _when(alert) + ("" if not links else " · " + " · ".join(links))
    parts = [head, *lines, foot]
    image = _url(alert.image_url)
    if image:
        parts.append(f"![panel]({image})")
    return _BREAK.join(parts)


def _heading(notification: Notification, firing: int, resolved: int) -> str:
    if firing and resolved:
        counts = f"{firing} firing, {resolved} resolved"
    elif firing:
        counts = f"{plural(firing, 'alert')} firing"
    else:
        counts = f"{plural(resolved, 'alert')} resolved"
    mark = "🔥" if firing else "✅"
    return f"#### {mark} {counts}"


def group_name(notification: Notification) -> str:
    for labels in (notification.group_labels, notification.common_labels):
        if labels.get("alertname"):
            return labels["alertname"]
    if notification.alerts:
        return notification.alerts[0].name
    return "alerts"


def digest(
    notification: Notification,
    style: Style,
    title: Callable[[Notification, int, int], str],
) -> Message:
    """The one message for a notification: heading, shared labels, then each alert that fits."""
    alerts = sorted(notification.alerts, key=lambda a: not a.firing)  # firing first, stable
    firing = sum(1 for a in alerts if a.firing)
    resolved = len(alerts) - firing
    several = len(alerts) > 1
    parts = [_heading(notification, firing, resolved)]
    if several:
        common = [(k, v) for k, v in notification.common_labels.items() if k != "alertname"]
        name = notification.common_labels.get("alertname")
        if name:
            intro = f"**{escape(name)}**" + (" · " + labels_line(common) if common else "")
        else:
            intro = "Common labels: " + labels_line(common) if common else ""
        lines, links = _annotations(notification.common_annotations)
        if links:
            lines.append(" · ".join(links))
        shared = [intro, *lines] if intro else lines
        if shared:
            parts.append(_BREAK.join(shared))
    budget = MAX_BODY_BYTES - 3_000 - sum(len(p.encode()) + 2 for p in parts)
    used = 0
    shown = 0
    for alert in alerts:
        block = _block(alert, notification, several)
        size = len(block.encode()) + 2
        if used + size > budget:
            break
        parts.append(block)
        used += size
        shown += 1
    hidden = len(alerts) - shown
    if hidden:
        left_firing = sum(1 for a in alerts[shown:] if a.firing)
        parts.append(
            f"… and {plural(hidden, 'more alert')} ({left_firing} firing, "
            f"{hidden - left_firing} resolved)"
        )
    if notification.truncated_alerts:
        parts.append(
            f"{style.source} left out {plural(notification.truncated_alerts, 'more alert')} "
            "(max_alerts)"
        )
    message_title = title(notification, firing, resolved)
    return action_card(
        message_title, "\n\n".join(parts), style.button, _url(notification.external_url)
    )


def default_title(notification: Notification, firing: int, resolved: int) -> str:
    """Alertmanager's own subject: ``[FIRING:3] ICMP ping failed``."""
    status = "FIRING" if firing else "RESOLVED"
    count = firing if firing else resolved
    return f"[{status}:{count}] {group_name(notification)}"


def is_test(document: dict[str, Any]) -> bool:
    """Grafana's "Test" button sends a group key of the form ``test-<fingerprint>-<unix time>``."""
    key = document.get("groupKey")
    return isinstance(key, str) and key.startswith("test-")
