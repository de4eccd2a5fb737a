"""Folding many robot messages into markdown digests, as DingTalk advises for bursts.

A digest is one ``markdown`` message: a heading, the time zone its times are on (named once),
then one numbered item per original::

    #### 3 messages: [FIRING:1] HighCPU
    Times in CST

    1. [[FIRING:1] HighCPU](https://prometheus/…) 14:02:11 [full message](https://gong/…)
       host-17 CPU 97% · runbook [wiki](https://wiki/cpu)
    2. …

The item line holds the original's title (linked to its own link: a link message's URL, an
actionCard's button, a feedCard's links, or the first URL in its text), its time, a link to the
whole message where it can be read (``full_url``, Gong's copy; the title links there when the
original has no link of its own) and, for a message the quiet window counted again, how many
times (``repeated ×N``). The line under it is an excerpt of the original's text, flattened to one
line of markdown that cannot break the list (headings, quotes, list marks and HTML removed, links
kept).

Excerpts share what the byte limit leaves fairly: every entry gets at least
:data:`MIN_EXCERPT_BYTES` of its excerpt (or all of it when shorter) — a digest takes fewer
entries rather than starve their excerpts — and what is left is shared evenly among the entries
that want more (water-filling: short excerpts are shown whole, long ones cut to an equal share).

Everyone the originals @-mention is kept: ``atMobiles`` and ``atUserIds`` are the union of the
originals' (at most 50, DingTalk's cap), ``isAtAll`` if any original had it, and every kept
``@mobile`` / ``@userId`` is written into the text so DingTalk notifies them. Each digest's
encoded request body (compact UTF-8 JSON, with room for a ``msgUuid``) stays under 20 000 bytes.

Pure and I/O-free: the relay, the overflow policy and the SDK's client-side pacer share it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from gong.protocol.limits import MAX_AT_TARGETS, MAX_BODY_BYTES
from gong.protocol.messages import (
    ActionCardMessage,
    At,
    FeedCardMessage,
    ImageMessage,
    LinkMessage,
    Markdown,
    MarkdownMessage,
    Message,
    TextMessage,
    encode,
)
from gong.protocol.textsize import CUT_MARK, cut_to, json_size

__all__ = [
    "DEFAULT_TITLE",
    "FULL_LABEL",
    "MAX_EXCERPT_CHARS",
    "MAX_EXTRA_LINKS",
    "MAX_TITLE_CHARS",
    "MAX_URL_CHARS",
    "MIN_EXCERPT_BYTES",
    "UUID_RESERVE",
    "Digest",
    "DigestEntry",
    "flatten",
    "fold",
    "fold_one",
]

#: An original's title is cut to this many characters in its digest line.
MAX_TITLE_CHARS = 100
#: Longer links are left out (the title stays); a cut link would lead nowhere.
MAX_URL_CHARS = 1000
#: A feedCard's further links listed under its line.
MAX_EXTRA_LINKS = 5
#: Bytes kept free for the ``msgUuid`` the sender adds to each digest.
UUID_RESERVE = 80
#: ``{count}`` is the number of originals, ``{first}`` the first one's title.
DEFAULT_TITLE = "{count} messages: {first}"
#: Every entry of a digest gets at least this many bytes of its excerpt (or all of it).
MIN_EXCERPT_BYTES = 180
#: The most characters of an original's text an excerpt is made from (a digest shows far less).
MAX_EXCERPT_CHARS = MAX_BODY_BYTES
#: The label of the link to the whole message (``full_url``) beside an entry's own link.
FULL_LABEL = "full message"

_URL = re.compile(r"\]\((https?://[^\s)]+)\)|(https?://[^\s<>()\[\]\"']+)")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,300}>")
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\n]*)\)")
_QUOTE = re.compile(r"^(?:>\s?)+")
_HEADING = re.compile(r"^#{1,6}(?:\s+|$)")
_BULLET = re.compile(r"^[-*+]\s+")
_NUMBER = re.compile(r"^(\d{1,9})[.)]\s+")
_RULE = re.compile(r"^(?:[-*_=]\s*){3,}$")
_EMPHASIS = re.compile(r"[*_`\\]")
#: Between an item's line and its excerpt: a line break inside the list item.
_EXCERPT_SEP = "\n   "


def _one_line(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_url(text: str) -> str | None:
    match = _URL.search(text)
    if match is None:
        return None
    return match.group(1) or match.group(2)


def _plain(text: str) -> str:
    return _SPACE.sub(" ", _EMPHASIS.sub("", text)).strip().casefold()


def flatten(text: str, title: str = "") -> str:
    """``text`` (plain or DingTalk markdown) as one line of markdown that is safe in a list item.

    Line by line: quote marks, heading marks and thematic breaks are removed, list marks become
    ``•`` and ``(1)``, HTML tags are dropped (``<br>`` breaks the line), images become links;
    the lines are joined with `` · ``. Links, bold and italics are kept. A first line that only
    repeats ``title`` (a markdown message's heading) is left out when the title shows it whole.
    At most :data:`MAX_EXCERPT_CHARS` characters of ``text`` are read.
    """
    capped = len(text) > MAX_EXCERPT_CHARS
    text = _BREAK.sub("\n", text[:MAX_EXCERPT_CHARS])
    text = _TAG.sub("", text)
    text = _IMAGE.sub(lambda m: f"[{m.group(1).strip() or 'image'}]({m.group(2)})", text)
    lines: list[str] = []
    for raw in text.split("\n"):
        line = _SPACE.sub(" ", _CONTROL.sub(" ", raw)).strip()
        while True:
            stripped = _HEADING.sub("", _QUOTE.sub("", line)).strip()
            if stripped == line:
                break
            line = stripped
        if not line or _RULE.match(line):
            continue
        line = _BULLET.sub("• ", line, count=1)
        line = _NUMBER.sub(lambda m: f"({m.group(1)}) ", line, count=1)
        lines.append(line)
    shown_title = _one_line(title, MAX_EXCERPT_CHARS)
    if lines and 0 < len(shown_title) <= MAX_TITLE_CHARS and _plain(lines[0]) == _plain(title):
        lines.pop(0)
    flat = ""
    for line in lines:
        if flat:
            flat += " " if line.startswith("• ") else " · "
        flat += line
    return flat + CUT_MARK if capped and flat else flat


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One original as a digest lists it.

    ``excerpt`` is one line of list-safe markdown (see :func:`flatten`); a digest shows as much
    of it as its share of the byte limit allows. ``full_url`` is where the whole original can be
    read. ``repeats`` counts further identical copies of it (the quiet window), the last at
    ``last_at_ms``.
    """

    title: str
    link: str | None = None
    at_ms: int | None = None
    more: tuple[tuple[str, str], ...] = ()
    at_mobiles: tuple[str, ...] = ()
    at_user_ids: tuple[str, ...] = ()
    at_all: bool = False
    excerpt: str = ""
    full_url: str | None = None
    repeats: int = 0
    last_at_ms: int | None = None

    @classmethod
    def of(
        cls, message: Message, at_ms: int | None = None, *, full_url: str | None = None
    ) -> DigestEntry:
        """The entry for a message: its title, its link (or the first URL in its text), an
        excerpt of its text, its @."""
        link: str | None = None
        more: tuple[tuple[str, str], ...] = ()
        title = message.title() or message.msgtype
        text = ""
        if isinstance(message, LinkMessage):
            link = message.link.messageUrl
            text = message.link.text
        elif isinstance(message, ActionCardMessage):
            buttons = message.actionCard.buttons
            link = buttons[0].actionURL if buttons else _first_url(message.actionCard.text)
            text = message.actionCard.text
        elif isinstance(message, FeedCardMessage):
            first, *rest = message.feedCard.links
            link = first.messageURL
            more = tuple((x.title, x.messageURL) for x in rest)
        elif isinstance(message, ImageMessage):
            link = message.image.picURL
        else:
            text = message.body_text()
            link = _first_url(text)
            if isinstance(message, TextMessage):
                # A text's title is its first line; the excerpt goes on from there.
                title = next((x for x in text.split("\n") if x.strip()), title)
        at = message.mentions()
        return cls(
            title=title,
            link=link,
            at_ms=at_ms,
            more=more,
            at_mobiles=tuple(at.atMobiles),
            at_user_ids=tuple(at.atUserIds),
            at_all=at.isAtAll,
            excerpt=flatten(text, title),
            full_url=full_url,
        )


@dataclass(frozen=True, slots=True)
class Digest:
    """A folded message and how many leading entries it holds."""

    message: MarkdownMessage
    count: int


def _usable(url: str | None) -> str | None:
    return url if url is not None and len(url) <= MAX_URL_CHARS else None


def _link(title: str, url: str | None) -> str:
    if _usable(url) is None:
        return title
    assert url is not None
    label = title.replace("[", "(").replace("]", ")")
    target = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({target})"


def _local(at_ms: int | None, tz: dt.tzinfo | None) -> tuple[str, str] | None:
    """``("14:02:11", "CST")``: the time on ``tz`` (the machine's clock when None) and the
    zone's name (``UTC+08:00`` when it has no abbreviation); None for no or absurd times."""
    if at_ms is None:
        return None
    try:
        moment = dt.datetime.fromtimestamp(at_ms / 1000, tz)
        local = moment if tz is not None else moment.astimezone()
    except (OverflowError, OSError, ValueError):
        return None
    zone = local.tzname() or ""
    if not zone or zone[0] in "+-":
        offset = local.strftime("%z")
        zone = f"UTC{offset[:3]}:{offset[3:]}" if offset and offset != "+0000" else "UTC"
    return local.strftime("%H:%M:%S"), zone


def _clock(at_ms: int | None, tz: dt.tzinfo | None, zone: str | None) -> str:
    """The time as an entry shows it: named only when its zone is not the digest's."""
    local = _local(at_ms, tz)
    if local is None:
        return ""
    time, its_zone = local
    return time if its_zone == zone else f"{time} {its_zone}"


def _head(number: int, entry: DigestEntry, tz: dt.tzinfo | None, zone: str | None) -> str:
    """An entry's item line: title (linked), time, the link to the whole, a repeat count."""
    own = _usable(entry.link)
    full = _usable(entry.full_url)
    line = f"{number}. {_link(_one_line(entry.title), own or full)}"
    clock = _clock(entry.at_ms, tz, zone)
    if clock:
        line += " " + clock
    if own is not None and full is not None:
        line += " " + _link(FULL_LABEL, full)
    if entry.repeats > 0:
        line += f" · repeated ×{entry.repeats}"
        last = _clock(entry.last_at_ms, tz, zone)
        if last and last != clock:
            line += f", last {last}"
    return line


def _tail(entry: DigestEntry) -> str:
    """A feedCard's further links, under its excerpt."""
    extras = entry.more[:MAX_EXTRA_LINKS]
    tail = "".join(f"\n    - {_link(_one_line(title), url)}" for title, url in extras)
    if len(entry.more) > len(extras):
        tail += f"\n    - (+{len(entry.more) - len(extras)})"
    return tail


def _share(floors: Sequence[int], wants: Sequence[int], spare: int) -> list[int]:
    """Bytes for each excerpt: its floor, then ``spare`` shared evenly (water-filling)."""
    given = list(floors)
    hungry = [i for i, want in enumerate(wants) if want > given[i]]
    while hungry and spare >= len(hungry):
        each = spare // len(hungry)
        still: list[int] = []
        for i in hungry:
            more = min(each, wants[i] - given[i])
            given[i] += more
            spare -= more
            if given[i] < wants[i]:
                still.append(i)
        hungry = still
    return given


class _Layout:
    """Digests of the first ``k`` entries with given excerpts; item lines are rendered once."""

    def __init__(
        self, entries: Sequence[DigestEntry], title: str, tz: dt.tzinfo | None = None
    ) -> None:
        self.entries = entries
        self.title_template = title
        self.first = _one_line(entries[0].title, 40)
        times = (_local(at, tz) for e in entries for at in (e.at_ms, e.last_at_ms))
        first_time = next((x for x in times if x is not None), None)
        self.zone = first_time[1] if first_time is not None else None
        self.heads = [_head(n + 1, e, tz, self.zone) for n, e in enumerate(entries)]
        self.tails = [_tail(e) for e in entries]
        self.wants = [json_size(e.excerpt) for e in entries]
        self.floors = [cut_to(e.excerpt, MIN_EXCERPT_BYTES) for e in entries]

    def parts(self, k: int, excerpts: Sequence[str]) -> tuple[str, str, At | None]:
        title = self.title_template.format(count=k, first=self.first)
        text = f"#### {_one_line(title, 200)}\n"
        if self.zone is not None:
            text += f"Times in {self.zone}\n\n"
        text += "\n".join(
            self.heads[i] + (_EXCERPT_SEP + excerpts[i] if excerpts[i] else "") + self.tails[i]
            for i in range(k)
        )
        mobiles: dict[str, None] = {}
        user_ids: dict[str, None] = {}
        at_all = False
        for entry in self.entries[:k]:
            at_all = at_all or entry.at_all
            for values, into in ((entry.at_mobiles, mobiles), (entry.at_user_ids, user_ids)):
                for value in values:
                    if len(mobiles) + len(user_ids) < MAX_AT_TARGETS:
                        into.setdefault(value, None)
        targets = [*mobiles, *user_ids]
        if targets:
            text += "\n\n" + " ".join(f"@{t}" for t in targets)
        at = None
        if targets or at_all:
            at = At(atMobiles=list(mobiles), atUserIds=list(user_ids), isAtAll=at_all)
        return _one_line(title), text, at

    def size(self, k: int, excerpts: Sequence[str]) -> int:
        """The encoded request body of the digest of ``k`` entries, with room for a msgUuid."""
        title, text, at = self.parts(k, excerpts)
        wire: dict[str, object] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": text},
        }
        if at is not None:
            wire["at"] = at.model_dump(mode="json")
        wire["msgUuid"] = "x" * UUID_RESERVE
        return len(encode(wire))

    def excerpts(self, k: int, max_bytes: int) -> list[str]:
        """The excerpts of the first ``k`` entries, sharing what ``max_bytes`` leaves fairly
        (``k`` entries with their floors fit)."""
        floors = self.floors[:k]
        floor_sizes = [json_size(x) for x in floors]
        spare = max_bytes - 1 - self.size(k, floors)
        while spare > 0:
            budgets = _share(floor_sizes, self.wants[:k], spare)
            shown = [
                entry.excerpt if budget >= want else cut_to(entry.excerpt, budget) or floor
                for entry, budget, want, floor in zip(
                    self.entries[:k], budgets, self.wants[:k], floors, strict=True
                )
            ]
            over = self.size(k, shown) - (max_bytes - 1)
            if over <= 0:
                return shown
            spare -= over  # not expected: sizes are exact; shrink and share again
        return list(floors)

    def build(self, k: int, excerpts: Sequence[str]) -> MarkdownMessage:
        title, text, at = self.parts(k, excerpts)
        return MarkdownMessage(markdown=Markdown(title=title, text=text), at=at)


def fold_one(
    entries: Sequence[DigestEntry],
    *,
    title: str = DEFAULT_TITLE,
    max_bytes: int = MAX_BODY_BYTES,
    tz: dt.tzinfo | None = None,
) -> Digest:
    """The first digest of ``entries``: as many leading entries as fit under ``max_bytes``
    with at least their minimum excerpts, then the room left shared among their excerpts.

    Times are written on ``tz`` (the machine's clock when None). The size grows with every
    entry, so the count is found by bisection: a few encodings, not one per entry.

    Raises:
        ValueError: when ``entries`` is empty.
    """
    if not entries:
        raise ValueError("nothing to fold")
    # An entry takes at least 15 bytes: no more entries than that can fit.
    layout = _Layout(entries[: max(1, max_bytes // 15)], title, tz)
    low, high = 0, len(layout.heads)  # size(low) fits (or low == 0); size(high + 1) does not
    while low < high:
        middle = (low + high + 1) // 2
        if layout.size(middle, layout.floors) < max_bytes:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        # One entry alone does not fit: list it by a short title only.
        first = entries[0]
        short = DigestEntry(title=_one_line(first.title, 40), at_ms=first.at_ms)
        alone = _Layout([short], title, tz)
        return Digest(alone.build(1, [""]), 1)
    return Digest(layout.build(low, layout.excerpts(low, max_bytes)), low)


def fold(
    entries: Sequence[DigestEntry],
    *,
    title: str = DEFAULT_TITLE,
    max_bytes: int = MAX_BODY_BYTES,
    tz: dt.tzinfo | None = None,
) -> list[Digest]:
    """Every entry, in order, in as few digests as fit under ``max_bytes`` each."""
    digests: list[Digest] = []
    start = 0
    while start < len(entries):
        digest = fold_one(entries[start:], title=title, max_bytes=max_bytes, tz=tz)
        digests.append(digest)
        start += digest.count
    return digests
