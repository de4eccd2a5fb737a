"""DingTalk's markdown subset: what renders, what stays text, and that hostile input stays inert."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gong.domain.markdown import render_markdown, safe_image, safe_link, sanitize, unwrap

A = 'target="_blank" rel="noopener noreferrer nofollow"'
IMG = 'loading="lazy" referrerpolicy="no-referrer"'


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("# H1", "<h1>H1</h1>"),
        ("###### H6", "<h6>H6</h6>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        (
            "**bold** *italic* __b__ _i_",
            "<p><strong>bold</strong> <em>italic</em> <strong>b</strong> <em>i</em></p>",
        ),
        (
            "[site](https://example.com/a?b=1&c=2)",
            f'<p><a href="https://example.com/a?b=1&amp;c=2" {A}>site</a></p>',
        ),
        (
            "![pic](http://img.example/a.png)",
            f'<p><img src="http://img.example/a.png" alt="pic" {IMG}></p>',
        ),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("3. c", '<ol start="3">\n<li>c</li>\n</ol>'),
        ("line 1\nline 2", "<p>line 1<br>\nline 2</p>"),
        ("a<br>b<br/>c", "<p>a<br>b<br>c</p>"),
        ("x&nbsp;&nbsp;y &#160; &#xA0;", "<p>x&nbsp;&nbsp;y &nbsp; &nbsp;</p>"),
        # DingTalk's coloured text: the colour is kept, size and face are dropped.
        (
            "<font color=#ff0000 size=6 face=黑体>red</font>",
            '<p><font color="#ff0000">red</font></p>',
        ),
        ("<font color='green'>ok</font>", '<p><font color="green">ok</font></p>'),
        ("<font color=red>open", '<p><font color="red">open</font></p>'),
        ("stray</font>", "<p>stray</p>"),
        # Outside the subset: shown as the text it was written as.
        ("`code`", "<p>`code`</p>"),
        # Fenced code (quoted comments and reviews): shown as code, its markup and HTML as text.
        (
            "```\nfenced **b** <i>x</i>\n```",
            "<pre><code>fenced **b** &lt;i&gt;x&lt;/i&gt;\n</code></pre>",
        ),
        (
            '> ```python\n> x = "<script>"\n> ```',
            '<blockquote>\n<pre><code>x = "&lt;script&gt;"\n</code></pre>\n</blockquote>',
        ),
        ("```\nnever closed", "<pre><code>never closed</code></pre>"),
        ("    indented code", "<p>indented code</p>"),
        ("~~strike~~", "<p>~~strike~~</p>"),
        ("---", "<p>---</p>"),
        ("| a | b |\n|---|---|", "<p>| a | b |<br>\n|---|---|</p>"),
        ("Title\n===", "<p>Title<br>\n===</p>"),
        ("<http://example.com>", "<p>&lt;http://example.com&gt;</p>"),
        ("[ref][1]\n\n[1]: http://example.com", "<p>[ref][1]</p>\n<p>[1]: http://example.com</p>"),
        ("<b>bold?</b>", "<p>&lt;b&gt;bold?&lt;/b&gt;</p>"),
        ("<div>block</div>", "<p>&lt;div&gt;block&lt;/div&gt;</p>"),
    ],
)
def test_subset(source: str, html: str) -> None:
    assert render_markdown(source) == html


def test_dingtalk_wrapped_links_are_unwrapped() -> None:
    wrapped = "dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&pc_slide=false"
    assert render_markdown(f"[open]({wrapped})") == (
        f'<p><a href="https://example.com/a?b=1" {A}>open</a></p>'
    )
    assert render_markdown(f"![p]({wrapped})") == (
        f'<p><img src="https://example.com/a?b=1" alt="p" {IMG}></p>'
    )
    other = "dingtalk://dingtalkclient/action/sendmsg?dingtalk_id=abc"
    assert render_markdown(f"[chat]({other})") == f'<p><a href="{other}" {A}>chat</a></p>'


def test_masked_mobiles_are_replaced_before_rendering() -> None:
    assert render_markdown("ping @13812348000", mask=[("@13812348000", "@138****8000")]) == (
        "<p>ping @138****8000</p>"
    )


HOSTILE = [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
    ("<svg/onload=alert(1)>", "<p>&lt;svg/onload=alert(1)&gt;</p>"),
    ("<iframe src=javascript:alert(1)>", "<p>&lt;iframe src=javascript:alert(1)&gt;</p>"),
    (
        '<a href="javascript:alert(1)">x</a>',
        '<p>&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;</p>',
    ),
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>"),
    ("[x](&#106;avascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    ("[x](<javascript:alert(1)>)", "<p>[x](&lt;javascript:alert(1)&gt;)</p>"),
    ("[x](vbscript:msgbox(1))", "<p>[x](vbscript:msgbox(1))</p>"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>"),
    ("![x](data:image/png;base64,iVBORw0KGgo=)", "<p>![x](data:image/png;base64,iVBORw0KGgo=)</p>"),
    ("![x](javascript:alert(1))", "<p>![x](javascript:alert(1))</p>"),
    ("[x](//evil.example/)", "<p>[x](//evil.example/)</p>"),
    ("[x](/relative)", "<p>[x](/relative)</p>"),
    ("[x](file:///etc/passwd)", "<p>[x](file:///etc/passwd)</p>"),
    (
        "[x](dingtalk://dingtalkclient/page/link?url=javascript%3Aalert(1))",
        "<p>[x](dingtalk://dingtalkclient/page/link?url=javascript%3Aalert(1))</p>",
    ),
    ("![x](dingtalk://dingtalkclient/action/x)", "<p>![x](dingtalk://dingtalkclient/action/x)</p>"),
    ('[x](http://a "t" onmouseover="alert(1)")', '<p>[x](http://a "t" onmouseover="alert(1)")</p>'),
    (
        '[x](http://a "q\\" onmouseover=alert(1) x=\\"")',
        f'<p><a href="http://a" title="q&quot; onmouseover=alert(1) x=&quot;" {A}>x</a></p>',
    ),
    ('<font color="red" onclick="alert(1)">c</font>', '<p><font color="red">c</font></p>'),
    ('<font color="expression(alert(1))">c</font>', "<p><font>c</font></p>"),
    (
        '<font color="red" style="background:url(javascript:x)">c</font>',
        '<p><font color="red">c</font></p>',
    ),
    ('<font color="red>">x</font>', '<p>&lt;font color="red&gt;"&gt;x</p>'),
    (
        "<!-- comment --><style>*{}</style>",
        "<p>&lt;!-- comment --&gt;&lt;style&gt;*{}&lt;/style&gt;</p>",
    ),
    ("[unclosed](", "<p>[unclosed](</p>"),
    ("**unbalanced *emphasis", "<p>**unbalanced *emphasis</p>"),
    ("[[[[[[[[x", "<p>[[[[[[[[x</p>"),
]


@pytest.mark.parametrize(("source", "html"), HOSTILE)
def test_hostile_input_stays_inert(source: str, html: str) -> None:
    assert render_markdown(source) == html


def test_deep_nesting_does_not_break() -> None:
    deep = "> " * 90 + "deep" + "\n\n" + "- " * 40 + "list"
    html = render_markdown(deep)
    assert html.count("<blockquote>") == 90
    assert "deep" in html
    assert "list" in html


class _Collect(HTMLParser):
    """Every tag and attribute of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


ALLOWED = {
    "h1": set(),
    "h2": set(),
    "h3": set(),
    "h4": set(),
    "h5": set(),
    "h6": set(),
    "p": set(),
    "br": set(),
    "blockquote": set(),
    "strong": set(),
    "em": set(),
    "ul": set(),
    "li": set(),
    "ol": {"start"},
    "font": {"color"},
    "pre": set(),
    "code": set(),
    "a": {"href", "title", "target", "rel"},
    "img": {"src", "alt", "title", "loading", "referrerpolicy"},
}

pieces = st.sampled_from(
    [
        "<",
        ">",
        "&",
        '"',
        "'",
        "(",
        ")",
        "[",
        "]",
        "!",
        "*",
        "_",
        "#",
        "\n",
        " ",
        "-",
        "1.",
        "`",
        "<script>",
        "</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:",
        "data:",
        "http://x",
        "https://y/?a=1&b=2",
        "dingtalk://dingtalkclient/page/link?url=",
        "%3A",
        "<font color=red>",
        "</font>",
        "<br>",
        "on",
        "=",
        "style",
        "&#106;",
        "&lt;",
        "\\",
        "\t",
        "vbscript:",
        "://",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, max_size=40).map("".join))
def test_any_input_yields_only_allowed_markup(source: str) -> None:
    html = render_markdown(source)
    parser = _Collect()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED, (source, html)
        assert set(attrs) <= ALLOWED[tag], (source, html)
        if tag == "a" and "href" in attrs:
            assert re.match(r"(https?|dingtalk):", attrs["href"] or ""), (source, html)
        if tag == "img":
            assert re.match(r"https?:", attrs["src"] or ""), (source, html)
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    ("url", "link", "image"),
    [
        ("https://example.com/", "https://example.com/", "https://example.com/"),
        ("HTTP://EXAMPLE.COM/", "HTTP://EXAMPLE.COM/", "HTTP://EXAMPLE.COM/"),
        (
            "dingtalk://dingtalkclient/action/sendmsg?x=1",
            "dingtalk://dingtalkclient/action/sendmsg?x=1",
            None,
        ),
        (
            "dingtalk://dingtalkclient/page/link?url=http%3A%2F%2Fa.example%2F&pc_slide=true",
            "http://a.example/",
            "http://a.example/",
        ),
        ("dingtalk://dingtalkclient/page/link?url=javascript%3Aalert(1)", None, None),
        ("dingtalk://dingtalkclient/page/link", None, None),
        ("javascript:alert(1)", None, None),
        (" javascript:alert(1)", None, None),
        ("java\nscript:alert(1)", None, None),
        ("https://exa mple.com", None, None),
        ("data:image/png;base64,AAAA", None, None),
        ("//example.com/x", None, None),
        ("/local", None, None),
        ("@lADPDgQ9qnh6NhjNAljNAlg", None, None),
        ("", None, None),
        (None, None, None),
        ("https://" + "a" * 5000, None, None),
    ],
)
def test_url_checks(url: str | None, link: str | None, image: str | None) -> None:
    assert safe_link(url) == link
    assert safe_image(url) == image


def test_unwrap_leaves_other_urls() -> None:
    assert unwrap("https://example.com/?url=x") == "https://example.com/?url=x"
    nested = "dingtalk://dingtalkclient/page/link?url=" + (
        "dingtalk%3A%2F%2Fdingtalkclient%2Fpage%2Flink%3Furl%3Dhttps%253A%252F%252Fe.example%252F"
    )
    assert unwrap(nested) == "https://e.example/"


def test_sanitize_is_an_allow_list() -> None:
    assert sanitize('<p onclick="x">a<script>b</script><span>c</span><a href="/x">d</a></p>') == (
        '<p>ac<a rel="noopener noreferrer nofollow" target="_blank">d</a></p>'
    )
