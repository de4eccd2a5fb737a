"""Web Push for the web app's script: the server's VAPID key, the browser's subscription, and the
service worker (``/sw.js``) that shows what is pushed.

The JSON routes need the web session, and the CSRF token in ``X-CSRF-Token`` for changes.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gong.domain.errors import Invalid
from gong.domain.push import subscribe
from gong.i18n import web as _
from gong.web.notifications import Notifications
from gong.web.pages.common import ViewerDep, checked_header
from gong.web.render import STATIC

__all__ = ["MAX_BODY", "router"]

router = APIRouter(include_in_schema=False)

#: The largest subscription body read, in bytes.
MAX_BODY = 8_192
#: The service worker may show notifications with Gong's own pictures, and do nothing else.
_WORKER_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _notifications(request: Request) -> Notifications:
    found: Notifications = request.app.state.notifications
    return found


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        if len(raw) > MAX_BODY:
            raise ValueError
        body = orjson.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Invalid(
            _.lazy('send {"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}')
        )
    return body


@router.get("/api/push/key")
async def push_key(request: Request, viewer: ViewerDep) -> JSONResponse:
    """``{"key"}``: the server's VAPID public key (base64url), for ``pushManager.subscribe``."""
    return JSONResponse({"key": _notifications(request).push.key.public_key})


@router.post("/api/push/subscriptions", status_code=201)
async def add_subscription(request: Request, viewer: ViewerDep) -> JSONResponse:
    """``{"endpoint", "keys": {"p256dh", "auth"}}`` (a ``PushSubscription``'s JSON): push this
    browser the account's notifications."""
    checked_header(request, viewer.session)
    body = await _body(request)
    keys = body.get("keys")
    keys = keys if isinstance(keys, dict) else {}
    notifications = _notifications(request)
    saved = await subscribe(
        notifications.subscriptions,
        notifications.push.check_endpoint,
        viewer.user.id,
        body.get("endpoint"),
        keys.get("p256dh"),
        keys.get("auth"),
        allow_http=notifications.push.allow_http,
    )
    return JSONResponse({"id": saved.id, "endpoint": saved.endpoint}, status_code=201)


@router.delete("/api/push/subscriptions", status_code=204)
async def remove_subscription(request: Request, viewer: ViewerDep) -> Response:
    """``{"endpoint"}``: stop pushing to this browser (only the account's own subscription)."""
    checked_header(request, viewer.session)
    endpoint = (await _body(request)).get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise Invalid(_.lazy('send {"endpoint": "https://…"}'))
    await _notifications(request).subscriptions.remove(endpoint, viewer.user.id)
    return Response(status_code=204)


@router.get("/sw.js")
async def service_worker() -> Response:
    """The service worker, at the root so that its scope is the whole app."""
    return Response(
        (STATIC / "sw.js").read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers=_WORKER_HEADERS,
    )
