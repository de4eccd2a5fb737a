"""Messages larger than one DingTalk message: split into numbered parts, or summarised."""

from __future__ import annotations

from typing import Any

from gong.protocol.messages import (
    ActionCardMessage,
    MarkdownMessage,
    Message,
    TextMessage,
    encode,
    parse_message,
)
from gong.protocol.oversized import Pointer, fits, split, summarise

LIMIT = 20_000


def sent_size(message: Message) -> int:
    return len(encode({**message.to_wire(), "msgUuid": "gong-" + "f" * 75}))


def alert_storm(target: int = 60_000) -> tuple[str, int]:
    """A markdown alert group of about ``target`` bytes: paragraphs of numbered alert lines."""
    lines = ["#### [FIRING:600] DiskFull", "", "**job**: node · **severity**: critical", ""]
    n = 0
    while len("\n".join(lines).encode()) < target:
        lines.append(f"- alert-{n:04d} db-{n} disk 97% [graph](https://grafana.example.com/d/{n})")
        if n % 40 == 39:
            lines.append("")
        n += 1
    return "\n".join(lines), n


def markdown(text: str, **extra: Any) -> MarkdownMessage:
    message = parse_message(
        {
            "msgtype": "markdown",
            "markdown": {"title": "[FIRING:600] DiskFull", "text": text},
            **extra,
        }
    )
    assert isinstance(message, MarkdownMessage)
    return message


def test_a_split_keeps_every_line_in_order_in_numbered_parts_that_fit() -> None:
    text, n = alert_storm()
    message = markdown(text, at={"atMobiles": ["13800000001"]})
    assert not fits(message)
    parts = split(message)
    assert 3 <= len(parts) <= 5
    total = len(parts)
    rebuilt = []
    for number, part in enumerate(parts, 1):
        assert isinstance(part, MarkdownMessage)
        assert sent_size(part) < LIMIT
        assert part.markdown.title == f"({number}/{total}) [FIRING:600] DiskFull"
        first, body = part.markdown.text.split("\n", 1)
        assert first == f"({number}/{total})"
        if number == 1:
            assert part.to_wire()["at"]["atMobiles"] == ["13800000001"]
            assert body.endswith("\n\n@13800000001")  # DingTalk notifies only a written @
            body = body.removesuffix("\n\n@13800000001")
        else:
            assert part.at is None  # notified once
        rebuilt.append(body)
        # Cut between paragraphs: every part after the first starts with an alert line.
        if number > 1:
            assert body.startswith("- alert-")
    assert "\n\n".join(rebuilt) == text.strip()
    assert all(f"alert-{i:04d} " in "".join(rebuilt) for i in range(n))


def test_one_line_longer_than_a_part_is_cut_inside_with_marks_and_nothing_lost() -> None:
    line = "".join(f"<{i:05d}>" for i in range(4_000))  # 28 000 bytes on one line
    message = parse_message({"msgtype": "text", "text": {"content": f"alert\n{line}\nend"}})
    parts = split(message, keyword="alert")
    assert len(parts) == 2
    texts = []
    for number, part in enumerate(parts, 1):
        assert isinstance(part, TextMessage)
        assert sent_size(part) < LIMIT
        mark, body = part.text.content.split("\n", 1)
        texts.append(body)
        assert mark == ("(1/2)" if number == 1 else "alert (2/2)")  # a text has no title
    assert texts[0].endswith("…")
    assert texts[1].startswith("…")
    joined = texts[0].removesuffix("…") + texts[1].removeprefix("…")
    assert joined == f"alert\n{line}\nend"


def test_an_action_card_keeps_its_buttons_and_the_keyword_goes_into_titles() -> None:
    text, _ = alert_storm(30_000)
    card = parse_message(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "Disk report",
                "text": text,
                "btns": [{"title": "Ack", "actionURL": "https://ops.example.com/ack"}],
            },
        }
    )
    parts = split(card, keyword="告警")
    assert len(parts) == 2
    for number, part in enumerate(parts, 1):
        assert isinstance(part, ActionCardMessage)
        assert part.actionCard.title == f"({number}/2) 告警 Disk report"
        assert part.actionCard.buttons[0].actionURL == "https://ops.example.com/ack"
        assert sent_size(part) < LIMIT


def test_a_summary_keeps_the_beginning_and_points_at_the_whole() -> None:
    text, _ = alert_storm()
    url = "https://gong.example.com/groups/1?at=42#m-42"
    summary = summarise(markdown(text), Pointer("Full message (600 alerts, 61 KB) in Gong", url))
    assert isinstance(summary, MarkdownMessage)
    assert sent_size(summary) < LIMIT
    assert sent_size(summary) > LIMIT - 200  # as much as fits
    assert summary.markdown.title == "[FIRING:600] DiskFull"
    kept, footer = summary.markdown.text.rsplit("\n\n…\n\n", 1)
    assert text.startswith(kept)
    assert kept.endswith(")")  # cut after a whole line
    assert footer == f"Full message (600 alerts, 61 KB) in Gong: [{url}]({url})"


def test_a_summary_without_a_url_says_where_and_a_text_carries_the_keyword() -> None:
    message = parse_message(
        {
            "msgtype": "text",
            "text": {"content": "x" * 25_000 + " @13800000001"},
            "at": {"atMobiles": ["13800000001"]},
        }
    )
    summary = summarise(
        message,
        Pointer("Full message (25 KB) in Gong: group ops (id 1), message 7"),
        keyword="alert",
    )
    assert isinstance(summary, TextMessage)
    assert sent_size(summary) < LIMIT
    content = summary.text.content
    assert content.startswith("alert\nxxx")
    assert content.endswith(
        "x…\n\n…\n\nFull message (25 KB) in Gong: group ops (id 1), message 7\n\n@13800000001"
    )
    assert summary.to_wire()["at"]["atMobiles"] == ["13800000001"]


def test_link_and_feed_cards_are_written_as_markdown() -> None:
    feed = parse_message(
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {"title": f"news [{i}]", "messageURL": f"https://n.example.com/{i}" + "p" * 60}
                    for i in range(400)
                ]
            },
        }
    )
    parts = split(feed)
    assert len(parts) == 3
    assert all(isinstance(p, MarkdownMessage) and sent_size(p) < LIMIT for p in parts)
    text = "\n".join(p.markdown.text for p in parts if isinstance(p, MarkdownMessage))
    assert all(f"- [news ({i})](https://n.example.com/{i}" in text for i in range(400))
