"""One compact message for a group of alerts, shared by Alertmanager and Grafana.

Both send Alertmanager's webhook format (Grafana adds values, silence, dashboard and panel links
and a title). A notification becomes one message that reads the same however many alerts it
holds::

    #### 🔥 26 firing, 4 resolved                          the counts
    **HighCPU** · job=node · severity=critical             what every alert shares, once:
    CPU usage has been above 90% for 5 minutes.            labels, annotations, links
    [Runbook](…) · [Source](…)

    - 🔥 instance=host-00:9100 · CPU at 97% · since 2026-12-05 14:02:11 CST · [Silence](…)
    - ✅ instance=host-26:9100 · CPU at 91% · resolved at 2026-12-05 14:20:00 CST after 17 min

then one list with a line per alert (firing first) holding only what sets it apart: its own
labels, annotation text (cut to :data:`MAX_ALERT_TEXT` characters), value, time (on the group's
clock, :func:`~gong.domain.timetext.format_local`) and links. Every annotation and label is
escaped for markdown. Every alert gets a line: Gong's copy holds up to
:data:`~gong.protocol.limits.MAX_ALERT_MESSAGE_BYTES`, and only past that does a last line count
the rest (``… and 12 more alerts (9 firing, 3 resolved)``); the relay fits the upstream copy to
DingTalk's 20 000 bytes.

Beside the message the builder hands the hub the notification's
:class:`~gong.domain.alerts.AlertFacts` (:func:`facts`): per alert its fingerprint, state, times
and labels, and the group key, so that a later resolved notification updates this message in
place and the owners named by labels are @-mentioned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import Field

from gong.domain.alerts import AlertFacts, AlertItem, fingerprint_of
from gong.integrations.source import Payload, Rendered, invalid
from gong.integrations.text import (
    action_card,
    cut,
    duration,
    escape,
    format_local,
    image,
    labels_line,
    link,
    plural,
    timestamp,
)
from gong.protocol.limits import MAX_ALERT_MESSAGE_BYTES
from gong.protocol.messages import Message

__all__ = [
    "MAX_ALERT_TEXT",
    "Alert",
    "Notification",
    "Style",
    "alert_item",
    "default_title",
    "digest",
    "facts",
    "group_name",
    "is_test",
    "to_ms",
]

#: Annotations shown as text, in this order; the others are listed as ``key: value``.
_TEXT_ANNOTATIONS = ("summary", "description", "message")
#: Annotations that are links, and how they are labelled.
_LINK_ANNOTATIONS = {"runbook_url": "Runbook", "dashboard_url": "Dashboard"}
#: A line break inside a paragraph: two spaces and a newline (CommonMark and DingTalk agree).
_BREAK = "  \n"
#: The most characters of one alert's own annotation text (or value) on its line.
MAX_ALERT_TEXT = 200
#: The most characters of an annotation every alert shares, shown once above the list.
_MAX_SHARED_TEXT = 1_000
#: The most labels (or listed annotations) shown in one place; the rest are counted.
_MAX_PAIRS = 30
_MAX_KEY = 100
#: Longer URLs are not links (no sender makes them; a body could).
_MAX_URL = 2_048
#: Times outside 1970 … 3000 are not times a monitoring system means (unix ms).
_LATEST_MS = 32_503_680_000_000
#: The longest fingerprint kept as sent; longer ones are hashed.
_MAX_FINGERPRINT = 64


class Alert(Payload):
    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str | None = Field(default=None, alias="startsAt")
    ends_at: str | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: str | None = None
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

    def links(self) -> list[tuple[str, str]]:
        """The alert's links as ``(label, url)``, in the order shown: annotations, then the
        sender's (silence only while it fires)."""
        found = [
            (label, url)
            for key, label in _LINK_ANNOTATIONS.items()
            if (url := _url(self.annotations.get(key)))
        ]
        for label, value in (
            ("Source", self.generator_url),
            ("Silence", self.silence_url if self.firing else None),
            ("Dashboard", self.dashboard_url),
            ("Panel", self.panel_url),
        ):
            url = _url(value)
            if url:
                found.append((label, url))
        return found


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


# -- facts ------------------------------------------------------------------------------------


def to_ms(value: str | None) -> int | None:
    """An RFC 3339 time as unix ms; None when unset (Alertmanager's year 1), unreadable or
    absurd (before 1970 or after 3000)."""
    parsed = timestamp(value)
    if parsed is None:
        return None
    ms = int(parsed.timestamp() * 1000)
    return ms if 0 < ms < _LATEST_MS else None


def alert_item(
    fingerprint: str | None,
    firing: bool,
    labels: Mapping[str, str],
    starts_at: int | None,
    ends_at: int | None,
) -> AlertItem:
    """An alert as the hub keeps it. Without a fingerprint, one is made of the labels; an
    over-long one is hashed to fit. ``ends_at`` is kept only for resolved alerts (a firing
    alert's ``endsAt`` is a guess of when it would time out)."""
    given = (fingerprint or "").strip()
    if not given:
        given = fingerprint_of(labels)
    elif len(given) > _MAX_FINGERPRINT:
        given = hashlib.sha256(given.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return AlertItem(
        fingerprint=given,
        firing=firing,
        starts_at=starts_at,
        ends_at=None if firing else ends_at,
        labels=dict(labels),
    )


def facts(alerts: Sequence[Alert], group_key: str | None, title: str) -> AlertFacts:
    """The facts the hub keeps about a notification: one item per alert, in message order."""
    items = tuple(
        alert_item(a.fingerprint, a.firing, a.labels, to_ms(a.starts_at), to_ms(a.ends_at))
        for a in alerts
    )
    return AlertFacts(items=items, group_key=group_key or None, title=title)


# -- wording ----------------------------------------------------------------------------------


def _url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, or None (Alertmanager may send ``http://:9093``)."""
    if not value:
        return None
    value = value.strip()
    if len(value) > _MAX_URL:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return value


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (runs of whitespace as one space), cut to ``limit``, escaped."""
    return escape(cut(" ".join(text[: limit * 4].split()), limit))


def _number(value: float | int | str | None) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "null" if value is None else str(value)


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    """``key=value · …``, escaped, each side cut, at most :data:`_MAX_PAIRS` (the rest counted)."""
    shown = [(cut(k, _MAX_KEY), cut(v, MAX_ALERT_TEXT)) for k, v in pairs[:_MAX_PAIRS]]
    text = labels_line(shown)
    hidden = len(pairs) - len(shown)
    return text + (f" · {plural(hidden, 'more label')}" if hidden else "")


def _annotations(annotations: Mapping[str, str], limit: int) -> list[str]:
    """Annotations as text: summary, description and message (cut to ``limit``), then the
    others as ``key: value``; links are shown with the links (:meth:`Alert.links`)."""
    parts = []
    for key in _TEXT_ANNOTATIONS:
        value = annotations.get(key, "")
        if value.strip():
            parts.append(_one_line(value, limit))
    others = [
        (key, value)
        for key, value in annotations.items()
        if key not in _TEXT_ANNOTATIONS
        and value.strip()
        and not (key in _LINK_ANNOTATIONS and _url(value))
    ]
    for key, value in others[:_MAX_PAIRS]:
        parts.append(f"{escape(cut(key, _MAX_KEY))}: {_one_line(value, MAX_ALERT_TEXT)}")
    if len(others) > _MAX_PAIRS:
        parts.append(plural(len(others) - _MAX_PAIRS, "more annotation"))
    return parts


def _links(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return [link(label, url) for label, url in pairs]


def _value(alert: Alert) -> str | None:
    if alert.values:
        values = ", ".join(f"{k}={_number(v)}" for k, v in alert.values.items())
        return f"value: {escape(cut(values, MAX_ALERT_TEXT))}"
    if alert.value_string and alert.value_string.strip():
        return f"value: {_one_line(alert.value_string, MAX_ALERT_TEXT)}"
    return None


def _when(alert: Alert, tz: dt.tzinfo) -> str | None:
    """Since when it fires, or when it resolved and after how long; None when not known."""
    started = to_ms(alert.starts_at)
    if alert.firing:
        return f"since {format_local(started, tz)}" if started is not None else None
    ended = to_ms(alert.ends_at)
    if ended is None:
        return None
    when = f"resolved at {format_local(ended, tz)}"
    if started is not None and ended >= started:
        when += f" after {duration((ended - started) / 1000)}"
    return when


def _shared(given: Mapping[str, str], each: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """What every alert has in common: the sender's ``common…`` map as far as every alert
    agrees with it, or, when the sender left it out, the intersection of the alerts' maps."""
    if given:
        return {k: v for k, v in given.items() if all(m.get(k) == v for m in each)}
    first, *rest = each
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


@dataclass(frozen=True, slots=True)
class _Shared:
    """The labels, annotations and links that every alert of the notification has."""

    labels: dict[str, str]
    annotations: dict[str, str]
    links: list[tuple[str, str]]
    image: str | None

    @classmethod
    def of(cls, notification: Notification, alerts: Sequence[Alert]) -> _Shared:
        links = alerts[0].links()
        for alert in alerts[1:]:
            theirs = set(alert.links())
            links = [pair for pair in links if pair in theirs]
        images = {_url(a.image_url) for a in alerts}
        return cls(
            labels=_shared(notification.common_labels, [a.labels for a in alerts]),
            annotations=_shared(notification.common_annotations, [a.annotations for a in alerts]),
            links=links,
            image=images.pop() if len(images) == 1 else None,
        )

    def paragraph(self) -> str:
        """The shared part, shown once above the list (empty when nothing is shared)."""
        others = [(k, v) for k, v in self.labels.items() if k != "alertname"]
        name = self.labels.get("alertname")
        if name:
            intro = f"**{_one_line(name, MAX_ALERT_TEXT)}**"
            intro += f" · {_labels(others)}" if others else ""
        else:
            intro = f"Common labels: {_labels(others)}" if others else ""
        lines = [intro] if intro else []
        lines += _annotations(self.annotations, _MAX_SHARED_TEXT)
        if self.links:
            lines.append(" · ".join(_links(self.links)))
        if self.image:
            lines.append(image("panel", self.image))
        return _BREAK.join(lines)


def _line(alert: Alert, shared: _Shared, tz: dt.tzinfo) -> str:
    """One alert's list item: its mark and what sets it apart from the others."""
    parts = []
    if "alertname" not in shared.labels:
        parts.append(f"**{_one_line(alert.name, MAX_ALERT_TEXT)}**")
    own = [
        (k, v) for k, v in alert.labels.items() if k != "alertname" and shared.labels.get(k) != v
    ]
    if own:
        parts.append(_labels(own))
    mine = {k: v for k, v in alert.annotations.items() if shared.annotations.get(k) != v}
    parts += _annotations(mine, MAX_ALERT_TEXT)
    value = _value(alert)
    if value:
        parts.append(value)
    when = _when(alert, tz)
    if when:
        parts.append(when)
    common = set(shared.links)
    parts += _links([pair for pair in alert.links() if pair not in common])
    picture = _url(alert.image_url)
    if picture and not shared.image:
        parts.append(link("Image", picture))
    mark = "🔥" if alert.firing else "✅"
    return f"- {mark} " + " · ".join(parts) if parts else f"- {mark}"


def _heading(firing: int, resolved: int) -> str:
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


def default_title(notification: Notification, firing: int, resolved: int) -> str:
    """Alertmanager's own subject, with both counts when both kinds are in the group:
    ``[FIRING:3] ICMP ping failed``, ``[FIRING:3, RESOLVED:1] …``, ``[RESOLVED:4] …``."""
    name = group_name(notification)
    if firing and resolved:
        return f"[FIRING:{firing}, RESOLVED:{resolved}] {name}"
    if firing:
        return f"[FIRING:{firing}] {name}"
    return f"[RESOLVED:{resolved}] {name}"


def _json_size(text: str) -> int:
    """Bytes ``text`` takes inside a JSON string (quotes left out)."""
    return len(orjson.dumps(text)) - 2


def _wire_size(message: Message) -> int:
    return len(orjson.dumps(message.to_wire()))


def _more(hidden: Sequence[Alert]) -> str:
    firing = sum(1 for a in hidden if a.firing)
    return (
        f"… and {plural(len(hidden), 'more alert')} "
        f"({firing} firing, {len(hidden) - firing} resolved)"
    )


def digest(
    notification: Notification,
    style: Style,
    title: Callable[[Notification, int, int], str],
    tz: dt.tzinfo,
) -> Rendered:
    """The one message for a notification, and the facts the hub keeps about its alerts.

    Raises:
        RobotError: 400401 when the notification holds no alert.
    """
    if not notification.alerts:
        raise invalid(
            f"{style.source} notification: the alerts list is empty, so there is nothing to show"
        )
    alerts = sorted(notification.alerts, key=lambda a: not a.firing)  # firing first, stable
    firing = sum(1 for a in alerts if a.firing)
    resolved = len(alerts) - firing
    shared = _Shared.of(notification, alerts)
    head = [_heading(firing, resolved)]
    paragraph = shared.paragraph()
    if paragraph:
        head.append(paragraph)
    tail = []
    if notification.truncated_alerts and notification.truncated_alerts > 0:
        left_out = plural(notification.truncated_alerts, "more alert")
        tail.append(f"{style.source} left out {left_out} (max_alerts)")
    message_title = title(notification, firing, resolved)
    button_url = _url(notification.external_url)

    def build(lines: Sequence[str], more: str | None) -> Message:
        parts = [*head, "\n".join(lines)] if lines else list(head)
        parts += [more] if more else []
        return action_card(message_title, "\n\n".join([*parts, *tail]), style.button, button_url)

    lines = [_line(alert, shared, tz) for alert in alerts]
    whole = build(lines, None)
    if _wire_size(whole) <= MAX_ALERT_MESSAGE_BYTES:
        return Rendered(whole, facts(alerts, notification.group_key, message_title))
    # Too big for one message even in Gong: the lines that fit, then the rest counted. The
    # room left is measured with the longest count line there can be.
    room = MAX_ALERT_MESSAGE_BYTES - _wire_size(build([], _more(alerts))) - len("\\n\\n")
    kept = 0
    for line in lines:
        room -= _json_size(line) + len("\\n")
        if room < 0:
            break
        kept += 1
    message = build(lines[:kept], _more(alerts[kept:]))
    while kept and _wire_size(message) > MAX_ALERT_MESSAGE_BYTES:  # never expected; a guard
        kept -= 1
        message = build(lines[:kept], _more(alerts[kept:]))
    return Rendered(message, facts(alerts, notification.group_key, message_title))


def is_test(document: dict[str, Any]) -> bool:
    """Grafana's "Test" button sends a group key of the form ``test-<fingerprint>-<unix time>``."""
    key = document.get("groupKey")
    return isinstance(key, str) and key.startswith("test-")
