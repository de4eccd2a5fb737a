"""Messages that fit: DingTalk refuses bodies above 20 000 bytes, so every built message is cut.

:func:`fit` cuts a whole message's text after the most lines that fit; :func:`fit_lines` keeps the
first lines of a list within a byte budget and says how many more there were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import (
    ActionCardMessage,
    MarkdownMessage,
    Message,
    TextMessage,
)

__all__ = ["MAX_MESSAGE_BYTES", "fit", "fit_lines"]

#: The body limit under the name this module has always exported (stated in
#: :mod:`gong.protocol.limits`); every built message stays at or below it.
MAX_MESSAGE_BYTES = MAX_BODY_BYTES


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


def _size(message: Message) -> int:
    return len(orjson.dumps(message.to_wire()))


#: The body limit as the note writes it ("20 000").
_LIMIT_TEXT = f"{MAX_BODY_BYTES:,}".replace(",", " ")
_CUT_NOTE = f"\n\n… (cut to fit the {_LIMIT_TEXT}-byte limit)"


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
    if _size(message) <= MAX_BODY_BYTES:
        return message
    if not isinstance(message, MarkdownMessage | ActionCardMessage | TextMessage):
        return message
    lines = message.body_text().split("\n")

    def with_lines(n: int) -> Message:
        return _with_text(message, "\n".join(lines[:n]).rstrip() + _CUT_NOTE)

    kept = _longest(len(lines), lambda n: _size(with_lines(n)) <= MAX_BODY_BYTES)
    if kept > 0:
        return with_lines(kept)
    first = lines[0]

    def with_chars(n: int) -> Message:
        return _with_text(message, first[:n] + "…" + _CUT_NOTE)

    return with_chars(_longest(len(first), lambda n: _size(with_chars(n)) <= MAX_BODY_BYTES))
