"""The caller's IP address, seen through trusted reverse proxies only."""

from __future__ import annotations

import ipaddress
from collections.abc import MutableMapping, Sequence
from typing import Any

__all__ = ["ClientIP"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientIP:
    """Reads the peer address from the ASGI scope; when the peer is a trusted proxy, the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (or ``X-Real-IP``)."""

    def __init__(self, trusted: Sequence[str]) -> None:
        self._trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(t, strict=False) for t in trusted
        )

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def __call__(self, scope: MutableMapping[str, Any]) -> str:
        client = scope.get("client")
        peer = str(client[0]) if client else ""
        if not self._trusted or not self._is_trusted(peer):
            return peer
        forwarded: str | None = None
        real_ip: str | None = None
        for name, value in scope.get("headers") or ():
            if name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
            elif name == b"x-real-ip":
                real_ip = value.decode("latin-1").strip()
        if forwarded:
            for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
                if not self._is_trusted(hop):
                    return hop
        if real_ip:
            return real_ip
        return peer
