"""The template robot: any JSON body, rendered through the robot's Jinja2 template into a message.

The template sees ``payload`` (the decoded body) and ``headers`` (lower-case names) and writes
DingTalk JSON, which is validated exactly like a custom robot's message
(:func:`~gong.protocol.messages.parse_message`), so every type and ``at`` work. Output that is
empty or ``{"msgtype": "empty"}`` posts nothing (the event is ignored).

Templates run in Jinja2's immutable sandbox with limits: at most ``time_limit`` seconds (a trace
function checks the deadline on every call and every template line, so runaway loops stop),
at most ``max_output`` characters of output, and no single operation that would build a huge
string, list or number (:mod:`gong.integrations.sandbox`). The trace function cannot interrupt one
long C-level operation, so the server renders in worker processes under hard time and memory
limits (:mod:`gong.integrations.render_pool`), passed in as the source's ``renderer``; the CLI
renders in its own process.

With a source secret, a delivery must carry ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the
body>`` (the WebSub form many services use), or the secret in ``Authorization`` (bearer token or
basic-auth password).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, Literal, Protocol, TypeVar

import orjson
from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from pydantic import Field

from gong.domain.alerts import AlertFacts
from gong.domain.models import RobotKind
from gong.integrations.alertmanager import check_authorization
from gong.integrations.alerts import alert_item, to_ms
from gong.integrations.fitting import fit
from gong.integrations.sandbox import LimitedSandbox
from gong.integrations.source import (
    Delivery,
    Event,
    Ignored,
    IntegrationConfig,
    Payload,
    Rendered,
    Source,
    bad_signature,
    check_filters,
    hmac_hex,
    invalid,
    parse,
    same,
)
from gong.integrations.text import cut, escape, first_line, timestamp
from gong.protocol.errors import RobotError
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import parse_message

__all__ = [
    "ALERT_KEYS",
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_TIME_LIMIT",
    "MAX_TEMPLATE_LENGTH",
    "TemplateSource",
    "TextRenderer",
    "alert_output",
    "compile_template",
    "render",
    "render_text",
    "template_error",
]

DEFAULT_TIME_LIMIT = 1.0
DEFAULT_MAX_OUTPUT = 100_000
#: A template's own length limit, in characters.
MAX_TEMPLATE_LENGTH = 64_000

T = TypeVar("T")


class TextRenderer(Protocol):
    """Renders a template's text within limits: :func:`render_text`, or a render pool's."""

    def __call__(
        self, source: str, context: Mapping[str, Any], *, time_limit: float, max_output: int
    ) -> str: ...


def _json(value: Any) -> str:
    """``{{ value | json }}``: the value as JSON text, ready to sit in the template's JSON."""

    def default(obj: Any) -> Any:
        if isinstance(obj, Undefined):
            return None
        raise TypeError(f"{type(obj).__name__} is not JSON")

    if isinstance(value, Undefined):
        return "null"
    return orjson.dumps(value, default=default).decode()


def _md(value: Any) -> str:
    """``{{ value | md }}``: text shown literally in markdown."""
    return "" if isinstance(value, Undefined) or value is None else escape(str(value))


@functools.cache
def _environment() -> LimitedSandbox:
    env = LimitedSandbox(
        undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters["json"] = _json
    env.filters["md"] = _md
    env.filters["first_line"] = lambda value, limit=100: first_line(str(value or ""), int(limit))
    env.filters["cut"] = lambda value, limit=100: cut(str(value or ""), int(limit))
    return env


@functools.lru_cache(maxsize=256)
def compile_template(source: str) -> Any:
    """The compiled template (cached by its text).

    Raises:
        TemplateSyntaxError: the template does not compile.
    """
    return _environment().from_string(source)


def template_error(source: str) -> str | None:
    """Why ``source`` is not a usable template, or None when it compiles."""
    if len(source) > MAX_TEMPLATE_LENGTH:
        return f"the template is longer than {MAX_TEMPLATE_LENGTH} characters"
    if not source.strip():
        return "the template is empty"
    try:
        compile_template(source)
    except TemplateSyntaxError as exc:
        return f"the template does not compile: {exc.message} (line {exc.lineno})"
    except RecursionError:
        return "the template nests blocks or expressions too deeply to compile"
    except MemoryError:
        return "the template is too big to compile"
    except SyntaxError as exc:  # Python's own limits on the compiled code
        return f"the template nests blocks too deeply to compile ({exc.msg})"
    return None


class _Timeout(BaseException):
    """Raised inside the render by the trace function; BaseException so templates can't catch it."""


def _with_deadline(work: Callable[[], T], seconds: float) -> T:
    """Run ``work`` in this thread, stopping it (``_Timeout``) once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _Timeout
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _Timeout
        # Line events only in template code (compiled into "<template>"): that is where loops
        # are; every other Python frame is checked on the call that enters it.
        return local if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return work()
    finally:
        sys.settrace(previous)


def render_text(
    source: str,
    context: Mapping[str, Any],
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    max_output: int = DEFAULT_MAX_OUTPUT,
    memory_limit_mb: int | None = None,
) -> str:
    """The template's output for ``context``, within the time and size limits.

    ``memory_limit_mb`` only words the error when memory runs out (a render worker's limit).

    Raises:
        RobotError: 400401 naming what went wrong (compile error, render error, a limit).
    """
    problem = template_error(source)
    if problem:
        raise invalid(problem)
    template = compile_template(source)

    def work() -> str:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > max_output:
                raise invalid(f"the template's output is longer than {max_output} characters")
            chunks.append(chunk)
        return "".join(chunks)

    try:
        return _with_deadline(work, time_limit)
    except _Timeout:
        raise invalid(f"the template ran longer than {time_limit:g} s and was stopped") from None
    except SecurityError as exc:
        raise invalid(f"the template did something the sandbox forbids: {exc}") from None
    except TemplateError as exc:
        raise invalid(f"the template failed: {exc}") from None
    except RecursionError:
        raise invalid("the template nests too deeply (recursion) and was stopped") from None
    except MemoryError:
        used = f"used more than {memory_limit_mb} MB" if memory_limit_mb else "ran out of memory"
        raise invalid(f"the template {used} and was stopped") from None
    except RobotError:
        raise
    except Exception as exc:
        raise invalid(f"the template failed: {type(exc).__name__}: {exc}") from None


#: Top-level keys of a template's output that say it is an alert; they are not part of the message.
ALERT_KEYS = ("alert", "alerts", "groupKey")


class _OutputAlert(Payload):
    status: Literal["firing", "resolved"]
    fingerprint: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    starts_at: str | None = Field(default=None, alias="startsAt")
    ends_at: str | None = Field(default=None, alias="endsAt")


class _AlertOutput(Payload):
    alert: _OutputAlert | None = None
    alerts: list[_OutputAlert] | None = None
    group_key: str | None = Field(default=None, alias="groupKey")


def _time(value: str | None, where: str) -> int | None:
    """An alert time of the output as unix ms; unset and Alertmanager's year 1 are None."""
    if value is None or not value.strip():
        return None
    if timestamp(value) is None and not value.strip().startswith("0001-"):
        raise invalid(f"the template's {where} is not an RFC 3339 time: {cut(value, 40)!r}")
    return to_ms(value)


def alert_output(said: dict[str, Any], title: str) -> AlertFacts:
    """The alerts a template's output names (its ``alert`` or ``alerts``, and ``groupKey``).

    Raises:
        RobotError: 400401 naming the first field that is not as documented.
    """
    what = "the template's alert output"
    found = parse(_AlertOutput, said, what)
    if found.alert is not None and found.alerts is not None:
        raise invalid(f"{what} has both alert and alerts; write one of them")
    if found.alert is not None:
        named = [("alert", found.alert)]
    elif found.alerts:
        named = [(f"alerts.{i}", alert) for i, alert in enumerate(found.alerts)]
    else:
        raise invalid(f"{what} names no alert: write an alert object or a non-empty alerts list")
    items = tuple(
        alert_item(
            alert.fingerprint,
            alert.status == "firing",
            alert.labels,
            _time(alert.starts_at, f"{where}.startsAt"),
            _time(alert.ends_at, f"{where}.endsAt"),
        )
        for where, alert in named
    )
    return AlertFacts(items=items, group_key=found.group_key or None, title=title)


def render(
    source: str,
    payload: Any,
    headers: Mapping[str, str] | None = None,
    *,
    event: str = "template",
    time_limit: float = DEFAULT_TIME_LIMIT,
    max_output: int = DEFAULT_MAX_OUTPUT,
    renderer: TextRenderer = render_text,
) -> Rendered:
    """The message a template makes of ``payload`` (with its alerts when the output says it is
    an alert); :class:`Ignored` when it makes none."""
    context = {"payload": payload, "headers": dict(headers or {})}
    text = renderer(source, context, time_limit=time_limit, max_output=max_output).strip()
    if not text:
        raise Ignored(event, "was left out by the template (empty output)")
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the template's output is not JSON ({exc}): {cut(text, 120)!r}") from None
    if isinstance(body, dict) and body.get("msgtype") == "empty":
        raise Ignored(event, 'was left out by the template (msgtype "empty")')
    said: dict[str, Any] | None = None  # what the output says about alerts, if it says any
    if isinstance(body, dict) and ("alert" in body or "alerts" in body):
        said = {k: body[k] for k in ALERT_KEYS if k in body}
        body = {k: v for k, v in body.items() if k not in ALERT_KEYS}
    message = fit(parse_message(body))
    size = len(orjson.dumps(message.to_wire()))
    if size > MAX_BODY_BYTES:
        raise invalid(
            f"the template's message is {size} bytes; DingTalk's limit is {MAX_BODY_BYTES}"
        )
    if said is None:
        return Rendered(message)
    return Rendered(message, alert_output(said, first_line(message.title(), 120)))


def _lookup(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


class TemplateSource(Source):
    kind = RobotKind.TEMPLATE
    label = "template"
    blocking = True

    def __init__(
        self,
        time_limit: float = DEFAULT_TIME_LIMIT,
        max_output: int = DEFAULT_MAX_OUTPUT,
        renderer: TextRenderer = render_text,
    ) -> None:
        self.time_limit = time_limit
        self.max_output = max_output
        #: Where templates render: in this process, or a render pool's worker processes.
        self.renderer = renderer

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        given = delivery.header("X-Hub-Signature-256")
        if given is not None:
            if not same(given, "sha256=" + hmac_hex(secret, delivery.body)):
                raise bad_signature("X-Hub-Signature-256 does not match the body and the secret")
            return
        check_authorization(delivery, secret, "the sender")

    def message(self, delivery: Delivery, config: IntegrationConfig) -> Rendered:
        """Like every source's, except that any JSON value is a payload, not only objects."""
        if not delivery.document.strip():
            raise invalid("the body is empty; a template robot renders a JSON document")
        try:
            document = orjson.loads(delivery.document)
        except orjson.JSONDecodeError as exc:
            raise invalid(f"the body is not valid JSON ({exc})") from None
        event = self.event(delivery, document, config)
        check_filters(event, config)
        built = event.build()
        return built if isinstance(built, Rendered) else Rendered(built)

    def event(self, delivery: Delivery, document: Any, config: IntegrationConfig) -> Event:
        if not config.template:
            raise invalid("this template robot has no template")
        name = "template"
        if config.event_field:
            found = _lookup(document, config.event_field)
            if not isinstance(found, str | int) or isinstance(found, bool) or found == "":
                raise invalid(f"field {config.event_field} (the robot's event_field) is missing")
            name = str(found)
        source = config.template
        headers = dict(delivery.headers)
        return Event(
            name,
            lambda: render(
                source,
                document,
                headers,
                event=name,
                time_limit=self.time_limit,
                max_output=self.max_output,
                renderer=self.renderer,
            ),
        )
