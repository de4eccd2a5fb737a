"""The shared helpers: escaping, cutting, durations, times, and fitting 20 000 bytes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from markdown_it import MarkdownIt

from gong.domain.models import RobotKind
from gong.integrations import sources
from gong.integrations.config import redacted
from gong.integrations.fitting import MAX_MESSAGE_BYTES, fit, fit_lines
from gong.integrations.text import (
    cut,
    duration,
    escape,
    fenced,
    first_line,
    link,
    markdown,
    quote,
    timestamp,
)
from gong.protocol.messages import Text, TextMessage

_MD = MarkdownIt("commonmark", {"html": False})


@pytest.mark.parametrize(
    "text",
    [
        "**bold** _it_ [link](http://x) <b>tag</b> `code` ~~s~~ \\",
        "# heading",
        "1. first",
        "- item",
        "> quote",
        "| a | b |",
    ],
)
def test_escape_shows_text_literally(text: str) -> None:
    html = _MD.render(escape(text))
    literal = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert html == f"<p>{literal}</p>\n"


def test_escape_leaves_plain_words_alone() -> None:
    assert escape("snake_case v1.2 #12 a-b 3. x") == "snake_case v1.2 #12 a-b 3. x"


def test_link() -> None:
    assert link("a [b]", "https://x.example/p (1)") == "[a \\[b\\]](https://x.example/p%20%281%29)"
    assert link("plain", None) == "plain"


def test_cut_and_first_line() -> None:
    assert cut("abcdef", 4) == "abc…"
    assert cut("abc", 4) == "abc"
    assert first_line("\n\n  second line  \nthird", 100) == "second line"
    assert first_line(None) == ""


def test_quote() -> None:
    assert quote("one\ntwo\n\nthree") == "> one  \n> two\n>\n> three"
    assert quote("<!-- template -->\nreal") == "> real"
    assert quote("a\n" * 20, lines=3) == "> a  \n> a  \n> a …"
    assert quote("```\ncode") == "> ```\n> code\n> ```"
    # Cut right after a code block: the "…" goes on its own line, not onto the closing fence.
    assert quote("```\ncode\n```\nmore", lines=3) == "> ```\n> code\n> ```\n>\n> …"
    assert fenced("a ``` b") == "````\na ``` b\n````"
    assert fenced("x = 1", "python") == "```python\nx = 1\n```"
    assert quote(None) == "" and quote("   ") == ""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (-1, ""),
        (0, "0 s"),
        (59.6, "1 min"),
        (63, "1 min 3 s"),
        (3600, "1 h"),
        (7322, "2 h 2 min"),
    ],
)
def test_duration(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-09-27T16:27:56.612666101Z", dt.datetime(2019, 9, 27, 16, 27, 56, 612666, dt.UTC)),
        ("2021-10-12T09:51:03.157076+02:00", dt.datetime(2021, 10, 12, 7, 51, 3, 157076, dt.UTC)),
        ("2016-08-12 15:23:28 UTC", dt.datetime(2016, 8, 12, 15, 23, 28, tzinfo=dt.UTC)),
        ("2022-04-01 13:49:55 +0800", dt.datetime(2022, 4, 1, 5, 49, 55, tzinfo=dt.UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_timestamp(text: str | None, expected: dt.datetime | None) -> None:
    assert timestamp(text) == expected


def test_fit_lines() -> None:
    lines = [f"line {i}" for i in range(100)]
    shown = fit_lines(lines, 10_000, lambda n: f"and {n} more", keep=5)
    assert shown == ["line 0", "line 1", "line 2", "line 3", "line 4", "and 95 more"]
    assert fit_lines(["x" * 100] * 3, 300, lambda n: f"+{n}") == ["x" * 100, "x" * 100, "+1"]


def test_fit_cuts_any_text_to_the_limit() -> None:
    text = "\n".join(f'{i} 中文字符与 emoji 🎉 and "quotes"' for i in range(2_000))
    for message in (markdown("t", text), TextMessage(text=Text(content=text))):
        fitted = fit(message)
        size = len(json.dumps(fitted.to_wire(), ensure_ascii=False, separators=(",", ":")).encode())
        assert MAX_MESSAGE_BYTES - 1_000 < size <= MAX_MESSAGE_BYTES
        assert fitted.body_text().endswith("\n\n… (cut to fit the 20 000-byte limit)")
    small = markdown("t", "short")
    assert fit(small) is small


def test_every_kind_has_a_source() -> None:
    assert sorted(sources()) == sorted(
        [
            "github",
            "gitlab",
            "codeup",
            "jira",
            "travis",
            "trello",
            "alertmanager",
            "grafana",
            "template",
            "gitea",
            "jenkins",
            "sentry",
            "harbor",
            "uptime-kuma",
        ]
    )
    assert set(sources()) == set(RobotKind) - {RobotKind.CUSTOM}


def test_redacted_hides_secrets() -> None:
    assert redacted({"source_secret": "x", "only_events": ["push"]}) == {
        "source_secret": "********",
        "only_events": ["push"],
    }
