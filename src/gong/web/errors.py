"""The body of every error the HTTP API answers: ``{"error": {"code", "message", …}}``.

``message`` is English (scripts, logs); a request of the web app's own scripts also gets
``text``, the same in the reader's language (see :mod:`gong.web.pages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["error_response"]


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": body}, status_code=status, headers=headers or None)
