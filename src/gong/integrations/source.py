"""The source contract: what a source receives, how its events are named, and the event filter.

An integration turns one delivery from a source (GitHub, GitLab, …) into one DingTalk message:

    verify the source's signature (when the robot has a source secret)
    → decode the JSON document → name the event (unknown: :class:`Ignored`)
    → apply ``only_events`` / ``exclude_events`` (:func:`check_filters`, written once here)
    → build the message from typed models of the payload (:class:`Payload`, :func:`parse`; the
      wording helpers are in :mod:`gong.integrations.text`)
    → cut it to fit 20 000 bytes (:func:`gong.integrations.fitting.fit`)

Failures are catalogue entries: :func:`invalid` (400401, the payload is not what the kind
expects) and :func:`bad_signature` (310001). Nothing here does I/O.
"""

from __future__ import annotations

import abc
import datetime as dt
import fnmatch
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gong.domain.alerts import AlertFacts
from gong.domain.models import IgnoreReason, RobotKind
from gong.integrations.fitting import fit
from gong.integrations.text import generic_message
from gong.protocol.errors import Errors, RobotError
from gong.protocol.messages import Message

__all__ = [
    "Builder",
    "Delivery",
    "Event",
    "IgnoreReason",
    "Ignored",
    "IntegrationConfig",
    "Named",
    "Payload",
    "Rendered",
    "Source",
    "Zoned",
    "bad_signature",
    "check_bearer",
    "check_filters",
    "decode",
    "dispatch",
    "hmac_hex",
    "in_zone",
    "invalid",
    "matches",
    "parse",
    "same",
]

M = TypeVar("M", bound=BaseModel)


# -- signals ----------------------------------------------------------------------------------


class Ignored(Exception):
    """The event is acknowledged and not shown: nobody wants it, or the robot filters it out."""

    def __init__(
        self,
        event: str,
        why: str = "is not shown",
        kind: IgnoreReason = IgnoreReason.NOT_HANDLED,
    ) -> None:
        super().__init__(f'event "{event}" {why}')
        self.event = event
        self.kind = kind
        self.reason = f'event "{event}" {why}'
        #: Whether ``show_unknown`` may post a generic message for it instead.
        self.generic = kind in (IgnoreReason.UNKNOWN, IgnoreReason.NOT_HANDLED)


def invalid(detail: str) -> RobotError:
    """400401: the body is not what this robot's kind expects; ``detail`` says what is wrong."""
    return RobotError(Errors.PAYLOAD_INVALID, detail=detail)


def bad_signature(detail: str) -> RobotError:
    """310001: the source's signature or token is missing or wrong."""
    return RobotError(Errors.SOURCE_SIGNATURE, detail=detail)


# -- what a source receives -------------------------------------------------------------------


class IntegrationConfig(BaseModel):
    """The integration part of ``Robot.settings``, read once per robot version."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source_secret: str | None = None
    only_events: tuple[str, ...] = ()
    exclude_events: tuple[str, ...] = ()
    #: Opt-in events to show as well (successful runs, stars, forks, emoji, …).
    include_events: tuple[str, ...] = ()
    #: Post a short generic message for events Gong has no message for.
    show_unknown: bool = False
    template: str | None = None
    event_field: str | None = None
    travis_public_key: str | None = None
    travis_verify: bool = True
    trello_callback_url: str | None = None
    grafana_signature_header: str = "X-Grafana-Alerting-Signature"
    grafana_timestamp_header: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request from a source, as an integration sees it."""

    #: Header names in lower case; a repeated header keeps its last value.
    headers: Mapping[str, str]
    #: The request body exactly as received (what HMAC signatures cover).
    body: bytes
    #: The JSON document: the body, or the ``payload`` field of a form-encoded body.
    document: bytes
    #: The URL the source was given for this robot (Trello signs it together with the body).
    callback_url: str
    now_ms: int
    #: The robot's group's time zone: every time written into the message is on this clock.
    tz: dt.tzinfo = dt.UTC

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a delivery becomes: the message, and for alert groups the facts the hub keeps
    (fingerprints and states for resolving in place, labels for owners)."""

    message: Message
    alert: AlertFacts | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A named event and how to build its message (called only if the filters let it through)."""

    name: str
    build: Callable[[], Message | Rendered]
    #: Opt-in: shown only when ``include_events`` or ``only_events`` names it (successful or
    #: in-progress CI runs, stars, forks and the like).
    quiet: bool = False


class Source(abc.ABC):
    """One kind of integration robot: how to check, name and render a source's deliveries."""

    kind: ClassVar[RobotKind]
    #: The source's name as people know it ("GitHub").
    label: ClassVar[str]
    #: True when processing is CPU work to run in a worker thread (templates).
    blocking: ClassVar[bool] = False

    def authenticate(self, delivery: Delivery, config: IntegrationConfig) -> None:
        """Check the delivery's signature or token when the robot has a source secret."""
        if config.source_secret:
            self.verify(delivery, config.source_secret, config)

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        """Raise :func:`bad_signature` unless the delivery proves it knows ``secret``."""
        raise bad_signature(f"{self.label} robots have no source secret")

    @abc.abstractmethod
    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        """Name the delivery's event; raise :class:`Ignored` for events not shown."""

    def process(self, delivery: Delivery, config: IntegrationConfig) -> Rendered:
        """The one message for this delivery, checked, filtered, built and cut to fit."""
        self.authenticate(delivery, config)
        return self.message(delivery, config)

    def message(self, delivery: Delivery, config: IntegrationConfig) -> Rendered:
        """The message for a delivery, without the signature check (also used for previews)."""
        document = decode(delivery.document, self.label)
        try:
            event = self.event(delivery, document, config)
        except Ignored as ignored:
            if not (config.show_unknown and ignored.generic):
                raise
            name = ignored.event
            event = Event(name, lambda: self.generic(name, document))
        check_filters(event, config)
        built = event.build()
        if isinstance(built, Rendered):  # alert groups size themselves (gong.integrations.alerts)
            return built
        return Rendered(fit(built))

    def generic(self, event: str, document: dict[str, Any]) -> Message:
        """The short message for an event Gong has no message for (``show_unknown``): the
        source, the event's name, and where it happened when the payload says so."""
        return generic_message(self.label, event, document)


Builder = Callable[[dict[str, Any]], Message | Rendered]
#: A builder that writes times: the document and the zone to write them in.
Zoned = Callable[[dict[str, Any], dt.tzinfo], Message | Rendered]


def in_zone(builders: Mapping[str, Zoned], tz: dt.tzinfo) -> dict[str, Builder]:
    """The builders with ``tz`` bound (the delivery's group's zone), as an event table for
    :func:`dispatch`."""

    def bound(build: Zoned) -> Builder:
        return lambda document: build(document, tz)

    return {name: bound(build) for name, build in builders.items()}


def dispatch(
    name: str,
    document: dict[str, Any],
    builders: Mapping[str, Builder],
    quiet: Iterable[str] = (),
) -> Event:
    """The event ``name`` with its builder from a source's table; unknown names are ignored.

    A name without its own entry uses its nearest family's (``workflow_run.completed.success``
    → ``workflow_run.completed`` → ``workflow_run``). An event is quiet (opt-in) when ``quiet``
    names it or one of its families. Ignored names say whether Gong knows the family at all
    (:attr:`IgnoreReason.NOT_HANDLED`) or not (:attr:`IgnoreReason.UNKNOWN`).
    """
    families = _families(name)
    builder = next((builders[f] for f in families if f in builders), None)
    if builder is None:
        root = families[-1]
        known = any(key == root or key.startswith(root + ".") for key in builders)
        if known:
            raise Ignored(name, "has no message in Gong", IgnoreReason.NOT_HANDLED)
        raise Ignored(name, "is unknown to Gong", IgnoreReason.UNKNOWN)
    opt_in = any(f in quiet for f in families)
    return Event(name, lambda: builder(document), quiet=opt_in)


def _families(name: str) -> list[str]:
    """``a.b.c`` → ``["a.b.c", "a.b", "a"]``."""
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a received signature or token with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def check_bearer(header: str | None, secret: str, missing: str) -> None:
    """``Authorization: Bearer <secret>``, the token compared in constant time; ``missing`` is
    the refusal when there is no such header (it says how to send one)."""
    if not header or not header.strip():
        raise bad_signature(missing)
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise bad_signature("the Authorization scheme is not Bearer")
    if not same(credentials.strip(), secret):
        raise bad_signature("the Authorization bearer token does not match the source secret")


def hmac_hex(secret: str, data: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), data, digest).hexdigest()


def decode(raw: bytes, label: str) -> dict[str, Any]:
    """The delivery's JSON object, or a 400401 that says why it is not one."""
    if not raw.strip():
        raise invalid(f"the body is empty; a {label} webhook sends a JSON document")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise invalid(f"the body is JSON but not an object; a {label} webhook sends an object")
    return document


class Payload(BaseModel):
    """Base of the typed payload models: unknown fields are ignored, types are checked."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def parse(model: type[M], document: Any, what: str) -> M:
    """Validate ``document`` as ``model``; a mismatch is a 400401 naming the first bad field."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        missing = error["type"] == "missing"
        problem = "is missing" if missing else f"is not valid: {error['msg']}"
        raise invalid(f"{what}: field {where} {problem}") from None


class Named(Payload):
    """A person or account as sources name them; whichever field is filled in wins."""

    name: str | None = None
    login: str | None = None
    username: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    full_name: str | None = Field(default=None, alias="fullName")

    @property
    def shown(self) -> str:
        return (
            self.display_name
            or self.full_name
            or self.name
            or self.login
            or self.username
            or "someone"
        )


# -- filters ----------------------------------------------------------------------------------


def matches(pattern: str, name: str) -> bool:
    """``push`` matches ``push``; ``pull_request`` matches ``pull_request.opened``; globs work."""
    return pattern == name or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern)


def _names(pattern: str, name: str) -> bool:
    """Whether ``pattern`` names ``name`` itself: exactly, or by a glob other than ``*``.

    A family (``pipeline``) or ``*`` does not name a quiet event such as ``pipeline.running``.
    """
    if pattern == name:
        return True
    is_glob = any(c in pattern for c in "*?[") and pattern.strip("*.") != ""
    return is_glob and fnmatch.fnmatchcase(name, pattern)


def check_filters(event: Event, config: IntegrationConfig) -> None:
    """Apply the robot's ``only_events`` and ``exclude_events`` (raises :class:`Ignored`).

    A pattern matches an event by its name (``push``), its family (``pull_request`` matches
    ``pull_request.opened``) or a glob (``pipeline.*``). Quiet events (CI runs in progress) are
    shown only when ``include_events`` names them or a family of theirs (``star`` shows
    ``star.created``), or ``only_events`` names them exactly or by a glob; ``*`` alone opts in
    to nothing.
    """
    name = event.name
    opted = any(_names(p, name) for p in config.only_events) or any(
        matches(p, name) and p.strip("*.") != "" for p in config.include_events
    )
    if event.quiet and not opted:
        raise Ignored(
            name, "is shown only when the robot opts in (include_events)", IgnoreReason.OPT_IN
        )
    if config.only_events and not any(
        matches(p, name) for p in (*config.only_events, *config.include_events)
    ):
        raise Ignored(name, "is not in this robot's only_events", IgnoreReason.FILTERED)
    for pattern in config.exclude_events:
        if matches(pattern, name):
            raise Ignored(name, "is in this robot's exclude_events", IgnoreReason.FILTERED)
