"""The three security settings of a custom robot: keywords, signature, IP allow list.

Each check raises :class:`~gong.protocol.errors.RobotError` (errcode 310000) on failure. All the
configured settings must pass; :func:`check` runs them in DingTalk's order (IP, signature,
keywords).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gong.protocol.errors import Errors, RobotError, ip_not_allowed
from gong.protocol.messages import ImageMessage, Message
from gong.protocol.signing import MAX_CLOCK_SKEW_MS, verify

__all__ = [
    "Security",
    "check",
    "check_ip",
    "check_keywords",
    "check_signature",
    "parse_networks",
]

IPv4Network = ipaddress.IPv4Network


def parse_networks(entries: Iterable[str]) -> tuple[IPv4Network, ...]:
    """Parse allow-list entries (``1.2.3.4`` or ``1.2.3.0/24``); IPv6 is refused, as DingTalk does.

    Raises:
        ValueError: naming the entry that is not an IPv4 address or CIDR range.
    """
    networks = []
    for raw in entries:
        entry = raw.strip()
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{raw!r} is not an IPv4 address or CIDR range") from None
        if not isinstance(network, IPv4Network):
            raise ValueError(f"{raw!r}: IPv6 addresses are not supported in the allow list")
        networks.append(network)
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class Security:
    """A robot's security settings, ready to check against."""

    keywords: tuple[str, ...] = ()
    secret: str | None = None
    networks: tuple[IPv4Network, ...] = field(default=())

    @property
    def configured(self) -> bool:
        return bool(self.keywords or self.secret or self.networks)


def check_ip(networks: Sequence[IPv4Network], ip: str) -> None:
    if not networks:
        return
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise ip_not_allowed(ip) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address) and any(address in n for n in networks):
        return
    raise ip_not_allowed(ip)


def check_signature(secret: str, timestamp: str | None, sign: str | None, now_ms: int) -> None:
    """Check ``timestamp`` and ``sign`` (both already URL-decoded once) at ``now_ms``."""
    if not sign or timestamp is None:
        # DingTalk answers a missing timestamp or sign with the signature message.
        raise RobotError(Errors.SIGN)
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        raise RobotError(Errors.TIMESTAMP)
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        raise RobotError(Errors.TIMESTAMP_EXPIRED)
    if not verify(secret, timestamp, sign):
        raise RobotError(Errors.SIGN)


def check_keywords(keywords: Sequence[str], message: Message) -> None:
    """At least one keyword must appear (case-sensitive) in the message's searchable text.

    The legacy ``image`` type carries no text and is exempt, as it was on DingTalk.
    """
    if not keywords or isinstance(message, ImageMessage):
        return
    for text in message.searchable():
        for keyword in keywords:
            if keyword in text:
                return
    raise RobotError(Errors.KEYWORD)


def check(
    security: Security,
    message: Message,
    *,
    ip: str,
    timestamp: str | None,
    sign: str | None,
    now_ms: int,
) -> None:
    """Run every configured check in DingTalk's order: IP, signature, keywords."""
    check_ip(security.networks, ip)
    if security.secret:
        check_signature(security.secret, timestamp, sign, now_ms)
    check_keywords(security.keywords, message)
