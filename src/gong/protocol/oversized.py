"""A message larger than one DingTalk message (20 000 bytes), sent anyway: split into numbered
parts, or summarised with a pointer to the whole. Never silently cut.

:func:`split` cuts the message's text into parts that each fit, at paragraph or line
boundaries; a single line longer than a part is cut inside, marked ``…`` where it stops and
where it goes on. Every part carries the title and its number, ``(2/3)``, in the title and on
the first line of its text. :func:`summarise` keeps the beginning that fits, cut after a whole
line, then a last line saying where the rest is (``Full message (40 alerts, 61 KB) in Gong:
https://…``).

The text of text, markdown and actionCard messages is what is cut (an actionCard keeps its
buttons in every part); link, feedCard and image messages are first written as markdown. The
original's @-mentions go with the first part (or the summary) only, each kept ``@target``
written into its text, so people are notified once. With an upstream keyword, every part's title
(and text) carries it. Every result, encoded as sent with a ``msgUuid`` of ``reserve``
characters, stays under ``max_bytes``.

Pure and I/O-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import (
    ActionCardMessage,
    At,
    FeedCardMessage,
    ImageMessage,
    LinkMessage,
    Markdown,
    MarkdownMessage,
    Message,
    Text,
    TextMessage,
    encode,
)
from gong.protocol.textsize import CUT_MARK, cut_to, json_size, prefix_within

__all__ = ["UUID_RESERVE", "Pointer", "fits", "split", "summarise"]

#: Characters kept free for the ``msgUuid`` the sender adds to each message.
UUID_RESERVE = 80
#: Bytes kept free in every part for its number, ``(999/999)``, in the title and the text.
_NUMBER_ROOM = 2 * json_size("(999/999) \n")
#: A part is cut at the last blank line when that keeps at least this share of its room.
_PARAGRAPH_SHARE = 0.6


def fits(message: Message, *, max_bytes: int = MAX_BODY_BYTES, reserve: int = UUID_RESERVE) -> bool:
    """Whether ``message``, sent with a ``msgUuid`` of ``reserve`` characters, stays under
    ``max_bytes``."""
    return _size(message, reserve) < max_bytes


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where the whole of a summarised message is: ``note`` in words (``Full message (61 KB) in
    Gong``), and its ``url`` when there is one."""

    note: str
    url: str | None = None

    def line(self, markdown: bool) -> str:
        if self.url is None:
            return self.note
        if markdown:
            return f"{self.note}: [{self.url}]({self.url})"
        return f"{self.note}: {self.url}"


def _size(message: Message, reserve: int) -> int:
    return len(encode({**message.to_wire(), "msgUuid": "x" * reserve}))


@dataclass(frozen=True, slots=True)
class _Shape:
    """A message as title + text, and how to make it again with another title and text."""

    original: Message
    title: str
    text: str
    markdown: bool

    def make(self, title: str, text: str, at: At | None) -> Message:
        message = self.original
        if isinstance(message, TextMessage):
            return TextMessage(text=Text(content=text), at=at)
        if isinstance(message, ActionCardMessage):
            card = message.actionCard.model_copy(update={"title": title, "text": text})
            return ActionCardMessage(actionCard=card, at=at)
        return MarkdownMessage(markdown=Markdown(title=title, text=text), at=at)


def _label(text: str) -> str:
    return text.replace("[", "(").replace("]", ")")


def _shape(message: Message) -> _Shape:
    if isinstance(message, TextMessage):
        first = next((x for x in message.text.content.split("\n") if x.strip()), "text")
        return _Shape(message, first.strip(), message.text.content, markdown=False)
    if isinstance(message, MarkdownMessage):
        return _Shape(message, message.markdown.title, message.markdown.text, markdown=True)
    if isinstance(message, ActionCardMessage):
        card = message.actionCard
        return _Shape(message, card.title, card.text, markdown=True)
    if isinstance(message, LinkMessage):
        link = message.link
        text = f"#### [{_label(link.title)}]({link.messageUrl})\n{link.text}"
        return _Shape(message, link.title, text, markdown=True)
    if isinstance(message, FeedCardMessage):
        links = message.feedCard.links
        text = "\n".join(f"- [{_label(x.title)}]({x.messageURL})" for x in links)
        return _Shape(message, links[0].title, text, markdown=True)
    assert isinstance(message, ImageMessage)
    return _Shape(message, "image", f"![image]({message.image.picURL})", markdown=True)


def _titled(title: str, keyword: str) -> str:
    return f"{keyword} {title}" if keyword and keyword not in title else title


def _mentions(message: Message, text: str) -> str:
    """``@target`` for each mention ``text`` does not write yet (DingTalk needs them there)."""
    at = message.mentions()
    missing = [t for t in (*at.atMobiles, *at.atUserIds) if f"@{t}" not in text]
    return " ".join(f"@{t}" for t in missing)


def _with_mentions(message: Message, text: str) -> str:
    missing = _mentions(message, text)
    return f"{text}\n\n{missing}" if missing else text


def _at(message: Message) -> At | None:
    at = message.mentions()
    return at if at.atMobiles or at.atUserIds or at.isAtAll else None


def _room(shape: _Shape, title: str, max_bytes: int, reserve: int) -> int:
    """The JSON bytes left for text once everything else of a message is counted."""
    message = shape.original
    envelope = _size(shape.make(title, "x", _at(message)), reserve) - 1  # text may not be empty
    mentions = json_size("\n\n" + " ".join(f"@{t}" for t in _targets(message)))
    return max_bytes - 1 - envelope - mentions


def _targets(message: Message) -> list[str]:
    at = message.mentions()
    return [*at.atMobiles, *at.atUserIds]


def _chunks(text: str, room: int) -> list[str]:
    """``text`` in chunks of at most ``room`` JSON bytes, cut between paragraphs where that
    keeps most of a chunk, else between lines; a line longer than a chunk is cut inside, in
    pieces marked ``…`` where it stops and where it goes on (no character is lost)."""
    chunks: list[list[str]] = [[]]
    used = 0

    def close(then: int | None = None) -> None:
        """Start a chunk; with ``then`` (the size of the line that did not fit), move the
        current chunk's last paragraph into it when that keeps most of the chunk and leaves
        room for the line."""
        nonlocal used
        current = chunks[-1]
        carried: list[str] = []
        blank = max((i for i, x in enumerate(current) if not x.strip()), default=-1)
        if (
            then is not None
            and blank > 0
            and json_size("\n".join(current[:blank])) >= room * _PARAGRAPH_SHARE
            and json_size("\n".join(current[blank + 1 :])) + 2 + then <= room
        ):
            chunks[-1], carried = current[:blank], current[blank + 1 :]
        chunks.append(carried)
        used = json_size("\n".join(carried))

    for line in text.split("\n"):
        rest, lead = line, ""
        while True:
            unit = lead + rest
            joint = 2 if chunks[-1] else 0  # the "\n" before it
            if used + joint + json_size(unit) <= room:
                chunks[-1].append(unit)
                used += joint + json_size(unit)
                break
            if json_size(unit) <= room:  # fits a chunk of its own
                close(then=json_size(unit))
                continue
            space = room - used - joint - json_size(lead + CUT_MARK)
            if space < room // 4 and chunks[-1]:  # too little left here: start a chunk
                close()
                continue
            take = max(1, prefix_within(rest, space))
            chunks[-1].append(lead + rest[:take] + CUT_MARK)
            rest, lead = rest[take:], CUT_MARK
            close()
    joined = ["\n".join(chunk).strip("\n") for chunk in chunks]
    return [chunk for chunk in joined if chunk.strip()] or [""]


def split(
    message: Message,
    *,
    keyword: str = "",
    max_bytes: int = MAX_BODY_BYTES,
    reserve: int = UUID_RESERVE,
) -> list[Message]:
    """``message`` as numbered parts that each fit (one part, numbered ``(1/1)``, when it fits
    already but for its keyword)."""
    shape = _shape(message)
    title = _titled(shape.title, keyword)
    room = _room(shape, "(999/999) " + title, max_bytes, reserve) - _NUMBER_ROOM
    room -= json_size(keyword + " ")
    chunks = _chunks(shape.text, max(room, 64))
    total = len(chunks)
    parts: list[Message] = []
    for number, chunk in enumerate(chunks, 1):
        mark = f"({number}/{total})"
        if keyword and not shape.markdown and keyword not in chunk:
            mark = f"{keyword} {mark}"  # a text message has no title to carry it
        text = f"{mark}\n{chunk}"
        at = None
        if number == 1:
            text, at = _with_mentions(message, text), _at(message)
        parts.append(shape.make(f"({number}/{total}) {title}", text, at))
    return parts


def summarise(
    message: Message,
    pointer: Pointer,
    *,
    keyword: str = "",
    max_bytes: int = MAX_BODY_BYTES,
    reserve: int = UUID_RESERVE,
) -> Message:
    """One message: ``message``'s title, the beginning of its text that fits (whole lines; the
    first line cut inside when it alone is too long), then ``pointer``'s line."""
    shape = _shape(message)
    title = _titled(shape.title, keyword)
    footer = f"\n\n{CUT_MARK}\n\n{pointer.line(shape.markdown)}"
    room = _room(shape, title, max_bytes, reserve) - json_size(footer) - json_size(keyword + "\n")
    kept: list[str] = []
    used = 0
    for line in shape.text.split("\n"):
        cost = json_size(line) + (2 if kept else 0)
        if used + cost > room:
            if not kept:
                kept.append(cut_to(line, room))
            break
        kept.append(line)
        used += cost
    text = "\n".join(kept).rstrip() + footer
    if keyword and not shape.markdown and keyword not in text:
        text = f"{keyword}\n{text}"  # a text message has no title to carry it
    text = _with_mentions(message, text)
    return shape.make(title, text, _at(message))
