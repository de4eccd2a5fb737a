"""Rules for a robot's settings, checked wherever robots are created or changed."""

from __future__ import annotations

from collections.abc import Sequence

from gong.domain.errors import Invalid
from gong.domain.models import RateLimit, RobotKind
from gong.protocol.security import MAX_KEYWORD_LENGTH, MAX_KEYWORDS, parse_networks

__all__ = ["MAX_RATE_BLOCK", "MAX_RATE_LIMIT", "MAX_RATE_WINDOW", "check_settings"]

MAX_RATE_LIMIT = 1_000_000
MAX_RATE_WINDOW = 86_400
MAX_RATE_BLOCK = 86_400


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
