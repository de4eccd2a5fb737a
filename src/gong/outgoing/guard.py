"""Where Gong's outbound requests may go — outgoing robot callbacks and relay sends to an
upstream webhook alike: never at this Gong server, and not at loopback, private, link-local or
other internal addresses unless the administrator allows them (``GONG_OUTGOING_ALLOW_PRIVATE=1``;
the name is older than the relay, the setting governs every outbound request).

The check runs when a URL is saved (:meth:`Guard.check_url`) and again at every connection:
:class:`GuardedTransport` resolves the host itself, checks every address it resolves to, and
connects to one of the addresses it checked — so a DNS answer that changes between the check
and the connection (rebinding) cannot send the request elsewhere. The request still names the
host (``Host`` header, TLS SNI and certificate check), as with any other client. Callers do not
follow redirects (a redirect would be a request the guard never saw).

IPv6 addresses that carry an IPv4 address (IPv4-mapped and -compatible, SIIT, 6to4, NAT64,
Teredo) are judged by the IPv4 address too; Teredo (``2001::/32``) is refused as a whole unless
internal addresses are allowed: a Teredo relay forwards to an IPv4 address hidden, inverted, in
the last 32 bits, which no public webhook needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from gong.config import Settings
from gong.domain.errors import Invalid

__all__ = ["Guard", "GuardedTransport", "TargetRefused", "refused_because"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: How long saving a URL waits for its host to resolve, in seconds.
RESOLVE_LIMIT_S = 5.0

#: Shared address space (carrier-grade NAT), internal like the private ranges.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
#: NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the translator connects to the
#: IPv4 address in the last 32 bits; the local-use prefix is internal by definition.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
#: Deprecated IPv4-compatible (``::a.b.c.d``) and SIIT IPv4-translated (``::ffff:0:a.b.c.d``).
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
#: Teredo: a tunnel to the IPv4 client address hidden in the last 32 bits.
_TEREDO = ipaddress.ip_network("2001::/32")


class TargetRefused(Invalid):
    """The URL points somewhere outbound requests may not go."""


def _plain(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _last32(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)


def _embedded(ip: IPAddress) -> Iterator[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with its form (``"a 6to4"``, …)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return
    if ip.sixtofour is not None:
        yield "a 6to4", ip.sixtofour
    if ip.teredo is not None:
        server, client = ip.teredo
        yield "a Teredo", server
        yield "a Teredo", client
    if ip in _NAT64:
        yield "a NAT64", _last32(ip)
    if ip in _TRANSLATED:
        yield "an IPv4-translated", _last32(ip)
    if ip in _COMPATIBLE and int(ip) > 1:  # not :: nor ::1, which are what they are
        yield "an IPv4-compatible", _last32(ip)


def refused_because(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why an outbound request may not connect to ``ip`` (None: it may).

    The unspecified address (``0.0.0.0``, ``::``: this machine) and multicast are refused always;
    loopback, private, shared (100.64/10), link-local, reserved and Teredo addresses unless
    allowed. An IPv6 address carrying an IPv4 address (6to4, NAT64, …) is refused when that
    IPv4 address is.
    """
    ip = _plain(ip)
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    for form, inner in _embedded(ip):
        reason = refused_because(inner, allow_private=allow_private)
        if reason is not None:
            return f"{form} address of {inner}, {reason}"
    if allow_private or ip in _NAT64:  # NAT64 of a public address: what DNS64 answers
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip in _TEREDO:
        return "a Teredo address (a tunnel to an IPv4 address hidden in it)"
    if ip.is_private or ip in _SHARED or ip in _NAT64_LOCAL:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class Guard:
    """The rules of :mod:`gong.outgoing.guard` for one server's settings.

    ``subject`` names the URL in refusals: ``the outgoing URL``, ``the upstream URL``.
    """

    def __init__(self, settings: Settings, *, subject: str = "the outgoing URL") -> None:
        self.allow_private = settings.outgoing_allow_private
        self.subject = subject
        base = urlsplit(settings.base_url)
        self._base_host = (base.hostname or "").lower()
        self._base_port = base.port or (443 if base.scheme == "https" else 80)
        self._bind_host = settings.host.lower().strip("[]")
        self._bind_port = settings.port
        self._ports = {self._base_port, self._bind_port}

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        literal = _ip(host)
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except UnicodeError:  # not a valid host name (the IDNA codec refuses it)
            raise OSError(f"{host[:80]!r} is not a valid host name") from None
        found: list[IPAddress] = []
        for info in infos:
            ip = _ip(str(info[4][0]))
            if ip is not None and ip not in found:
                found.append(ip)
        if not found:
            raise OSError(f"{host} has no address")
        return found

    async def _own_addresses(self) -> set[IPAddress]:
        """Addresses this server answers on (for the ports it serves)."""
        own: set[IPAddress] = set()
        for host in (self._base_host, self._bind_host):
            try:
                own.update(await self._resolve(host, self._base_port))
            except OSError:
                continue
        if any(ip.is_unspecified for ip in own):
            with contextlib.suppress(OSError):
                own.update(await self._resolve(socket.gethostname(), self._bind_port))
        return own

    def _is_own_name(self, host: str, port: int) -> bool:
        return (host.lower().rstrip("."), port) in (
            (self._base_host, self._base_port),
            (self._bind_host, self._bind_port),
        )

    async def _is_self(self, port: int, addresses: Iterable[IPAddress]) -> bool:
        if port not in self._ports:
            return False
        own = await self._own_addresses()
        listens_everywhere = any(ip.is_unspecified for ip in own)
        for address in addresses:
            for ip in (_plain(address), *(inner for _, inner in _embedded(address))):
                if ip in own or ip.is_loopback or (listens_everywhere and ip.is_private):
                    return True
        return False

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for ``host:port``, every one of them allowed.

        Raises:
            TargetRefused: the host is this server, or resolves to an address not allowed.
            OSError: the host cannot be resolved.
        """
        itself = TargetRefused(f"{self.subject} points at this Gong server itself")
        if self._is_own_name(host, port):
            raise itself
        found = await self._resolve(host, port)
        if await self._is_self(port, found):
            raise itself
        for ip in found:
            reason = refused_because(ip, allow_private=self.allow_private)
            if reason is not None:
                shown = host if _ip(host) is not None else f"{host} ({ip})"
                allowed_if_private = refused_because(ip, allow_private=True) is None
                hint = (
                    "; GONG_OUTGOING_ALLOW_PRIVATE=1 allows internal addresses"
                    if allowed_if_private and not self.allow_private
                    else ""
                )
                raise TargetRefused(f"{self.subject} points at {shown}, {reason}{hint}")
        return found

    async def check_url(self, url: str) -> None:
        """Check a URL being saved: its host must resolve, and only to allowed addresses.

        Raises:
            TargetRefused: as :meth:`addresses`; or the host does not resolve.
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise TargetRefused(f"{self.subject} has a port out of range") from None
        try:
            async with asyncio.timeout(RESOLVE_LIMIT_S):
                await self.addresses(host, port)
        except TimeoutError:
            raise TargetRefused(f"{self.subject}'s host {host!r} did not resolve in time") from None
        except OSError as exc:
            raise TargetRefused(
                f"{self.subject}'s host {host!r} cannot be resolved: {exc}"
            ) from None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the guard allowed, resolving the host itself."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self.guard.addresses(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("outbound requests do not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through the guard (no proxies: they would skip it)."""

    def __init__(self, guard: Guard, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(guard),
        )
