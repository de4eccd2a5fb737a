"""The web app's pages (server-rendered, Jinja2) and their static files.

:func:`install` adds them to the FastAPI app: the routes, ``/static``, and error handling that
answers a browser with a page (or a redirect to sign in) and a script or API client with JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from gong.domain.errors import GongError
from gong.i18n import Text
from gong.i18n import web as _
from gong.web.api import conversations as api_conversations
from gong.web.api import history as api_history
from gong.web.api import push as api_push
from gong.web.auth.sessions import COOKIE
from gong.web.errors import error_response
from gong.web.pages import account, auth, conversations, groups, robots, search
from gong.web.pages.common import (
    SignInRequired,
    get_web,
    page,
    redirect,
    request_language,
    sign_in_url,
    speak_to,
)
from gong.web.render import STATIC

__all__ = ["install"]

_Handler = Callable[[Request, Any], Awaitable[Response]]

_TITLES: dict[int, Text] = {
    400: _.lazy("Bad request"),
    401: _.lazy("Sign in"),
    403: _.lazy("Not allowed"),
    404: _.lazy("Not found"),
    405: _.lazy("Not allowed here"),
    408: _.lazy("Request timed out"),
    409: _.lazy("Conflict"),
    413: _.lazy("Too large"),
    422: _.lazy("Not valid"),
    429: _.lazy("Too many requests"),
    503: _.lazy("Unavailable"),
}
#: What a page says for an HTTP error that carries only its status's own phrase.
_MESSAGES: dict[int, Text] = {
    404: _.lazy("There is nothing at this address."),
    405: _.lazy("This address does not take this kind of request."),
}


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _started(request: Request) -> bool:
    try:
        get_web(request)
    except AttributeError:  # not started: nothing to render with
        return False
    return True


def _error_page(request: Request, status: int, message: str) -> Response:
    """The error page, in the language in effect (see :func:`speak_to`)."""
    if not _started(request):
        return JSONResponse({"error": {"code": "http_error", "message": message}}, status)
    title = _TITLES[status].translated() if status in _TITLES else _("Error")
    return page(
        request, "error.html", {"status": status, "title": title, "message": message}, status=status
    )


def _http_message(status: int, detail: str) -> str:
    """An HTTP error's words for people: a status's bare phrase (``Not Found``) becomes a
    sentence in their language; anything more specific is shown as it is."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    if detail and detail != phrase:
        return detail
    words = _MESSAGES.get(status) or _TITLES.get(status)
    return words.translated() if words else detail


def install(api: FastAPI) -> None:
    """Add the pages, the static files and page-aware error handling to ``api``."""
    speaks = [Depends(request_language)]
    for module in (account, auth, conversations, groups, robots, search):
        api.include_router(module.router, dependencies=speaks)
    api.include_router(api_conversations.router, dependencies=speaks)
    api.include_router(api_conversations.messages_router, dependencies=speaks)
    api.include_router(api_history.router, dependencies=speaks)
    api.include_router(api_push.router, dependencies=speaks)
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
            if _started(request):
                await speak_to(request)
            return _error_page(request, exc.status, exc.translated())
        if COOKIE in request.cookies and _started(request):
            # The web app's own scripts (signed in with the session cookie) show the error to
            # people: beside the English "message", its "text" in their language. Clients of
            # the management API (a Bearer token) get the documented body unchanged.
            await speak_to(request)
            return error_response(exc.status, exc.code, exc.message, text=exc.translated())
        return await json_gong_error(request, exc)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_page(request):
            if _started(request):
                await speak_to(request)
            return _error_page(
                request, exc.status_code, _http_message(exc.status_code, str(exc.detail))
            )
        return await json_http_error(request, exc)
