"""Rules for a robot's integration settings (``Robot.settings``), checked on every change.

The keys and which kinds they apply to:

======================  ===============  ======================================================
key                     kinds            meaning
======================  ===============  ======================================================
source_secret           all but travis   the secret the source signs with or sends
only_events             all              show only these events (names, ``family``, globs)
exclude_events          all              never show these events
include_events          all              also show these opt-in events (successful runs, stars…)
show_unknown            all              post a short message for events Gong has no message for
template                template         the Jinja2 template (required)
event_field             template         dotted path of the payload field naming the event
travis_public_key       travis           PEM key to verify ``Signature`` with (Enterprise)
travis_verify           travis           check ``Signature`` (default true)
trello_callback_url     trello           the callback URL as registered with Trello
grafana_signature_header grafana         the HMAC header name (default X-Grafana-Alerting-…)
grafana_timestamp_header grafana         the timestamp header name, when one is configured
======================  ===============  ======================================================

Other keys of ``Robot.settings`` belong to other features and pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from gong.domain.errors import Invalid
from gong.domain.models import IgnoredEvent, IgnoreReason, RobotKind
from gong.i18n import core
from gong.integrations.source import IntegrationConfig, matches
from gong.integrations.template import template_error
from gong.integrations.travis import load_public_key

__all__ = [
    "INTEGRATION_KEYS",
    "MAX_EVENTS",
    "MAX_EVENT_FIELD",
    "MAX_EVENT_NAME",
    "MAX_HEADER_NAME",
    "MAX_SOURCE_SECRET",
    "MAX_TRAVIS_PUBLIC_KEY",
    "MAX_TRELLO_CALLBACK_URL",
    "SECRET_KEYS",
    "allowed_settings",
    "check_robot_settings",
    "redacted",
    "showing",
]

INTEGRATION_KEYS = frozenset(IntegrationConfig.model_fields)
#: Settings that are secrets: shown to admins only, never logged.
SECRET_KEYS = frozenset({"source_secret"})

_COMMON = frozenset(
    {"source_secret", "only_events", "exclude_events", "include_events", "show_unknown"}
)
_PER_KIND: dict[RobotKind, frozenset[str]] = {
    RobotKind.TEMPLATE: frozenset({"template", "event_field"}),
    RobotKind.TRAVIS: frozenset({"travis_public_key", "travis_verify"}),
    RobotKind.TRELLO: frozenset({"trello_callback_url"}),
    RobotKind.GRAFANA: frozenset({"grafana_signature_header", "grafana_timestamp_header"}),
}


def allowed_settings(kind: RobotKind) -> frozenset[str]:
    """The integration settings a robot of ``kind`` takes (none for a custom robot)."""
    if kind is RobotKind.CUSTOM:
        return frozenset()
    keys = _COMMON | _PER_KIND.get(kind, frozenset())
    return keys - {"source_secret"} if kind is RobotKind.TRAVIS else keys


#: The most names in ``only_events`` or ``exclude_events``.
MAX_EVENTS = 50
#: The longest event name (or family, or glob), in characters.
MAX_EVENT_NAME = 100
#: The longest ``source_secret``, in characters.
MAX_SOURCE_SECRET = 256
#: The longest ``event_field`` (a dotted path), in characters.
MAX_EVENT_FIELD = 200
#: The longest ``travis_public_key`` (a PEM key), in characters.
MAX_TRAVIS_PUBLIC_KEY = 10_000
#: The longest ``trello_callback_url``, in characters.
MAX_TRELLO_CALLBACK_URL = 2_000
#: The longest Grafana header name, in characters.
MAX_HEADER_NAME = 100

_HEADER = re.compile(f"^[A-Za-z0-9-]{{1,{MAX_HEADER_NAME}}}$")


def _events(key: str, value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise Invalid(core.lazy("%(key)s must be a list of event names", key=key))
    names = [v.strip() for v in value]
    if len(names) > MAX_EVENTS:
        raise Invalid(
            core.lazy(
                "%(key)s has %(count)s entries; at most %(most)s",
                key=key,
                count=len(names),
                most=MAX_EVENTS,
            )
        )
    for name in names:
        if not name or len(name) > MAX_EVENT_NAME or any(c.isspace() for c in name):
            raise Invalid(
                core.lazy(
                    "%(key)s: %(name)r is not an event name (1–%(most)s characters, no spaces)",
                    key=key,
                    name=name,
                    most=MAX_EVENT_NAME,
                )
            )
    return list(dict.fromkeys(names))


def _text(key: str, value: Any, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(core.lazy("%(key)s must be a non-empty string", key=key))
    if len(value) > longest:
        raise Invalid(
            core.lazy("%(key)s is longer than %(most)s characters", key=key, most=longest)
        )
    return value


def _check(kind: RobotKind, key: str, value: Any) -> Any:
    if key in ("only_events", "exclude_events", "include_events"):
        return _events(key, value)
    if key == "show_unknown":
        if not isinstance(value, bool):
            raise Invalid(core.lazy("show_unknown must be true or false"))
        return value
    if key == "source_secret":
        secret = _text(key, value, MAX_SOURCE_SECRET)
        if secret != secret.strip() or not secret.isprintable():
            raise Invalid(
                core.lazy("source_secret cannot have spaces at its ends or control characters")
            )
        return secret
    if key == "template":
        if not isinstance(value, str):
            raise Invalid(core.lazy("template must be a string"))
        problem = template_error(value)
        if problem:
            raise Invalid(problem)
        return value
    if key == "event_field":
        return _text(key, value, MAX_EVENT_FIELD)
    if key == "travis_public_key":
        try:
            load_public_key(_text(key, value, MAX_TRAVIS_PUBLIC_KEY))
        except ValueError as exc:
            raise Invalid(
                core.lazy("travis_public_key is not a PEM RSA public key: %(error)s", error=exc)
            ) from None
        return value
    if key == "travis_verify":
        if not isinstance(value, bool):
            raise Invalid(core.lazy("travis_verify must be true or false"))
        return value
    if key == "trello_callback_url":
        url = _text(key, value, MAX_TRELLO_CALLBACK_URL)
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError:  # brackets that hold no IP address, say
            raise Invalid(core.lazy("trello_callback_url must be an http(s) URL")) from None
        if parts.scheme not in ("http", "https") or not hostname:
            raise Invalid(core.lazy("trello_callback_url must be an http(s) URL"))
        return url
    # grafana_signature_header, grafana_timestamp_header
    header = _text(key, value, MAX_HEADER_NAME)
    if not _HEADER.match(header):
        raise Invalid(
            core.lazy("%(key)s must be an HTTP header name (letters, digits and -)", key=key)
        )
    return header


def check_robot_settings(kind: RobotKind, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the integration keys of ``settings`` for a robot of ``kind``; returns them clean.

    Keys set to ``None`` are dropped; keys this module does not own are kept as they are.

    Raises:
        Invalid: naming the key and the rule it breaks.
    """
    clean: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in INTEGRATION_KEYS:
            clean[key] = value
            continue
        if value is None:
            continue
        if kind is RobotKind.CUSTOM:
            raise Invalid(
                core.lazy("%(key)s applies to integration robots, not to custom robots", key=key)
            )
        if key not in allowed_settings(kind):
            if key == "source_secret" and kind is RobotKind.TRAVIS:
                raise Invalid(
                    core.lazy(
                        "Travis CI has no shared secret: it signs with its private key, which a "
                        "travis robot checks (travis_verify, travis_public_key)"
                    )
                )
            raise Invalid(
                core.lazy("%(key)s does not apply to a %(kind)s robot", key=key, kind=kind)
            )
        clean[key] = _check(kind, key, value)
    if kind is RobotKind.TEMPLATE and not clean.get("template"):
        raise Invalid(core.lazy("a template robot needs a template"))
    return clean


def redacted(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` for people who are not admins: secrets replaced by ``"********"``."""
    return {k: ("********" if k in SECRET_KEYS and v else v) for k, v in settings.items()}


def showing(settings: Mapping[str, Any], ignored: Sequence[IgnoredEvent]) -> dict[str, Any]:
    """The settings patch that shows the ``ignored`` events from now on (the robot page's
    "show these"), by what left each one out:

    - filtered: the ``exclude_events`` entries that match it are removed, and it is added to
      ``only_events`` when that list leaves it out;
    - opt-in: it is added to ``include_events``;
    - unknown or not handled: ``show_unknown`` is turned on (a short message for it).

    Raises:
        Invalid: nothing to change (none of the events is ignored for a reason settings undo).
    """
    only = list(settings.get("only_events") or [])
    exclude = list(settings.get("exclude_events") or [])
    include = list(settings.get("include_events") or [])
    show_unknown = bool(settings.get("show_unknown"))
    for item in ignored:
        name = item.event
        if item.reason is IgnoreReason.FILTERED:
            exclude = [p for p in exclude if not matches(p, name)]
            if only and not any(matches(p, name) for p in (*only, *include)):
                only.append(name)
        elif item.reason is IgnoreReason.OPT_IN:
            if name not in include:
                include.append(name)
        else:
            show_unknown = True
    patch: dict[str, Any] = {}
    if only != list(settings.get("only_events") or []):
        patch["only_events"] = only
    if exclude != list(settings.get("exclude_events") or []):
        patch["exclude_events"] = exclude or None
    if include != list(settings.get("include_events") or []):
        patch["include_events"] = include
    if show_unknown != bool(settings.get("show_unknown")):
        patch["show_unknown"] = True
    if not patch:
        raise Invalid(core.lazy("these events are shown already; nothing to change"))
    return patch
