"""Per-request bookkeeping for everything served by the framework (API, pages): a request id in
the logs and in ``X-Request-ID``, a latency histogram, and an optional access log line.

The access log records the path without its query string: query strings carry secrets
(``access_token``, ``sign``, ``session``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from typing import Any

from gong.logs import new_request_id, request_id
from gong.metrics import Metrics
from gong.web.robot_api import Receive, Scope, Send

__all__ = ["Observed", "offered_request_id"]

access = logging.getLogger("gong.access")


def offered_request_id(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return bytes(value)
    return None


class Observed:
    """Wraps an ASGI app with request ids, timing and (optionally) the access log."""

    def __init__(self, app: Any, metrics: Metrics, *, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(offered_request_id(scope))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path: str = scope["path"]
            route = "api" if path.startswith("/api/") else "page"
            self.metrics.request_seconds.labels(route).observe(seconds)
            if self.access_log:
                access.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    path,
                    status,
                    seconds * 1000,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
            request_id.reset(token)
