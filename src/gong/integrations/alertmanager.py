"""Prometheus Alertmanager webhooks: one compact message per notification, firing or resolved.

The message (:func:`gong.integrations.alerts.digest`) shows the counts, what all alerts share,
and one line per alert, with times on the group's clock; the hub keeps the alerts' fingerprints
and the group key to resolve the message in place later.

The event is the notification's ``status`` (``firing`` or ``resolved``). Alertmanager does not
sign its webhooks; with a source secret the robot expects it in the ``Authorization`` header,
as ``Bearer <secret>`` (``http_config.authorization.credentials``) or as the password of basic
auth (``http_config.basic_auth``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from gong.domain.models import RobotKind
from gong.integrations.alerts import Notification, Style, default_title, digest
from gong.integrations.source import (
    Delivery,
    Event,
    IntegrationConfig,
    Rendered,
    Source,
    Zoned,
    bad_signature,
    dispatch,
    in_zone,
    invalid,
    parse,
    same,
)

__all__ = ["Alertmanager", "check_authorization"]

STYLE = Style(source="Alertmanager", button="Open Alertmanager")


def check_authorization(delivery: Delivery, secret: str, label: str) -> None:
    """``Authorization: Bearer <secret>``, or basic auth whose password is the secret."""
    header = delivery.header("Authorization")
    if not header:
        raise bad_signature(
            f"the Authorization header is missing: configure {label} to send the source secret "
            "as a bearer token or a basic-auth password"
        )
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise bad_signature("the basic-auth credentials are not base64") from None
        credentials = decoded.partition(":")[2]
    elif scheme.lower() != "bearer":
        # Named only when it is a scheme: a header that is just the secret is not echoed.
        named = f" {scheme!r}" if credentials and scheme.isalpha() and len(scheme) <= 16 else ""
        raise bad_signature(f"the Authorization scheme{named} is not Bearer or Basic")
    if not same(credentials, secret):
        raise bad_signature("the Authorization credentials do not match the source secret")


def notification(document: dict[str, Any], tz: dt.tzinfo) -> Rendered:
    parsed = parse(Notification, document, "Alertmanager notification")
    return digest(parsed, STYLE, default_title, tz)


#: Every event writes times, so every builder takes the group's zone.
ZONED_BUILDERS: dict[str, Zoned] = {"firing": notification, "resolved": notification}


class Alertmanager(Source):
    kind = RobotKind.ALERTMANAGER
    label = "Alertmanager"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        check_authorization(delivery, secret, self.label)

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        status = document.get("status")
        if not isinstance(status, str) or "alerts" not in document:
            raise invalid(
                "no status and alerts in the body: this is not an Alertmanager notification"
            )
        return dispatch(status, document, in_zone(ZONED_BUILDERS, delivery.tz))
