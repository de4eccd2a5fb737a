"""Folding many robot messages into markdown digests, as DingTalk advises for bursts.

A digest is one ``markdown`` message listing its originals, one numbered line each (title, link,
time), that keeps everyone they @-mention: ``atMobiles`` and ``atUserIds`` are the union of the
originals' (at most 50, DingTalk's cap), ``isAtAll`` if any original had it, and every kept
``@mobile`` / ``@userId`` is written into the text so DingTalk notifies them. Each digest's
encoded request body (compact UTF-8 JSON, with room for a ``msgUuid``) stays under 20 000 bytes.

Pure and I/O-free: the relay, the overflow policy and the SDK's client-side pacer share it.
"""

from __future__ import annotations

import re
import time
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
    encode,
)

__all__ = [
    "DEFAULT_TITLE",
    "MAX_EXTRA_LINKS",
    "MAX_TITLE_CHARS",
    "MAX_URL_CHARS",
    "UUID_RESERVE",
    "Digest",
    "DigestEntry",
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

_URL = re.compile(r"\]\((https?://[^\s)]+)\)|(https?://[^\s<>()\[\]\"']+)")
_SPACE = re.compile(r"\s+")


def _one_line(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_url(text: str) -> str | None:
    match = _URL.search(text)
    if match is None:
        return None
    return match.group(1) or match.group(2)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One original as a digest lists it."""

    title: str
    link: str | None = None
    at_ms: int | None = None
    more: tuple[tuple[str, str], ...] = ()
    at_mobiles: tuple[str, ...] = ()
    at_user_ids: tuple[str, ...] = ()
    at_all: bool = False

    @classmethod
    def of(cls, message: Message, at_ms: int | None = None) -> DigestEntry:
        """The entry for a message: its title, its link (or the first URL in its text), its @."""
        link: str | None = None
        more: tuple[tuple[str, str], ...] = ()
        if isinstance(message, LinkMessage):
            link = message.link.messageUrl
        elif isinstance(message, ActionCardMessage):
            buttons = message.actionCard.buttons
            link = buttons[0].actionURL if buttons else _first_url(message.actionCard.text)
        elif isinstance(message, FeedCardMessage):
            first, *rest = message.feedCard.links
            link = first.messageURL
            more = tuple((x.title, x.messageURL) for x in rest)
        elif isinstance(message, ImageMessage):
            link = message.image.picURL
        else:
            link = _first_url(message.body_text())
        at = message.mentions()
        return cls(
            title=message.title() or message.msgtype,
            link=link,
            at_ms=at_ms,
            more=more,
            at_mobiles=tuple(at.atMobiles),
            at_user_ids=tuple(at.atUserIds),
            at_all=at.isAtAll,
        )


@dataclass(frozen=True, slots=True)
class Digest:
    """A folded message and how many leading entries it holds."""

    message: MarkdownMessage
    count: int


def _link(title: str, url: str | None) -> str:
    if url is None or len(url) > MAX_URL_CHARS:
        return title
    label = title.replace("[", "(").replace("]", ")")
    target = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({target})"


def _clock(at_ms: int | None) -> str:
    if at_ms is None:
        return ""
    return " " + time.strftime("%H:%M:%S", time.localtime(at_ms / 1000))


def _line(number: int, entry: DigestEntry) -> str:
    line = f"{number}. {_link(_one_line(entry.title), entry.link)}{_clock(entry.at_ms)}"
    extras = entry.more[:MAX_EXTRA_LINKS]
    for title, url in extras:
        line += f"\n    - {_link(_one_line(title), url)}"
    if len(entry.more) > len(extras):
        line += f"\n    - (+{len(entry.more) - len(extras)})"
    return line


class _Prefixes:
    """Digests of the first ``k`` entries, for any ``k``; lines are rendered once."""

    def __init__(self, entries: Sequence[DigestEntry], title: str) -> None:
        self.entries = entries
        self.title_template = title
        self.first = _one_line(entries[0].title, 40)
        self.lines = [_line(n + 1, entry) for n, entry in enumerate(entries)]

    def parts(self, k: int) -> tuple[str, str, At | None]:
        title = self.title_template.format(count=k, first=self.first)
        text = f"#### {_one_line(title, 200)}\n" + "\n".join(self.lines[:k])
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

    def size(self, k: int) -> int:
        """The encoded request body of the digest of ``k`` entries, with room for a msgUuid."""
        title, text, at = self.parts(k)
        wire: dict[str, object] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": text},
        }
        if at is not None:
            wire["at"] = at.model_dump(mode="json")
        wire["msgUuid"] = "x" * UUID_RESERVE
        return len(encode(wire))

    def build(self, k: int) -> MarkdownMessage:
        title, text, at = self.parts(k)
        return MarkdownMessage(markdown=Markdown(title=title, text=text), at=at)


def fold_one(
    entries: Sequence[DigestEntry],
    *,
    title: str = DEFAULT_TITLE,
    max_bytes: int = MAX_BODY_BYTES,
) -> Digest:
    """The first digest of ``entries``: as many leading entries as fit under ``max_bytes``.

    The size grows with every entry, so the count is found by bisection: a few encodings, not
    one per entry.

    Raises:
        ValueError: when ``entries`` is empty.
    """
    if not entries:
        raise ValueError("nothing to fold")
    # A line takes at least 15 bytes: no more entries than that can fit.
    prefixes = _Prefixes(entries[: max(1, max_bytes // 15)], title)
    low, high = 0, len(prefixes.lines)  # size(low) fits (or low == 0); size(high + 1) does not
    while low < high:
        middle = (low + high + 1) // 2
        if prefixes.size(middle) < max_bytes:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        # One entry alone does not fit: list it by a short title only.
        first = entries[0]
        alone = _Prefixes([DigestEntry(title=_one_line(first.title, 40), at_ms=first.at_ms)], title)
        return Digest(alone.build(1), 1)
    return Digest(prefixes.build(low), low)


def fold(
    entries: Sequence[DigestEntry],
    *,
    title: str = DEFAULT_TITLE,
    max_bytes: int = MAX_BODY_BYTES,
) -> list[Digest]:
    """Every entry, in order, in as few digests as fit under ``max_bytes`` each."""
    digests: list[Digest] = []
    start = 0
    while start < len(entries):
        digest = fold_one(entries[start:], title=title, max_bytes=max_bytes)
        digests.append(digest)
        start += digest.count
    return digests
