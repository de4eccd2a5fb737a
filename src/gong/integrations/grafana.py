"""Grafana alerting webhooks (a "Webhook" contact point): one compact message per notification.

Grafana sends Alertmanager's format plus a title, values and silence, dashboard and panel links.
The event is ``firing``, ``resolved``, or ``test`` for the contact point's Test button. With a
source secret, Grafana 12's HMAC header (``X-Grafana-Alerting-Signature`` unless
``grafana_signature_header`` names another) must be hex HMAC-SHA256 of the body, or of
``<timestamp>:<body>`` when ``grafana_timestamp_header`` is set (the timestamp within five minutes
of now); older Grafana can send the secret in ``Authorization`` instead, as for Alertmanager.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gong.domain.models import RobotKind
from gong.integrations.alertmanager import check_authorization
from gong.integrations.alerts import Notification, Style, default_title, digest, is_test
from gong.integrations.source import (
    Delivery,
    Event,
    IntegrationConfig,
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

__all__ = ["MAX_TIMESTAMP_SKEW_S", "Grafana"]

STYLE = Style(source="Grafana", button="Open Grafana")
#: How far a signed timestamp may be from now.
MAX_TIMESTAMP_SKEW_S = 300


def _title(notification: Notification, firing: int, resolved: int) -> str:
    if notification.title and notification.title.strip():
        return " ".join(notification.title.split())
    return default_title(notification, firing, resolved)


def notification(document: dict[str, Any], tz: dt.tzinfo) -> Rendered:
    return digest(parse(Notification, document, "Grafana notification"), STYLE, _title, tz)


def test_notification(document: dict[str, Any], tz: dt.tzinfo) -> Rendered:
    def title(n: Notification, firing: int, resolved: int) -> str:
        return "[TEST] " + _title(n, firing, resolved)

    return digest(parse(Notification, document, "Grafana notification"), STYLE, title, tz)


#: Every event writes times, so every builder takes the group's zone.
ZONED_BUILDERS: dict[str, Zoned] = {
    "firing": notification,
    "resolved": notification,
    "test": test_notification,
}


class Grafana(Source):
    kind = RobotKind.GRAFANA
    label = "Grafana"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        header = config.grafana_signature_header
        given = delivery.header(header)
        if given is None:
            if delivery.header("Authorization"):
                check_authorization(delivery, secret, self.label)
                return
            raise bad_signature(
                f"{header} is missing: set the contact point's HMAC secret to the source secret"
            )
        signed = delivery.body
        if config.grafana_timestamp_header:
            stamp = delivery.header(config.grafana_timestamp_header) or ""
            if not (stamp.isascii() and stamp.isdigit()):
                raise bad_signature(f"{config.grafana_timestamp_header} is missing or not a number")
            if abs(delivery.now_ms // 1000 - int(stamp)) > MAX_TIMESTAMP_SKEW_S:
                raise bad_signature(
                    f"{config.grafana_timestamp_header} is more than five minutes from now"
                )
            signed = stamp.encode() + b":" + delivery.body
        if not same(given.lower(), hmac_hex(secret, signed)):
            raise bad_signature(f"{header} does not match the body and the source secret")

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        status = document.get("status")
        if not isinstance(status, str) or "alerts" not in document:
            raise invalid("no status and alerts in the body: this is not a Grafana notification")
        name = "test" if is_test(document) else status
        return dispatch(name, document, in_zone(ZONED_BUILDERS, delivery.tz))
