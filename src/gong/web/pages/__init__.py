"""The web app's pages (server-rendered, Jinja2) and their static files.

:func:`install` adds them to the FastAPI app: the routes, ``/static``, and error handling that
answers a browser with a page (or a redirect to sign in) and a script or API client with JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from gong.domain.errors import GongError
from gong.web.api import conversations as api_conversations
from gong.web.api import history as api_history
from gong.web.pages import account, auth, conversations, groups, robots, search
from gong.web.pages.common import (
    SignInRequired,
    get_web,
    page,
    redirect,
    request_language,
    sign_in_url,
)
from gong.web.render import STATIC

__all__ = ["install"]

_Handler = Callable[[Request, Any], Awaitable[Response]]

_TITLES = {
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    408: "Request timed out",
    409: "Conflict",
    422: "Not valid",
    429: "Too many requests",
}


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _error_page(request: Request, status: int, message: str) -> Response:
    try:
        get_web(request)
    except AttributeError:  # not started: nothing to render with
        return JSONResponse({"error": {"code": "http_error", "message": message}}, status)
    return page(
        request,
        "error.html",
        {"status": status, "title": _TITLES.get(status, "Error"), "message": message},
        status=status,
    )


def install(api: FastAPI) -> None:
    """Add the pages, the static files and page-aware error handling to ``api``."""
    speaks = [Depends(request_language)]
    for module in (account, auth, conversations, groups, robots, search):
        api.include_router(module.router, dependencies=speaks)
    api.include_router(api_conversations.router, dependencies=speaks)
    api.include_router(api_conversations.messages_router, dependencies=speaks)
    api.include_router(api_history.router, dependencies=speaks)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    json_gong_error: _Handler = api.exception_handlers[GongError]  # type: ignore[assignment]
    json_http_error: _Handler = api.exception_handlers[StarletteHTTPException]  # type: ignore[assignment]

    @api.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.method == "GET" and _wants_page(request):
            return redirect(sign_in_url(request))
        return JSONResponse(
            {"error": {"code": "unauthorized", "message": "sign in to the web app first"}}, 401
        )

    @api.exception_handler(GongError)
    async def _gong_error(request: Request, exc: GongError) -> Response:
        if _wants_page(request):
            return _error_page(request, exc.status, exc.translated())
        return await json_gong_error(request, exc)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_page(request):
            return _error_page(request, exc.status_code, str(exc.detail))
        return await json_http_error(request, exc)
