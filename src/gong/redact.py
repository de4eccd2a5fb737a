"""Keeping secrets out of text meant for people: log lines, error messages, notes.

:func:`redact` is the last line of defence, applied to every log line Gong writes. It scrubs

- the value of a query, form, cookie, header or JSON field with a secret's name
  (``access_token``, ``sign``, ``token``, ``secret``, ``session``, ``password``, ``key``,
  ``authorization``, ``cookie``, …, also as the end of a longer name: ``refresh_token``), and
  ``Bearer``/``Basic`` credentials;
- the password in a URL (``scheme://user:password@host``);
- whatever has a secret's shape, wherever it stands: robot tokens (64 hex digits), the
  sessions of outgoing callbacks (32 hex digits), ``SEC…`` signing secrets, admin tokens
  (``gong_…``), session cookies and JWTs (``eyJ….….…``), DingTalk signatures (Base64
  HMAC-SHA256, raw or URL-encoded).

Tokens are named by their last four characters (``…9fb3``, see :func:`last4`); secrets,
signatures, passwords and cookies are replaced whole (``[redacted]``). A line with nothing that
could be a secret costs two short scans. Code does not rely on this: it names tokens with
:func:`last4` and keeps URLs, headers and settings out of its messages.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "last4", "redact"]

REDACTED = "[redacted]"

#: Field names whose value is a token, named by its last four characters; other values go whole.
_TOKEN_NAMES = frozenset({"access_token", "token", "private_token", "session"})

_NAMES = (
    "x-gitlab-token|x-codeup-token|access_token|private_token|csrf_token|token"
    "|signature|sign|source_secret|upstream_secret|secret|gong_session|session"
    "|password|passwd|pwd|api_key|apikey|key|authorization|set-cookie|cookie"
)

_PATTERN = re.compile(
    # name=value (query strings, forms, cookies), name: value (headers), "name": "value" (JSON,
    # also inside a JSON log line, where quotes are escaped), ('name', 'value') (reprs).
    rf"(?<![a-z])(?P<name>{_NAMES})"
    r"(?P<sep>(?:\\?[\"'])?[ \t]*[:=][ \t]*|\\?[\"'][ \t]*,[ \t]*b?(?=\\?[\"']))"
    r"(?:(?P<quote>\\?[\"'])(?P<quoted>[^\"'\\]*)"
    r"|(?P<scheme>(?:bearer|basic)[ \t]+)?(?P<value>[^\s\"'\\&;,<>(){}\[\]]+))"
    # Bearer or Basic credentials wherever they stand.
    r"|(?P<auth>\b(?:bearer|basic)[ \t]+)(?P<credential>[A-Za-z0-9._~+/=-]{8,})"
    # The password in a URL.
    r"|(?P<userinfo>\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+(?=@)"
    # Shapes: a SEC… secret, an admin token, a robot token or callback session, a session cookie
    # (itsdangerous, also compressed) or a JWT, a DingTalk signature (Base64 or URL-encoded).
    r"|(?P<sec>\bSEC[0-9a-f]{64}\b)"
    r"|(?P<admin>\bgong_[A-Za-z0-9_-]{40,})"
    r"|(?P<hex>(?<![0-9a-z])(?:[0-9a-f]{64}|[0-9a-f]{32})(?![0-9a-z]))"
    r"|(?P<cookie>\.?\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,})"
    r"|(?P<b64>(?<![A-Za-z0-9+/%])[A-Za-z0-9+/]{43}=(?![A-Za-z0-9+/=]))"
    r"|(?P<b64url>(?<![A-Za-z0-9%])(?:[A-Za-z0-9]|%2[BbFf]){43}%3[Dd](?![A-Za-z0-9%]))",
    re.IGNORECASE,
)

#: Cheap tests that a line may hold a secret (most lines hold none): a secret's name in the
#: lower-cased line, or a run of at least 32 token characters (every shape above is longer).
_NAME_HINT = re.compile(
    r"token|sign|secret|session|passw|pwd|key|authorization|cookie|bearer|basic|://"
)
_SHAPE_HINT = re.compile(r"[A-Za-z0-9_%+/=.-]{32}")


def last4(token: str | None) -> str:
    """A token named by its last four characters, ``…9fb3`` (just ``…`` when it is short)."""
    if not token or len(token) < 12:
        return "…"
    return "…" + token[-4:]


def _shown(name: str, value: str, bearer: bool) -> str:
    if value.startswith("…") or value == REDACTED:
        return value  # named or redacted already
    if bearer or name.lower() in _TOKEN_NAMES:
        return last4(value)
    return REDACTED


def _replace(match: re.Match[str]) -> str:
    name = match["name"]
    if name is not None:
        if match["quote"] is not None:
            quoted = match["quoted"]
            scheme, _, credential = quoted.partition(" ")
            if scheme.lower() == "bearer" and credential:
                shown = "Bearer " + last4(credential)
            else:
                shown = _shown(name, quoted, False)
            return f"{name}{match['sep']}{match['quote']}{shown}"
        scheme = match["scheme"] or ""
        shown = _shown(name, match["value"], scheme.lower().startswith("bearer"))
        return f"{name}{match['sep']}{scheme}{shown}"
    if match["auth"] is not None:
        return f"{match['auth']}{last4(match['credential'])}"
    if match["userinfo"] is not None:
        return f"{match['userinfo']}{REDACTED}"
    if match["admin"] is not None:
        return "gong_" + last4(match["admin"])
    if match["hex"] is not None:
        return last4(match["hex"])
    return REDACTED


def redact(text: str) -> str:
    """``text`` with every secret it shows replaced (see the module's docstring)."""
    if _NAME_HINT.search(text.lower()) is None and _SHAPE_HINT.search(text) is None:
        return text
    return _PATTERN.sub(_replace, text)
