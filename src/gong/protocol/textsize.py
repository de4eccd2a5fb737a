"""Text measured as it travels: the bytes a string takes inside a request body (compact UTF-8
JSON, not ASCII-escaped, as :func:`gong.protocol.messages.encode` writes it), and cutting a
string to a number of those bytes without breaking a markdown link.

Pure and I/O-free: digests (:mod:`gong.protocol.digest`) and oversized messages
(:mod:`gong.protocol.oversized`) share it.
"""

from __future__ import annotations

import re

__all__ = ["CUT_MARK", "cut_to", "json_size", "prefix_within"]

#: Put where a text was cut.
CUT_MARK = "…"

_CONTROL = re.compile(r"[\x00-\x1f]")
_ESCAPED = {'"': 2, "\\": 2, "\b": 2, "\f": 2, "\n": 2, "\r": 2, "\t": 2}
#: A markdown link or image: ``[label](url)``, with an optional ``!``.
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\n]*)\)")


def _char_size(char: str) -> int:
    size = _ESCAPED.get(char)
    if size is not None:
        return size
    if char < " ":
        return 6  # \u00XX
    return len(char.encode("utf-8", "surrogatepass"))


def json_size(text: str) -> int:
    """The bytes ``text`` takes as a JSON string's content (without the quotes)."""
    size = len(text.encode("utf-8", "surrogatepass")) + text.count('"') + text.count("\\")
    for control in _CONTROL.findall(text):
        size += _char_size(control) - 1
    return size


def prefix_within(text: str, budget: int) -> int:
    """The most leading characters of ``text`` whose JSON size is at most ``budget``."""
    used = 0
    for index, char in enumerate(text):
        used += _char_size(char)
        if used > budget:
            return index
    return len(text)


def _link_around(text: str, index: int) -> re.Match[str] | None:
    """The markdown link that ``index`` falls strictly inside, if any."""
    for match in _LINK.finditer(text):
        if match.start() >= index:
            return None
        if index < match.end():
            return match
    return None


def cut_to(text: str, budget: int, *, mark: str = CUT_MARK) -> str:
    """``text`` if it fits ``budget`` JSON bytes, else its beginning and ``mark`` within them.

    A cut never falls inside a markdown link ``[label](url)``: it moves to the link's start, or,
    when that would keep less than half the room, the link is shown by its label alone (the
    URL is dropped) and the label is cut. A cut never leaves a lone ``\\`` escaping the mark.
    Returns ``""`` when not even the mark fits.
    """
    if json_size(text) <= budget:
        return text
    room = budget - json_size(mark)
    if room < 0:
        return ""
    for _ in range(8):  # each round removes a link's URL; a few suffice
        end = prefix_within(text, room)
        inside = _link_around(text, end)
        if inside is None:
            break
        if json_size(text[: inside.start()]) >= room // 2:
            end = inside.start()
            break
        text = text[: inside.start()] + inside.group(1) + text[inside.end() :]
    else:
        end = prefix_within(text, room)
    kept = text[:end].rstrip()
    while kept.endswith("\\"):
        kept = kept[:-1].rstrip()
    return kept + mark
