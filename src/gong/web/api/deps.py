"""Request-scoped helpers of the management API: the runtime and the admin check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gong.runtime import Runtime

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
    if not await runtime.tokens.admits(credentials.credentials):
        raise NotAuthenticated


Admin = Depends(require_admin)
