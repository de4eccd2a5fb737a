"""Request-scoped helpers of the management API: the runtime and the admin check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gong.runtime import Runtime
from gong.storage.repository import hash_token

__all__ = ["Admin", "NotAuthenticated", "RuntimeDep", "get_runtime", "require_admin"]

_bearer = HTTPBearer(auto_error=False, description="An admin token (`gong admin token`).")


class NotAuthenticated(Exception):
    """No valid admin token."""


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_admin(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated
    token = credentials.credentials
    configured = runtime.settings.admin_token
    if configured and hmac.compare_digest(configured.encode(), token.encode()):
        return
    digest = hash_token(token)
    for stored in await runtime.repository.admin_token_hashes():
        if hmac.compare_digest(stored, digest):
            return
    raise NotAuthenticated


Admin = Depends(require_admin)
