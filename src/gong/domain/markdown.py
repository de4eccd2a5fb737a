"""DingTalk's markdown subset, rendered to HTML that is safe to put in a page.

DingTalk renders only part of markdown: headings ``#``…``######``, quotes ``>``, ``**bold**``,
``*italic*``, links ``[text](url)``, images ``![](url)``, ordered and unordered lists, and line
breaks (a single ``\\n`` breaks the line). Everything else (tables, inline code, rules,
strikethrough, raw HTML) is shown as the text it was written as. One addition: fenced code blocks
(```` ``` ````) are shown as code, because the comments and reviews that integrations quote carry
them (the relayed copy keeps the fences as text, which is what DingTalk shows). Of HTML, only
``<font color=…>`` (a colour name or ``#hex``; ``size`` and ``face`` are dropped) and ``<br>``
are kept, because DingTalk senders such as Jenkins and Prometheus bridges use them to colour
status words.

Robot content is hostile until proven otherwise, so rendering has two locks:

1. markdown-it-py runs with only the rules above; a link is a link only when its URL is
   ``http``, ``https`` or ``dingtalk``, an image only when its URL is ``http`` or ``https``,
   and any other inline HTML becomes text;
2. nh3 then sanitises the HTML against an allow-list of tags, attributes and URL schemes.

``dingtalk://dingtalkclient/page/link?url=…`` (DingTalk's "open in the browser" wrapper) is
unwrapped to the URL it carries, wherever a URL appears.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = [
    "IMAGE_SCHEMES",
    "LINK_SCHEMES",
    "TITLE_MAX",
    "literal",
    "plain_title",
    "render_markdown",
    "safe_image",
    "safe_link",
    "sanitize",
    "unwrap",
]

#: Schemes a link may have.
LINK_SCHEMES = frozenset({"http", "https", "dingtalk"})
#: Schemes an image may have.
IMAGE_SCHEMES = frozenset({"http", "https"})

_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
#: Control characters and whitespace, which browsers strip or skip inside URLs.
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f]")
_MAX_URL = 4096

_SPECIAL = re.compile(r"([\\`*\[\]<~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_START = re.compile(r"^(\s*)([#>+|-])(?=\s|#|$)", re.MULTILINE)
_LINE_NUMBER = re.compile(r"^(\s*\d+)([.)])(?=\s|$)", re.MULTILINE)


def literal(text: str) -> str:
    """Text shown literally in markdown: emphasis, links, headings, HTML and list marks escaped."""
    text = _SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return _LINE_NUMBER.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def unwrap(url: str) -> str:
    """The URL inside a ``dingtalk://dingtalkclient/page/link?url=…`` wrapper, else ``url``."""
    for _ in range(3):  # wrappers of wrappers, within reason
        if _scheme(url) != "dingtalk":
            return url
        parts = urlsplit(url)
        if parts.netloc.lower() != "dingtalkclient" or parts.path.rstrip("/") != "/page/link":
            return url
        inner = parse_qs(parts.query).get("url")
        if not inner or not inner[0]:
            return url
        url = inner[0]
    return url


def _checked(url: str | None, schemes: frozenset[str]) -> str | None:
    if not url or len(url) > _MAX_URL:
        return None
    url = unwrap(url)
    if _UNSAFE_CHARS.search(url):
        return None
    scheme = _scheme(url)
    if scheme not in schemes:
        return None
    if scheme == "dingtalk" and unwrap(url) == url and _is_page_link(url):
        return None  # a page wrapper whose target could not be unwrapped
    return url


def _is_page_link(url: str) -> bool:
    parts = urlsplit(url)
    return parts.netloc.lower() == "dingtalkclient" and parts.path.rstrip("/") == "/page/link"


def safe_link(url: str | None) -> str | None:
    """``url`` unwrapped, if it may be a link target (http, https, dingtalk); else None."""
    return _checked(url, LINK_SCHEMES)


def safe_image(url: str | None) -> str | None:
    """``url`` unwrapped, if it may be an image source (http, https); else None."""
    return _checked(url, IMAGE_SCHEMES)


# -- markdown-it, restricted ---------------------------------------------------------------------

_BLOCK_RULES = ["heading", "blockquote", "list", "fence"]
_INLINE_RULES = ["newline", "escape", "entity", "emphasis", "link", "image", "html_inline"]

_BR = re.compile(r"<br\s*/?>\Z", re.IGNORECASE)
_FONT_OPEN = re.compile(
    r"""<font(?:\s+[a-zA-Z][a-zA-Z0-9-]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))?)*\s*>\Z""",
    re.IGNORECASE,
)
_FONT_CLOSE = re.compile(r"</font\s*>\Z", re.IGNORECASE)


def _restrict(tokens: list[Token]) -> None:
    """Turn every inline token outside the subset back into the text it came from."""
    for token in tokens:
        if token.children:
            token.children = _balance_fonts([_restrict_inline(c) for c in token.children])


def _balance_fonts(children: list[Token]) -> list[Token]:
    """Close ``<font>`` tags left open and drop stray ``</font>`` within one block."""
    depth = 0
    kept: list[Token] = []
    for child in children:
        if child.type == "html_inline" and _FONT_OPEN.match(child.content):
            depth += 1
        elif child.type == "html_inline" and _FONT_CLOSE.match(child.content):
            if depth == 0:
                continue
            depth -= 1
        kept.append(child)
    for _ in range(depth):
        close = Token("html_inline", "", 0)
        close.content = "</font>"
        kept.append(close)
    return kept


def _restrict_inline(token: Token) -> Token:
    if token.type == "html_inline" and not (
        _BR.match(token.content)
        or _FONT_OPEN.match(token.content)
        or _FONT_CLOSE.match(token.content)
    ):
        return _text(token.content)
    if token.type == "link_open":
        href = safe_link(str(token.attrGet("href") or ""))
        token.attrSet("href", href or "")
    elif token.type == "image":
        src = safe_image(str(token.attrGet("src") or ""))
        if src is None:
            alt = token.content
            return _text(f"![{alt}]({token.attrGet('src') or ''})")
        token.attrSet("src", src)
        token.attrSet("loading", "lazy")
    return token


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _validate_link(url: str) -> bool:
    # markdown-it asks this for links and images alike; images are narrowed in _restrict_inline.
    return safe_link(url) is not None


def _parser() -> MarkdownIt:
    md = MarkdownIt(
        "zero",
        {"html": True, "breaks": True, "linkify": False, "typographer": False, "maxNesting": 100},
    )
    md.enable(_BLOCK_RULES).enable(_INLINE_RULES)
    md.validateLink = _validate_link  # type: ignore[method-assign]
    return md


_MD = _parser()

# -- nh3, the second lock ------------------------------------------------------------------------

_TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "br",
    "blockquote",
    "strong",
    "em",
    "a",
    "img",
    "ul",
    "ol",
    "li",
    "font",
    "pre",
    "code",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "font": {"color"},
}
_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}")
_START = re.compile(r"[0-9]{1,9}")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value if safe_link(value) == value else None
    if tag == "img" and attribute == "src":
        return value if safe_image(value) == value else None
    if tag == "font" and attribute == "color":
        return value if _COLOR.fullmatch(value) else None
    if tag == "ol" and attribute == "start":
        return value if _START.fullmatch(value) else None
    return value


_CLEAN: dict[str, Any] = {
    "tags": _TAGS,
    "clean_content_tags": {"script", "style"},
    "attributes": _ATTRIBUTES,
    "tag_attribute_values": {"img": {"loading": {"lazy"}}},
    "attribute_filter": _attribute_filter,
    "url_schemes": set(LINK_SCHEMES),
    "link_rel": "noopener noreferrer nofollow",
    # One attribute per tag: nh3 adds these in no fixed order.
    "set_tag_attribute_values": {
        "a": {"target": "_blank"},
        "img": {"referrerpolicy": "no-referrer"},
    },
    "strip_comments": True,
}


def sanitize(html: str) -> str:
    """Sanitise HTML against the subset's allow-list (the second lock)."""
    return str(nh3.clean(html, **_CLEAN))


def render_markdown(text: str, *, mask: Sequence[tuple[str, str]] = ()) -> str:
    """Render DingTalk markdown to safe HTML.

    Args:
        text: the markdown, as a robot sent it.
        mask: ``(raw, shown)`` replacements applied to the source first (masked mobiles).
    """
    for raw, shown in mask:
        text = text.replace(raw, shown)
    env: dict[str, Any] = {}
    tokens = _MD.parse(text, env)
    _restrict(tokens)
    html = _MD.renderer.render(tokens, _MD.options, env)
    return sanitize(html).strip()


# -- a title from markdown -----------------------------------------------------------------------

#: The longest title :func:`plain_title` gives, in characters (the conversation list shows less).
TITLE_MAX = 40


def _plain(line: str) -> str:
    """One line's words without markup: headings, list and quote marks, emphasis and HTML tags
    dropped, links shown as their text and pictures as their alt text."""
    tokens = _MD.parse(line, {})
    _restrict(tokens)
    words: list[str] = []
    for token in tokens:
        for child in token.children or ():
            if child.type == "text":
                words.append(child.content)
            elif child.type == "image":
                words.append("".join(c.content for c in child.children or ()))
            elif child.type in ("softbreak", "hardbreak"):
                words.append(" ")
    return " ".join("".join(words).split())


def plain_title(text: str, limit: int = TITLE_MAX) -> str:
    """A markdown message's title as a person would write it: the first line that has words,
    without markup (``## Deploy **done**`` → ``Deploy done``), at most ``limit`` characters
    (cut with ``…``). Markdown with no words at all (a picture alone) gives its first line."""
    found = ""
    for line in text.splitlines():
        found = _plain(line)
        if found:
            break
    if not found:
        found = " ".join(text.split())
    return found if len(found) <= limit else found[: limit - 1].rstrip() + "…"
