"""Regular expressions that say in JSON Schema what the server's own checks accept.

The management API's schema is generated from its pydantic models, and pydantic enforces every
``pattern`` with Rust's regex engine; the deeper checks are Python (``str.strip``, ``urlsplit``,
``ipaddress``). Those readers disagree on ``\\s``, ``\\d`` and ``$`` (Rust's ``\\d`` is any
Unicode digit, Python strips ``\\x1c``-``\\x1f`` and ECMA-262 does not, Python's ``$`` also
matches before a final newline), so these patterns spell every character class out and end
with ``$`` only where nothing can follow. Each pattern states the rule of the check named next to
it; ``tests/fuzz/test_patterns.py`` holds them to those checks.
"""

from __future__ import annotations

from gong.integrations.config import MAX_EVENT_NAME, MAX_HEADER_NAME

__all__ = [
    "BLANK",
    "EVENT_NAME",
    "HEADER_NAME",
    "IPV4_ENTRY",
    "NFKC_DELIMITERS",
    "NOT_BLANK",
    "ONE_LINE",
    "OUTGOING_URL",
    "SECRET",
    "SOURCE_SECRET",
    "SPACE",
    "TOKEN",
    "TRELLO_URL",
    "UPSTREAM_URL",
]

#: What ``str.strip()`` removes: the characters for which ``str.isspace()`` is true.
SPACE = r"\x09-\x0d\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: The spaces of ``SPACE`` other than " ".
_OTHER_SPACE = r"\x09-\x0d\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Control characters (``ord(c) < 32`` or DEL), refused in tokens, secrets and URLs.
_CONTROL = r"\x00-\x1f\x7f"
#: What ``str.isprintable()`` refuses of the Latin-1 range: C0 and C1 controls.
_CONTROL_C1 = r"\x00-\x1f\x7f-\x9f"
#: Characters whose NFKC form holds a URL delimiter: ``urlsplit`` refuses them in a host.
NFKC_DELIMITERS = (
    r"\u2047-\u2049\u2100\u2101\u2105\u2106\u2a74\ufe13\ufe16\ufe55\ufe56\ufe5f\ufe6b"
    r"\uff03\uff0f\uff1a\uff1f\uff20"
)

#: Something left after ``strip()``: the repository's names and keywords.
NOT_BLANK = rf"^[{SPACE}]*[^{SPACE}][\s\S]*$"
#: Nothing left after ``strip()`` (for ``not``).
BLANK = f"^[{SPACE}]*$"
#: A token: one word once stripped (``gong.domain.robots``: no spaces or control characters).
TOKEN = f"^[{SPACE}]*[^{_CONTROL}{SPACE}]+[{SPACE}]*$"
#: An upstream's signing secret: one word once stripped, or nothing (no secret).
SECRET = f"^[{SPACE}]*[^{_CONTROL}{SPACE}]*[{SPACE}]*$"
#: An upstream's keyword: one line once stripped (no control characters, no spaces but " ").
ONE_LINE = f"^[{SPACE}]*[^{_CONTROL}{_OTHER_SPACE}]*[{SPACE}]*$"
#: ``integrations.config``'s source secret: no spaces at its ends, no control characters and no
#: spaces other than " " inside (``str.isprintable()`` also refuses unassigned, private-use and
#: format characters, which the description states).
SOURCE_SECRET = (
    f"^[^{_CONTROL_C1}{SPACE}](?:[^{_CONTROL_C1}{_OTHER_SPACE}]*[^{_CONTROL_C1}{SPACE}])?$"
)
#: An event name of ``only_events``/``exclude_events``: 1 to ``MAX_EVENT_NAME`` characters and no
#: spaces once stripped.
EVENT_NAME = f"^[{SPACE}]*[^{SPACE}]{{1,{MAX_EVENT_NAME}}}[{SPACE}]*$"
#: An HTTP header name as Grafana robots take it (``re.match`` with ``$``, which also matches
#: before a final newline).
HEADER_NAME = rf"^[A-Za-z0-9-]{{1,{MAX_HEADER_NAME}}}\n?$"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
#: An IP allow-list entry: an IPv4 address or CIDR range (``ipaddress.ip_network``, which takes
#: no leading zeros in an address), with spaces around it that ``strip()`` removes.
IPV4_ENTRY = rf"^[{SPACE}]*{_IPV4}(?:/(?:3[0-2]|[0-2]?[0-9]))?[{SPACE}]*$"

_H16 = "[0-9A-Fa-f]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
#: RFC 3986's IPv6address, which ``ipaddress`` (and so ``urlsplit``) reads.
_IPV6 = (
    "(?:"
    + "|".join(
        [
            f"(?:{_H16}:){{6}}{_LS32}",
            f"::(?:{_H16}:){{5}}{_LS32}",
            f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        ]
    )
    + ")"
)
#: What ``urlsplit`` takes in brackets: an IPv6 address (with a zone, as ``ipaddress`` reads
#: it) or an IPvFuture one.
_BRACKETED = (
    rf"\[(?:{_IPV6}(?:%[^{_CONTROL}{SPACE}{NFKC_DELIMITERS}%/?#\]]+)?"
    rf"|v[0-9A-Fa-f]+\.[^{_CONTROL}{SPACE}{NFKC_DELIMITERS}/?#\]]+)\]"
)
#: A host name character: no delimiter, space or control character, nothing that ``urlsplit``
#: refuses once NFKC-normalised.
_NAME = f"[^{_CONTROL}{SPACE}{NFKC_DELIMITERS}/?#@:\\[\\]]"
#: A bracketed host; ``urlsplit`` ignores what follows the brackets up to the port.
_BRACKETED_HOST = f"{_BRACKETED}{_NAME}*"
#: A host name label (without dots): at most 63 characters between dots, the IDNA codec's limit
#: (for a name in ASCII; for another one the limit is on its ``xn--`` form).
_LABEL = f"[^{_CONTROL}{SPACE}{NFKC_DELIMITERS}/?#@:.\\[\\]]"
_PORT = (
    r"(?::0*(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    r"|[1-9][0-9]{0,3})?)?"
)
_SCHEME = "[Hh][Tt][Tt][Pp][Ss]?://"
_REST = f"(?:[/?][^{_CONTROL}{SPACE}#]*)?#?"
#: An upstream webhook as ``gong.domain.robots.check_upstream`` takes it, once stripped: http(s),
#: a host, a port if any (0-65535), no user name or password, no spaces or control characters,
#: no ``#fragment``.
UPSTREAM_URL = f"^[{SPACE}]*{_SCHEME}(?:{_NAME}+|{_BRACKETED_HOST}){_PORT}{_REST}[{SPACE}]*$"
#: An outgoing callback URL (``gong.domain.robots.check_outgoing_settings``): an upstream's form,
#: and a host name that the IDNA codec encodes (labels of 1 to 63 characters).
OUTGOING_URL = (
    f"^[{SPACE}]*{_SCHEME}(?:(?:{_LABEL}{{1,63}}\\.)*{_LABEL}{{1,63}}\\.?|{_BRACKETED_HOST})"
    f"{_PORT}{_REST}[{SPACE}]*$"
)
#: A Trello callback URL (``gong.integrations.config``): http(s) and a host; a user, a port and
#: anything after them are the URL's own business. (``urlsplit`` also drops tabs and line breaks
#: anywhere and spaces before the scheme, and reads brackets elsewhere than around the host;
#: this form takes none of those.)
_TRELLO_CHAR = rf"[^/?#@:\[\]\t\n\r{NFKC_DELIMITERS}]"
TRELLO_URL = (
    rf"^{_SCHEME}(?:(?:{_TRELLO_CHAR}|:)*@)?(?:{_TRELLO_CHAR}+|{_BRACKETED}{_TRELLO_CHAR}*)"
    rf"(?::(?:{_TRELLO_CHAR}|:)*)?(?:[/?#][\s\S]*)?$"
)
