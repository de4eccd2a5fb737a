"""Text for messages: markdown that shows text literally, cuts, quotes, counts and times.

Also the two message shapes most sources build (:func:`markdown`, :func:`action_card`), with
titles on one line. Making a whole message fit 20 000 bytes is :mod:`gong.integrations.fitting`.

Times are written on the robot's group's clock with :func:`format_local`, which names the zone.
Builders that write times take that zone beside the document
(:data:`~gong.integrations.source.Zoned`); a source binds it per delivery with
:func:`~gong.integrations.source.in_zone`. Also the short message for events Gong has no message
for (:func:`generic_message`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gong.domain.markdown import literal as escape
from gong.domain.timetext import duration, format_local
from gong.protocol.messages import (
    ActionCard,
    ActionCardMessage,
    Markdown,
    MarkdownMessage,
    Message,
)

__all__ = [
    "action_card",
    "capped",
    "cut",
    "duration",
    "elapsed",
    "escape",
    "facts",
    "fenced",
    "first_line",
    "format_local",
    "generic_message",
    "image",
    "labels_line",
    "link",
    "markdown",
    "plural",
    "quote",
    "short_sha",
    "timestamp",
]


# -- text -------------------------------------------------------------------------------------

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)


def _safe_url(url: str) -> str:
    return url.strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def link(text: str, url: str | None) -> str:
    """``[text](url)`` with the text escaped; just the escaped text when there is no URL."""
    label = escape(text)
    if not url or not url.strip():
        return label
    return f"[{label}]({_safe_url(url)})"


def image(alt: str, url: str) -> str:
    """``![alt](url)`` with the text escaped."""
    return f"![{escape(alt)}]({_safe_url(url)})"


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
    if not more:
        return quoted
    # After a closing fence, "…" on the fence's line would turn it into a line of code.
    return quoted + ("\n>\n> …" if broken[-1].lstrip().startswith("```") else " …")


def fenced(code: str, info: str = "") -> str:
    """``code`` as a fenced code block, shown as written: the fence is longer than any run of
    backticks in the code, so nothing in it can close the block early."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{code}\n{fence}"


def short_sha(sha: str) -> str:
    return sha[:7]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def capped(rows: Sequence[str], limit: int, noun: str) -> list[str]:
    """The first ``limit`` list rows, then ``- and 3 more <noun>s`` for the rest."""
    shown = list(rows[:limit])
    if len(rows) > limit:
        shown.append(f"- and {plural(len(rows) - limit, f'more {noun}')}")
    return shown


def facts(*parts: str | None) -> str:
    """The parts that are there, joined: ``owner/repo · branch main · took 3 min``."""
    return " · ".join(part for part in parts if part)


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


def elapsed(start: str | None, end: str | None) -> str:
    """How long from one time to another (``1 min 3 s``); empty when either is not known."""
    began, ended = timestamp(start), timestamp(end)
    if began is None or ended is None:
        return ""
    return duration((ended - began).total_seconds())


def labels_line(pairs: Iterable[tuple[str, str]], sep: str = " · ") -> str:
    """``key=value · key=value`` with both sides escaped."""
    return sep.join(f"{escape(k)}={escape(v)}" for k, v in pairs)


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


# -- events Gong has no message for -----------------------------------------------------------

#: Where sources put the thing an event is about: (path to its name, path to its web page).
_WHERE: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("repository", "full_name"), ("repository", "html_url")),
    (("project", "path_with_namespace"), ("project", "web_url")),
    (("repository", "name"), ("repository", "url")),
    (("organization", "login"), ("organization", "html_url")),
    (("project", "name"), ("project", "url")),
    (("name",), ("url",)),
)
_ACTOR = (("sender", "login"), ("user", "username"), ("user", "name"), ("actor", "name"))


def _dig(document: Mapping[str, Any], path: tuple[str, ...]) -> str | None:
    value: Any = document
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, str) and value.strip() else None


def generic_message(source: str, event: str, document: Mapping[str, Any]) -> Message:
    """The short message for an event Gong has no message for (a robot's ``show_unknown``):
    the source, the event's name, who did it and where, when the payload says so."""
    where = url = None
    for name_path, url_path in _WHERE:
        where = _dig(document, name_path)
        if where:
            url = _dig(document, url_path)
            break
    actor = next((a for path in _ACTOR if (a := _dig(document, path))), None)
    facts = [f"{escape(source)} sent **{escape(event)}**"]
    if where:
        facts.append(f"in {link(cut(where, 200), url)}")
    if actor:
        facts.append(f"by **{escape(cut(actor, 100))}**")
    text = " ".join(facts) + "\n\nGong has no message for this event yet; this is its name only."
    title = f"[{cut(where, 100)}] {source}: {event}" if where else f"{source}: {event}"
    if url:
        return action_card(title, text, "Open", url)
    return markdown(title, text)
