"""Rules for a robot's settings, checked wherever robots are created or changed."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from gong.domain.errors import Invalid
from gong.domain.models import Outgoing, RateLimit, RobotKind, Upstream
from gong.i18n import core
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
        raise Invalid(core.lazy("a keyword cannot be empty"))
    if len(clean_keywords) > MAX_KEYWORDS:
        raise Invalid(
            core.lazy(
                "at most %(most)s keywords, got %(count)s",
                most=MAX_KEYWORDS,
                count=len(clean_keywords),
            )
        )
    for keyword in clean_keywords:
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise Invalid(
                core.lazy(
                    "keyword %(keyword)r… is longer than %(most)s",
                    keyword=keyword[:20],
                    most=MAX_KEYWORD_LENGTH,
                )
            )
    if len(ip_allow) > MAX_IP_ALLOW:
        raise Invalid(
            core.lazy(
                "at most %(most)s IP allow-list entries, got %(count)s",
                most=MAX_IP_ALLOW,
                count=len(ip_allow),
            )
        )
    try:
        networks = parse_networks(ip_allow)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    clean_ips = tuple(
        dict.fromkeys(str(n) if n.prefixlen < 32 else str(n.network_address) for n in networks)
    )
    if kind is not RobotKind.CUSTOM and (clean_keywords or signing):
        what = core.lazy("keywords") if clean_keywords else core.lazy("signing (加签)")
        raise Invalid(
            core.lazy(
                "%(what)s apply only to custom robots; a %(kind)s robot is protected by its "
                "source secret (and optionally an IP allow list)",
                what=what,
                kind=kind,
            )
        )
    if kind is RobotKind.CUSTOM and not (clean_keywords or signing or clean_ips):
        raise Invalid(
            core.lazy(
                "a custom robot needs at least one security setting: keywords, signing or an "
                "IP allow list"
            )
        )
    for name, value, top in (
        (core.lazy("rate limit"), rate_limit.limit, MAX_RATE_LIMIT),
        (core.lazy("rate window"), rate_limit.window_s, MAX_RATE_WINDOW),
        (core.lazy("block"), rate_limit.block_s, MAX_RATE_BLOCK),
    ):
        if not 0 <= value <= top:
            raise Invalid(
                core.lazy(
                    "%(name)s must be between 0 and %(top)s, got %(value)s",
                    name=name,
                    top=top,
                    value=value,
                )
            )
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
        raise Invalid(
            core.lazy("the upstream URL is longer than %(most)s characters", most=MAX_UPSTREAM_URL)
        )
    not_webhook = core.lazy(
        "the upstream must be an http(s) webhook URL, got %(url)r", url=url[:80]
    )
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise Invalid(not_webhook) from None
    if parts.scheme not in ("http", "https") or not hostname or not _printable(url):
        raise Invalid(not_webhook)
    if parts.username is not None or parts.password is not None:
        raise Invalid(core.lazy("the upstream URL cannot carry a user name or password"))
    if parts.fragment:
        raise Invalid(core.lazy("the upstream URL cannot have a #fragment"))
    if own_token is not None and upstream_token(url) == own_token:
        raise Invalid(core.lazy("a robot cannot relay to its own webhook"))
    secret = (upstream.secret or "").strip() or None
    if secret is not None and (len(secret) > MAX_UPSTREAM_SECRET or not _printable(secret)):
        raise Invalid(
            core.lazy(
                "the upstream secret must be one word of at most %(most)s characters",
                most=MAX_UPSTREAM_SECRET,
            )
        )
    keyword = upstream.keyword.strip()
    if len(keyword) > MAX_KEYWORD_LENGTH or not _printable(keyword.replace(" ", "")):
        raise Invalid(
            core.lazy(
                "the upstream keyword must be one line of at most %(most)s",
                most=MAX_KEYWORD_LENGTH,
            )
        )
    for name, value, low, top in (
        (core.lazy("upstream limit"), upstream.limit, 0, MAX_UPSTREAM_LIMIT),
        (
            core.lazy("upstream window"),
            upstream.window_s,
            MIN_UPSTREAM_WINDOW,
            MAX_UPSTREAM_WINDOW,
        ),
        (core.lazy("upstream block"), upstream.block_s, 0, MAX_RATE_BLOCK),
    ):
        if not low <= value <= top:
            raise Invalid(
                core.lazy(
                    "%(name)s must be between %(low)s and %(top)s, got %(value)s",
                    name=name,
                    low=low,
                    top=top,
                    value=value,
                )
            )
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
        raise Invalid(
            core.lazy("the outgoing URL is longer than %(most)s characters", most=MAX_OUTGOING_URL)
        )
    not_url = core.lazy("the outgoing URL must be an http(s) URL, got %(url)r", url=url[:80])
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise Invalid(not_url) from None
    if parts.scheme not in ("http", "https") or not hostname or not _printable(url):
        raise Invalid(not_url)
    try:
        hostname.encode("idna")
    except UnicodeError:
        raise Invalid(
            core.lazy("the outgoing URL's host %(host)r is not a valid name", host=hostname[:80])
        ) from None
    if parts.username is not None or parts.password is not None:
        raise Invalid(core.lazy("the outgoing URL cannot carry a user name or password"))
    if parts.fragment:
        raise Invalid(core.lazy("the outgoing URL cannot have a #fragment"))
    token = outgoing.token.strip()
    if not token:
        raise Invalid(
            core.lazy(
                "the outgoing token cannot be empty: the callback sends it to prove it is Gong"
            )
        )
    if len(token) > MAX_OUTGOING_TOKEN or not _printable(token):
        raise Invalid(
            core.lazy(
                "the outgoing token must be one word of at most %(most)s", most=MAX_OUTGOING_TOKEN
            )
        )
    return Outgoing(url=url, token=token)
