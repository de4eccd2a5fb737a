"""Uptime Kuma webhooks (the "Webhook" notification, body "application/json").

The body is ``{"heartbeat": …, "monitor": …, "msg": …}``; the event is the heartbeat's status:
``monitor.down`` (0), ``monitor.up`` (1), ``monitor.pending`` (2, opt-in: a check failed and is
being retried) and ``monitor.maintenance`` (3). Without a heartbeat it is the notification's
**Test** button (``test``, Uptime Kuma's ``<name> Testing``) or another notice, such as a
certificate about to expire (``notice``).

A down monitor is an alert: the message carries :class:`~gong.domain.alerts.AlertFacts` with the
monitor's id as fingerprint, so the next ``monitor.up`` resolves it in place (the group sees a
short resolved line that says how long it was down). The heartbeat's time is written on the
group's clock. With a source secret the request must carry ``Authorization: Bearer <secret>``,
which Uptime Kuma sends when the notification's **Additional Headers** say so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    check_bearer,
    dispatch,
    in_zone,
    invalid,
    parse,
)
from gong.integrations.text import (
    cut,
    escape,
    format_local,
    link,
    markdown,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = ["UptimeKuma"]

#: Heartbeat status → event name.
STATUSES = {0: "monitor.down", 1: "monitor.up", 2: "monitor.pending", 3: "monitor.maintenance"}
#: Characters of the heartbeat's message shown.
MAX_MESSAGE = 500
_SHOWN = {
    "monitor.down": ("🔴", "is down", "DOWN"),
    "monitor.up": ("✅", "is up", "UP"),
    "monitor.pending": ("🟡", "is pending", "PENDING"),
    "monitor.maintenance": ("🔧", "is under maintenance", "MAINTENANCE"),
}


class Heartbeat(Payload):
    monitor_id: int | None = Field(default=None, alias="monitorID")
    status: int
    time: str | None = None
    msg: str | None = None
    ping: float | int | None = None
    timezone: str | None = None


class Monitor(Payload):
    id: int | None = None
    name: str = "Monitor"
    path_name: str | None = Field(default=None, alias="pathName")
    type: str | None = None
    url: str | None = None
    hostname: str | None = None
    port: int | None = None
    docker_container: str | None = None

    def target(self) -> str | None:
        """What the monitor checks, as Uptime Kuma's own notifications name it."""
        kind = self.type or ""
        if kind == "push":
            return None
        if kind == "docker":
            return self.docker_container or None
        host = (self.hostname or "").strip()
        if kind in ("ping", "tailscale-ping"):
            return host or None
        if kind in ("port", "dns", "gamedig", "steam", "mqtt", "smtp", "snmp") or (
            host and not self.url
        ):
            if host and self.port:
                return f"{host}:{self.port}"
            return host or None
        url = (self.url or "").strip()
        return url if url not in ("", "http://", "https://") else (host or None)


class Notification(Payload):
    heartbeat: Heartbeat | None = None
    monitor: Monitor | None = None
    msg: str = ""


def _one(text: str | None, limit: int) -> str:
    return cut(" ".join((text or "")[: limit * 4].split()), limit)


def _inline(text: str) -> str:
    """``text`` shown literally (DingTalk's markdown has no inline code)."""
    return escape(text)


def _web(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _fingerprint(monitor: Monitor) -> str:
    if monitor.id is not None:
        return f"uptime-kuma:{monitor.id}"
    return "uptime-kuma:" + hashlib.sha256(monitor.name.encode()).hexdigest()[:24]


def _ms(value: str | None) -> int | None:
    """Uptime Kuma's heartbeat time (``2023-07-31 18:56:15.374``, UTC) as unix ms."""
    parsed = timestamp(value)
    return int(parsed.timestamp() * 1000) if parsed is not None else None


def heartbeat(document: dict[str, Any], tz: dt.tzinfo) -> Message | Rendered:
    notification = parse(Notification, document, "Uptime Kuma notification")
    beat = notification.heartbeat
    if beat is None:
        raise invalid("Uptime Kuma notification: heartbeat is missing")
    monitor = notification.monitor or Monitor(id=beat.monitor_id)
    name = STATUSES.get(beat.status, "monitor.down")
    mark, phrase, word = _SHOWN[name]
    shown = _one(monitor.path_name or monitor.name, 200) or "Monitor"
    lines = [f"#### {mark} {escape(shown)} {phrase}"]
    target = monitor.target()
    if target:
        target = _one(target, 300)
        kind = f" ({escape(_one(monitor.type, 30))})" if monitor.type else ""
        lines.append((link(target, _web(target)) if _web(target) else _inline(target)) + kind)
    text = beat.msg if beat.msg and beat.msg.strip() else None
    if text:
        lines.append(escape(_one(text, MAX_MESSAGE)))
    facts = []
    at = _ms(beat.time)
    if at is not None:
        facts.append(f"at {format_local(at, tz)}")
    if beat.ping is not None and beat.status == 1:
        facts.append(f"ping {beat.ping:g} ms")
    if facts:
        lines.append(" · ".join(facts))
    title = f"[{word}] {shown}"
    message = markdown(f"{mark} {title}", "\n\n".join(lines))
    if name not in ("monitor.down", "monitor.up"):
        return message
    firing = name == "monitor.down"
    item = AlertItem(
        fingerprint=_fingerprint(monitor),
        firing=firing,
        starts_at=at if firing else None,
        ends_at=None if firing else at,
        labels={"monitor": shown},
    )
    return Rendered(fit(message), AlertFacts(items=(item,), title=title))


def notice(document: dict[str, Any], tz: dt.tzinfo) -> Message:
    notification = parse(Notification, document, "Uptime Kuma notification")
    text = escape(_one(notification.msg, MAX_MESSAGE)) or "(no message)"
    where = (
        f" for **{escape(_one(notification.monitor.name, 200))}**" if notification.monitor else ""
    )
    return markdown(
        f"Uptime Kuma: {_one(notification.msg, 100)}", f"#### 🔔 Uptime Kuma{where}\n\n{text}"
    )


def test_notification(document: dict[str, Any], tz: dt.tzinfo) -> Message:
    notification = parse(Notification, document, "Uptime Kuma notification")
    text = f"✅ Uptime Kuma can reach this robot: **{escape(_one(notification.msg, 200))}**"
    return markdown("Uptime Kuma test notification", text)


#: Every builder takes the group's zone (heartbeats write their time).
ZONED_BUILDERS: dict[str, Zoned] = {
    "monitor.down": heartbeat,
    "monitor.up": heartbeat,
    "monitor.pending": heartbeat,
    "monitor.maintenance": heartbeat,
    "test": test_notification,
    "notice": notice,
}
#: A pending monitor is retrying a failed check: shown only when the robot opts in.
QUIET = frozenset({"monitor.pending"})


class UptimeKuma(Source):
    kind = RobotKind.UPTIME_KUMA
    label = "Uptime Kuma"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        check_bearer(
            delivery.header("Authorization"),
            secret,
            "the Authorization header is missing: set the notification's Additional Headers "
            'to {"Authorization": "Bearer <source secret>"}',
        )

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        if not ({"heartbeat", "monitor", "msg"} & document.keys()):
            raise invalid(
                "no heartbeat, monitor or msg in the body: this is not an Uptime Kuma webhook "
                "(choose the body type application/json)"
            )
        beat = document.get("heartbeat")
        if beat is None:
            message = document.get("msg")
            testing = isinstance(message, str) and message.rstrip().endswith("Testing")
            name = "test" if testing and document.get("monitor") is None else "notice"
        elif isinstance(beat, dict) and isinstance(beat.get("status"), int):
            name = STATUSES.get(beat["status"], f"monitor.status_{beat['status']}")
        else:
            raise invalid("Uptime Kuma notification: heartbeat.status is missing or not a number")
        return dispatch(name, document, in_zone(ZONED_BUILDERS, delivery.tz), QUIET)
