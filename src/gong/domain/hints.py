"""Refusals that teach: what most likely went wrong with a refused call, when Gong can tell.

The DingTalk answer itself never changes (it stays byte-identical); the hint is kept with the
refusal record, which only admins read (``gong refusals``, the robot page, the management API):

- ``sign_encoded_twice``: the ``sign`` still holds URL escapes after one decoding, and decoding
  it once more gives the right signature (Apprise does this);
- ``timestamp_seconds``: a 10-digit ``timestamp`` that is now in seconds;
- ``clock_off``: a millisecond ``timestamp`` more than an hour from the server's clock, and by
  how much (the caller's clock is wrong, or the URL was signed long ago);
- ``secret_as_token``: the robot's signing secret sent as ``access_token``;
- ``keyword_missing``: the message holds none of the keywords, which the hint names;
- ``ip_not_allowed``: the caller's address, and the allow list it is not in.

A hint is stored as its code and parameters, and worded in the reader's language when shown.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from gong.i18n import Text, core
from gong.protocol.signing import MAX_CLOCK_SKEW_MS, verify

__all__ = ["Hint", "HintCode", "hint_for", "hint_text", "secret_as_token"]


class HintCode(enum.StrEnum):
    SIGN_ENCODED_TWICE = "sign_encoded_twice"
    TIMESTAMP_SECONDS = "timestamp_seconds"
    CLOCK_OFF = "clock_off"
    SECRET_AS_TOKEN = "secret_as_token"  # noqa: S105 - a hint's name, not a secret
    KEYWORD_MISSING = "keyword_missing"
    IP_NOT_ALLOWED = "ip_not_allowed"


@dataclass(frozen=True, slots=True)
class Hint:
    code: HintCode
    params: Mapping[str, Any] = field(default_factory=dict)


def _seconds_hint(timestamp: str, now_ms: int) -> Hint | None:
    seconds = len(timestamp) == 10 and timestamp.isascii() and timestamp.isdigit()
    if seconds and abs(now_ms - int(timestamp) * 1000) <= MAX_CLOCK_SKEW_MS:
        return Hint(HintCode.TIMESTAMP_SECONDS, {"timestamp": timestamp})
    return None


def hint_for(
    reason: str,
    *,
    now_ms: int,
    ip: str,
    timestamp: str | None = None,
    sign: str | None = None,
    secret: str | None = None,
    keywords: Sequence[str] = (),
    allowed_ips: Sequence[str] = (),
) -> Hint | None:
    """The hint for a refusal recorded as ``reason`` (an errcode name), or None.

    ``timestamp`` and ``sign`` are the query's values, URL-decoded once (as checked).
    """
    if reason == "sign" and secret and sign and timestamp:
        if "%" in sign:
            again = unquote(sign)
            if again != sign and verify(secret, timestamp, again):
                return Hint(HintCode.SIGN_ENCODED_TWICE)
        return None
    if reason in ("timestamp", "timestamp_expired") and timestamp:
        seconds = _seconds_hint(timestamp, now_ms)
        if seconds is not None:
            return seconds
        if reason == "timestamp_expired" and timestamp.isdigit():
            off_ms = int(timestamp) - now_ms
            return Hint(
                HintCode.CLOCK_OFF,
                {"minutes": round(abs(off_ms) / 60_000), "ahead": off_ms > 0},
            )
        return None
    if reason == "keyword" and keywords:
        return Hint(HintCode.KEYWORD_MISSING, {"keywords": list(keywords)})
    if reason == "ip":
        return Hint(HintCode.IP_NOT_ALLOWED, {"ip": ip, "allowed": list(allowed_ips)})
    return None


def secret_as_token() -> Hint:
    """The hint for a call whose ``access_token`` was the robot's signing secret."""
    return Hint(HintCode.SECRET_AS_TOKEN)


def hint_text(code: str | None, params: Mapping[str, Any]) -> Text | None:
    """A stored hint in words (``str()`` English, ``.translated()`` the reader's language)."""
    if not code:
        return None
    if code == HintCode.SIGN_ENCODED_TWICE:
        return core.lazy(
            "the sign was URL-encoded twice: encode the Base64 signature once "
            "(its + / = become %%2B %%2F %%3D), not the already-encoded value again"
        )
    if code == HintCode.TIMESTAMP_SECONDS:
        return core.lazy(
            "timestamp %(timestamp)s is in seconds; DingTalk and Gong want milliseconds "
            "(%(timestamp)s000)",
            timestamp=str(params.get("timestamp", "")),
        )
    if code == HintCode.CLOCK_OFF:
        if params.get("ahead"):
            return core.lazy(
                "the caller's clock is %(minutes)s minutes ahead of the server's (the limit is "
                "60); set its clock, or sign each call just before sending it",
                minutes=int(params.get("minutes", 0)),
            )
        return core.lazy(
            "the timestamp is %(minutes)s minutes old (the limit is 60): the caller's clock is "
            "behind, or the URL was signed once and reused; sign each call just before sending",
            minutes=int(params.get("minutes", 0)),
        )
    if code == HintCode.SECRET_AS_TOKEN:
        return core.lazy(
            "the robot's signing secret (SEC…) was sent as access_token: send the access token, "
            "and use the secret only to compute sign"
        )
    if code == HintCode.KEYWORD_MISSING:
        return core.lazy(
            "the message holds none of the robot's keywords: %(keywords)s",
            keywords=", ".join(str(k) for k in params.get("keywords", ())),
        )
    if code == HintCode.IP_NOT_ALLOWED:
        return core.lazy(
            "the call came from %(ip)s, which is not in the robot's allow list (%(allowed)s)",
            ip=str(params.get("ip", "")),
            allowed=", ".join(str(a) for a in params.get("allowed", ())) or "-",
        )
    return None
