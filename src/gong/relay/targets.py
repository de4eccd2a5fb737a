"""Where the relay may send: the outbound guard of :mod:`gong.outgoing.guard`, applied to an
upstream webhook when it is saved (:func:`checked_upstream`) and at every request
(:class:`UpstreamTransport`: the guarded connection, and a redirect taken as a failure rather
than followed — following it would be a request the guard never saw)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from gong.config import Settings
from gong.domain.models import Upstream
from gong.domain.robots import check_upstream
from gong.outgoing.guard import Guard, GuardedTransport

__all__ = ["UpstreamRedirected", "UpstreamTransport", "checked_upstream", "upstream_guard"]


def upstream_guard(settings: Settings) -> Guard:
    """The guard for upstream URLs: the outgoing rules, naming the upstream in its refusals."""
    return Guard(settings, subject="the upstream URL")


async def checked_upstream(guard: Guard, upstream: Upstream) -> Upstream:
    """An upstream about to be saved, once its form and where it points are allowed.

    The robot's own webhook and relay loops are checked when it is stored (they need the robot).

    Raises:
        Invalid: the form is wrong (:func:`gong.domain.robots.check_upstream`).
        TargetRefused: the URL points somewhere the relay may not send.
    """
    upstream = check_upstream(upstream)
    await guard.check_url(upstream.url)
    return upstream


def _shown(location: str) -> str:
    """A redirect target without its query, fragment or user info (they may hold tokens)."""
    try:
        parts = urlsplit(location)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an invalid URL"
    host = f"[{host}]" if ":" in host else host
    origin = f"{parts.scheme}://{host}{port}" if parts.scheme and host else ""
    return (origin + parts.path)[:200] or "an empty location"


class UpstreamRedirected(Exception):
    """The upstream answered with a redirect (HTTP 3xx), which the relay does not follow."""

    def __init__(self, status: int, location: str | None) -> None:
        where = f" to {_shown(location)}" if location else ""
        super().__init__(
            f"the upstream answered HTTP {status}, a redirect{where}; redirects are not followed"
        )
        self.status = status


class UpstreamTransport(httpx.AsyncBaseTransport):
    """The relay's transport: connects through the guard (or through ``inner``, in tests) and
    raises :class:`UpstreamRedirected` for any HTTP 3xx answer."""

    def __init__(self, guard: Guard, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner if inner is not None else GuardedTransport(guard)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if 300 <= response.status_code < 400:
            await response.aclose()
            raise UpstreamRedirected(response.status_code, response.headers.get("location"))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
