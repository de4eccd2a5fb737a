"""A markdown message's title from its text (:func:`gong.domain.markdown.plain_title`): the
first line that has words, without markup, as the conversation list shows it."""

from __future__ import annotations

import pytest

from gong.domain.markdown import TITLE_MAX, plain_title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("## Composer markdown\n- **a**\n- b", "Composer markdown"),
        ("# 发布完成", "发布完成"),
        ("###### six", "six"),
        ("- **a** b", "a b"),
        ("1. one\n2. two", "one"),
        ("> quoted *words*", "quoted words"),
        ("[link text](https://e.test/x) and __more__", "link text and more"),
        ("see [a link](javascript:alert(1))", "see [a link](javascript:alert(1))"),
        ("![the logo](https://e.test/logo.png) Release", "the logo Release"),
        ('<font color="red">红色</font> 告警', "红色 告警"),
        ("a<br>b", "ab"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("\\*not emphasis\\*", "*not emphasis*"),
        # Lines without words are passed over: a blank line, a fence, a bare heading mark.
        ("\n\n   \nsecond", "second"),
        ("```\ncode line\n```", "code line"),
        ("####\nafter the mark", "after the mark"),
        ("  spaced    out  ", "spaced out"),
        # Nothing but a picture without alt text: the line itself.
        ("![](https://e.test/p.png)", "![](https://e.test/p.png)"),
    ],
)
def test_the_title_is_the_first_line_without_markup(text: str, title: str) -> None:
    assert plain_title(text) == title


def test_a_long_line_is_cut_with_an_ellipsis() -> None:
    line = "**" + "长" * 100 + "**"
    title = plain_title(line)
    assert len(title) == TITLE_MAX
    assert title == "长" * (TITLE_MAX - 1) + "…"
    assert plain_title("x" * TITLE_MAX) == "x" * TITLE_MAX
    assert plain_title("word " * 20, limit=12) == "word word w…"
