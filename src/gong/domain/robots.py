"""Rules for a robot's settings, checked wherever robots are created or changed."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from gong.domain.errors import Invalid
from gong.domain.models import Outgoing, RateLimit, RobotKind, Upstream
from gong.protocol.limits import (
    MAX_IP_ALLOW,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    MAX_OUTGOING_TOKEN,
    MAX_OUTGOING_URL,
    MAX_RATE_BLOCK,
    MAX_RATE_LIMIT,
    MAX_RATE_WINDOW,
    MAX_UPSTREAM_LIMIT,
    MAX_UPSTREAM_SECRET,
    MAX_UPSTREAM_URL,
    MAX_UPSTREAM_WINDOW,
    MIN_UPSTREAM_WINDOW,
)
from gong.protocol.security import parse_networks

__all__ = [
    "check_outgoing_settings",
    "check_settings",
    "check_upstream",
    "upstream_token",
]


def check_settings(
    *,
    kind: RobotKind,
    keywords: Sequence[str],
    signing: bool,
    ip_allow: Sequence[str],
    rate_limit: RateLimit,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validate and normalise keywords and IP entries; returns them cleaned.

    A ``custom`` robot needs at least one security setting, as on DingTalk; integration kinds are
    protected by their source's own secret instead, so keywords and signing (which their senders
    cannot satisfy) are refused for them; an IP allow list applies to every kind.

    Raises:
        Invalid: with a message naming the rule that was broken.
    """
    clean_keywords = tuple(dict.fromkeys(k.strip() for k in keywords))
    if any(not k for k in clean_keywords):
        raise Invalid("a keyword cannot be empty")
    if len(clean_keywords) > MAX_KEYWORDS:
        raise Invalid(f"at most {MAX_KEYWORDS} keywords, got {len(clean_keywords)}")
    for keyword in clean_keywords:
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise Invalid(f"keyword {keyword[:20]!r}… is longer than {MAX_KEYWORD_LENGTH}")
    if len(ip_allow) > MAX_IP_ALLOW:
        raise Invalid(f"at most {MAX_IP_ALLOW} IP allow-list entries, got {len(ip_allow)}")
    try:
        networks = parse_networks(ip_allow)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    clean_ips = tuple(
        dict.fromkeys(str(n) if n.prefixlen < 32 else str(n.network_address) for n in networks)
    )
    if kind is not RobotKind.CUSTOM and (clean_keywords or signing):
        what = "keywords" if clean_keywords else "signing (加签)"
        raise Invalid(
            f"{what} apply only to custom robots; a {kind} robot is protected by its source "
            "secret (and optionally an IP allow list)"
        )
    if kind is RobotKind.CUSTOM and not (clean_keywords or signing or clean_ips):
        raise Invalid(
            "a custom robot needs at least one security setting: keywords, signing or an IP "
            "allow list"
        )
    for name, value, top in (
        ("rate limit", rate_limit.limit, MAX_RATE_LIMIT),
        ("rate window", rate_limit.window_s, MAX_RATE_WINDOW),
        ("block", rate_limit.block_s, MAX_RATE_BLOCK),
    ):
        if not 0 <= value <= top:
            raise Invalid(f"{name} must be between 0 and {top}, got {value}")
    return clean_keywords, clean_ips


def _printable(text: str) -> bool:
    """No spaces, no control characters."""
    return not any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text)


def upstream_token(url: str) -> str | None:
    """The ``access_token`` of a webhook URL, if it has one."""
    values = parse_qs(urlsplit(url).query).get("access_token")
    return values[-1] if values else None


def check_upstream(upstream: Upstream, own_token: str | None = None) -> Upstream:
    """Validate a relay upstream; returns it with the URL and secret trimmed.

    Raises:
        Invalid: naming what is wrong (not an http(s) URL, the robot's own webhook, limits out
            of range, …).
    """
    url = upstream.url.strip()
    if len(url) > MAX_UPSTREAM_URL:
        raise Invalid(f"the upstream URL is longer than {MAX_UPSTREAM_URL} characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise Invalid(f"the upstream must be an http(s) webhook URL, got {url[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not hostname or not _printable(url):
        raise Invalid(f"the upstream must be an http(s) webhook URL, got {url[:80]!r}")
    if parts.username is not None or parts.password is not None:
        raise Invalid("the upstream URL cannot carry a user name or password")
    if parts.fragment:
        raise Invalid("the upstream URL cannot have a #fragment")
    if own_token is not None and upstream_token(url) == own_token:
        raise Invalid("a robot cannot relay to its own webhook")
    secret = (upstream.secret or "").strip() or None
    if secret is not None and (len(secret) > MAX_UPSTREAM_SECRET or not _printable(secret)):
        raise Invalid(
            f"the upstream secret must be one word of at most {MAX_UPSTREAM_SECRET} characters"
        )
    keyword = upstream.keyword.strip()
    if len(keyword) > MAX_KEYWORD_LENGTH or not _printable(keyword.replace(" ", "")):
        raise Invalid(f"the upstream keyword must be one line of at most {MAX_KEYWORD_LENGTH}")
    for name, value, low, top in (
        ("upstream limit", upstream.limit, 0, MAX_UPSTREAM_LIMIT),
        ("upstream window", upstream.window_s, MIN_UPSTREAM_WINDOW, MAX_UPSTREAM_WINDOW),
        ("upstream block", upstream.block_s, 0, MAX_RATE_BLOCK),
    ):
        if not low <= value <= top:
            raise Invalid(f"{name} must be between {low} and {top}, got {value}")
    return Upstream(
        url=url,
        secret=secret,
        limit=upstream.limit,
        window_s=upstream.window_s,
        block_s=upstream.block_s,
        keyword=keyword,
        fit=upstream.fit,
    )


def check_outgoing_settings(outgoing: Outgoing) -> Outgoing:
    """Validate the form of an outgoing callback target; returns it trimmed.

    Where the URL may point (not at private addresses, not at this server) is checked by
    :func:`gong.outgoing.guard.check_outgoing`, which needs the network.

    Raises:
        Invalid: naming what is wrong.
    """
    url = outgoing.url.strip()
    if len(url) > MAX_OUTGOING_URL:
        raise Invalid(f"the outgoing URL is longer than {MAX_OUTGOING_URL} characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise Invalid(f"the outgoing URL must be an http(s) URL, got {url[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not hostname or not _printable(url):
        raise Invalid(f"the outgoing URL must be an http(s) URL, got {url[:80]!r}")
    try:
        hostname.encode("idna")
    except UnicodeError:
        raise Invalid(f"the outgoing URL's host {hostname[:80]!r} is not a valid name") from None
    if parts.username is not None or parts.password is not None:
        raise Invalid("the outgoing URL cannot carry a user name or password")
    if parts.fragment:
        raise Invalid("the outgoing URL cannot have a #fragment")
    token = outgoing.token.strip()
    if not token:
        raise Invalid(
            "the outgoing token cannot be empty: the callback sends it to prove it is Gong"
        )
    if len(token) > MAX_OUTGOING_TOKEN or not _printable(token):
        raise Invalid(f"the outgoing token must be one word of at most {MAX_OUTGOING_TOKEN}")
    return Outgoing(url=url, token=token)
