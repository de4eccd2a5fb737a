"""What every integration shares: the source protocol, the event filter, and text that fits.

An integration turns one delivery from a source (GitHub, GitLab, …) into one DingTalk message:

    verify the source's signature (when the robot has a source secret)
    → decode the JSON document → name the event (unknown: :class:`Ignored`)
    → apply ``only_events`` / ``exclude_events`` (:func:`check_filters`, written once here)
    → build the message from typed models of the payload → cut it to fit 20 000 bytes (:func:`fit`)

Failures are catalogue entries: :func:`invalid` (400401, the payload is not what the kind
expects) and :func:`bad_signature` (310001). Nothing here does I/O.
"""

from __future__ import annotations

import abc
import datetime as dt
import fnmatch
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gong.domain.models import RobotKind
from gong.protocol.errors import Errors, RobotError
from gong.protocol.messages import (
    MAX_BODY_BYTES,
    ActionCard,
    ActionCardMessage,
    Markdown,
    MarkdownMessage,
    Message,
    TextMessage,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Builder",
    "Delivery",
    "Event",
    "Ignored",
    "IntegrationConfig",
    "Named",
    "Payload",
    "Source",
    "action_card",
    "bad_signature",
    "check_filters",
    "cut",
    "decode",
    "dispatch",
    "duration",
    "escape",
    "first_line",
    "fit",
    "fit_lines",
    "hmac_hex",
    "invalid",
    "labels_line",
    "link",
    "markdown",
    "parse",
    "plural",
    "quote",
    "same",
    "short_sha",
    "timestamp",
]

#: DingTalk refuses bodies above this many bytes; every built message stays at or below it.
MAX_MESSAGE_BYTES = MAX_BODY_BYTES

M = TypeVar("M", bound=BaseModel)


# -- signals ----------------------------------------------------------------------------------


class Ignored(Exception):
    """The event is acknowledged and not shown: nobody wants it, or the robot filters it out."""

    def __init__(self, event: str, why: str = "is not shown") -> None:
        super().__init__(f'event "{event}" {why}')
        self.event = event
        self.reason = f'event "{event}" {why}'


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

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Event:
    """A named event and how to build its message (called only if the filters let it through)."""

    name: str
    build: Callable[[], Message]
    #: Shown only when ``only_events`` names it (in-progress CI states and the like).
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

    def process(self, delivery: Delivery, config: IntegrationConfig) -> Message:
        """The one message for this delivery, checked, filtered, built and cut to fit."""
        self.authenticate(delivery, config)
        return self.message(delivery, config)

    def message(self, delivery: Delivery, config: IntegrationConfig) -> Message:
        """The message for a delivery, without the signature check (also used for previews)."""
        document = decode(delivery.document, self.label)
        event = self.event(delivery, document, config)
        check_filters(event, config)
        return fit(event.build())


Builder = Callable[[dict[str, Any]], Message]


def dispatch(
    name: str,
    document: dict[str, Any],
    builders: Mapping[str, Builder],
    quiet: Iterable[str] = (),
) -> Event:
    """The event ``name`` with its builder from a source's table; unknown names are ignored.

    A name without its own entry uses its family's (``issue_updated.x`` → ``issue_updated``).
    """
    builder = builders.get(name) or builders.get(name.partition(".")[0])
    if builder is None:
        raise Ignored(name)
    return Event(name, lambda: builder(document), quiet=name in quiet)


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a received signature or token with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


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


# -- filters ----------------------------------------------------------------------------------


def _matches(pattern: str, name: str) -> bool:
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
    shown only when ``only_events`` names them exactly or by a glob.
    """
    name = event.name
    if event.quiet and not any(_names(p, name) for p in config.only_events):
        raise Ignored(name, "is shown only when only_events names it")
    if config.only_events and not any(_matches(p, name) for p in config.only_events):
        raise Ignored(name, "is not in this robot's only_events")
    for pattern in config.exclude_events:
        if _matches(pattern, name):
            raise Ignored(name, "is in this robot's exclude_events")


# -- text -------------------------------------------------------------------------------------

_SPECIAL = re.compile(r"([\\`*\[\]<~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_START = re.compile(r"^(\s*)([#>+|-])(?=\s|#|$)", re.MULTILINE)
_LINE_NUMBER = re.compile(r"^(\s*\d+)([.)])(?=\s|$)", re.MULTILINE)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)


def escape(text: str) -> str:
    """Text shown literally in markdown: emphasis, links, headings, HTML and list marks escaped."""
    text = _SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _LINE_NUMBER.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _safe_url(url: str) -> str:
    return url.strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def link(text: str, url: str | None) -> str:
    """``[text](url)`` with the text escaped; just the escaped text when there is no URL."""
    label = escape(text)
    if not url or not url.strip():
        return label
    return f"[{label}]({_safe_url(url)})"


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in … when something was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def first_line(text: str | None, limit: int = 100) -> str:
    """The first non-empty line, cut to ``limit`` characters."""
    for line in (text or "").splitlines():
        if line.strip():
            return cut(line.strip(), limit)
    return ""


def quote(body: str | None, limit: int = 400, lines: int = 8, *, literal: bool = False) -> str:
    """``body`` as a markdown quote, cut to ``lines`` lines and ``limit`` characters.

    Markdown in the body is kept (sources such as GitHub write markdown) unless ``literal``;
    HTML comments (pull-request templates) are dropped.
    """
    text = _HTML_COMMENT.sub("", body or "").replace("\r\n", "\n").strip()
    if not text:
        return ""
    rows = [row.rstrip() for row in text.split("\n")]
    more = len(rows) > lines
    rows = rows[:lines]
    joined = "\n".join(rows)
    if len(joined) > limit:
        joined, more = joined[:limit].rstrip(), True
    if literal:
        joined = escape(joined)
    if joined.count("```") % 2:
        joined += "\n```"
    rows = joined.split("\n")
    # Line breaks as the sources show them (GitHub, JIRA): a hard break before each next line,
    # except in code blocks, whose lines are kept as they are.
    broken = []
    fenced = False
    for i, row in enumerate(rows):
        fence = row.lstrip().startswith("```")
        follows = (
            i + 1 < len(rows) and rows[i + 1].strip() and not rows[i + 1].lstrip().startswith("```")
        )
        broken.append(row + "  " if row and follows and not fenced and not fence else row)
        fenced = fenced != fence
    quoted = "\n".join("> " + row if row else ">" for row in broken)
    return quoted + (" …" if more else "")


def short_sha(sha: str) -> str:
    return sha[:7]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def duration(seconds: float | None) -> str:
    """``63`` → ``1 min 3 s``; ``7322`` → ``2 h 2 min``."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def timestamp(value: str | None) -> dt.datetime | None:
    """An RFC 3339 / ISO time (nanoseconds, ``Z`` and offsets accepted) in UTC, or None."""
    if not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip(), count=1).replace(" UTC", "+00:00")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r" ([+-]\d{2})(\d{2})$", r"\1:\2", text)  # GitLab: "2022-04-01 13:49:55 +0800"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed.year <= 1:  # Alertmanager's "0001-01-01T00:00:00Z": not set
        return None
    return parsed.astimezone(dt.UTC)


def fit_lines(
    lines: Sequence[str], budget: int, more: Callable[[int], str], *, keep: int | None = None
) -> list[str]:
    """The first lines that fit ``budget`` UTF-8 bytes (at most ``keep``), then ``more(n)``."""
    shown: list[str] = []
    used = 0
    limit = len(lines) if keep is None else min(keep, len(lines))
    for line in lines[:limit]:
        size = len(line.encode()) + 1
        if used + size > budget - 64:  # room for the "and N more" line
            break
        shown.append(line)
        used += size
    hidden = len(lines) - len(shown)
    if hidden:
        shown.append(more(hidden))
    return shown


# -- messages ---------------------------------------------------------------------------------


def _title(text: str) -> str:
    return cut(" ".join(text.split()), 120) or "(untitled)"


def markdown(title: str, text: str) -> MarkdownMessage:
    return MarkdownMessage(markdown=Markdown(title=_title(title), text=text.strip() or "-"))


def action_card(title: str, text: str, button: str, url: str | None) -> Message:
    """An actionCard with one button to the source; markdown when there is no URL to go to."""
    if not url:
        return markdown(title, text)
    return ActionCardMessage(
        actionCard=ActionCard(
            title=_title(title),
            text=text.strip() or "-",
            singleTitle=button,
            singleURL=url,
        )
    )


def _size(message: Message) -> int:
    return len(orjson.dumps(message.to_wire()))


_CUT_NOTE = "\n\n… (cut to fit the 20 000-byte limit)"


def _longest(count: int, fits: Callable[[int], bool]) -> int:
    """The largest ``n`` in ``0..count`` with ``fits(n)`` (``fits`` is monotone), by bisection."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _with_text(message: Message, text: str) -> Message:
    if isinstance(message, MarkdownMessage):
        return message.model_copy(
            update={"markdown": message.markdown.model_copy(update={"text": text})}
        )
    if isinstance(message, ActionCardMessage):
        return message.model_copy(
            update={"actionCard": message.actionCard.model_copy(update={"text": text})}
        )
    if isinstance(message, TextMessage):
        return message.model_copy(
            update={"text": message.text.model_copy(update={"content": text})}
        )
    return message


def fit(message: Message) -> Message:
    """``message`` unchanged when its JSON fits 20 000 bytes, else with its text cut to fit.

    The text of text, markdown and actionCard messages is cut after the most whole lines that fit
    (or, for one long line, the most characters), with a note that it was cut; other types carry
    only titles and URLs and are returned as they are.
    """
    if _size(message) <= MAX_MESSAGE_BYTES:
        return message
    if not isinstance(message, MarkdownMessage | ActionCardMessage | TextMessage):
        return message
    lines = message.body_text().split("\n")

    def with_lines(n: int) -> Message:
        return _with_text(message, "\n".join(lines[:n]).rstrip() + _CUT_NOTE)

    kept = _longest(len(lines), lambda n: _size(with_lines(n)) <= MAX_MESSAGE_BYTES)
    if kept > 0:
        return with_lines(kept)
    first = lines[0]

    def with_chars(n: int) -> Message:
        return _with_text(message, first[:n] + "…" + _CUT_NOTE)

    return with_chars(_longest(len(first), lambda n: _size(with_chars(n)) <= MAX_MESSAGE_BYTES))


def labels_line(pairs: Iterable[tuple[str, str]], sep: str = " · ") -> str:
    """``key=value · key=value`` with both sides escaped."""
    return sep.join(f"{escape(k)}={escape(v)}" for k, v in pairs)


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
