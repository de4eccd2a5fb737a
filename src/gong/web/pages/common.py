"""What every page route shares: the signed-in viewer, CSRF checks, rendering with the security
headers, and the errors that become a sign-in redirect or an error page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData

from gong import i18n
from gong.domain.errors import GongError, Invalid
from gong.domain.users import Conversation, User
from gong.web.auth.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session
from gong.web.site import SECURITY_HEADERS, Web

__all__ = [
    "AdminDep",
    "CsrfFailed",
    "Forbidden",
    "IdConvertor",
    "SignInRequired",
    "Viewer",
    "ViewerDep",
    "app_page",
    "checked_form",
    "checked_header",
    "current_viewer",
    "form_int",
    "form_lines",
    "form_text",
    "get_web",
    "list_context",
    "local_path",
    "page",
    "redirect",
    "request_language",
    "sign_in_url",
]


class IdConvertor(Convertor[int]):
    """``{name:id}`` in a page's path: a group, member, robot or account id, which fits a 32-bit
    column (a longer number matches no route: 404, not an overflow deep in the driver)."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, scripts get 401."""


class Forbidden(GongError):
    status = 403
    code = "forbidden"


class CsrfFailed(GongError):
    status = 403
    code = "csrf"

    def __init__(self) -> None:
        super().__init__("the form expired or did not come from this site; reload and try again")


@dataclass(frozen=True, slots=True)
class Viewer:
    user: User
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf


def get_web(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


async def current_viewer(request: Request) -> Viewer:
    """The signed-in viewer of a request.

    Raises:
        SignInRequired: no valid session.
    """
    web = get_web(request)
    session = web.sessions.load(request.cookies.get(COOKIE))
    user = await web.user_for(session)
    if user is None or session is None:
        raise SignInRequired
    i18n.set_language(
        i18n.negotiate(
            user.preferences.language,
            accept_language=request.headers.get("accept-language"),
            default=web.runtime.settings.default_language,
        )
    )
    return Viewer(user, session)


async def request_language(request: Request) -> None:
    """Every page speaks the browser's language (``Accept-Language``), else
    ``GONG_DEFAULT_LANGUAGE``, until :func:`current_viewer` knows the account's choice."""
    i18n.set_language(
        i18n.negotiate(
            accept_language=request.headers.get("accept-language"),
            default=get_web(request).runtime.settings.default_language,
        )
    )


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def _admin_viewer(viewer: ViewerDep) -> Viewer:
    if not viewer.user.is_admin:
        raise Forbidden("only an admin may do this")
    return viewer


AdminDep = Annotated[Viewer, Depends(_admin_viewer)]


async def checked_form(request: Request, session: Session) -> FormData:
    """The posted form, once its CSRF token matches the session's."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not session.csrf_ok(token if isinstance(token, str) else None):
        raise CsrfFailed
    return form


def checked_header(request: Request, session: Session) -> None:
    """Scripts send the CSRF token in a header."""
    if not session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise CsrfFailed


def form_text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def form_lines(form: FormData, name: str) -> list[str]:
    """A textarea of entries, one a line or comma-separated."""
    raw = form_text(form, name).replace(",", "\n").replace("，", "\n")
    return [line.strip() for line in raw.splitlines() if line.strip()]


def form_int(form: FormData, name: str, default: int) -> int:
    raw = form_text(form, name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Invalid(
            f"{name.replace('_', ' ')} must be a whole number, got {raw[:20]!r}"
        ) from None


def local_path(value: str | None, default: str = "/") -> str:
    """Only same-site paths may be redirect targets."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    return value


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    viewer: Viewer | None = None,
) -> HTMLResponse:
    """Render a page with the security headers every page carries."""
    web = get_web(request)
    html = web.env.get_template(template).render(
        viewer=viewer,
        user=viewer.user if viewer else None,
        csrf=viewer.csrf if viewer else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def list_context(conversations: list[Conversation], current: int | None) -> dict[str, Any]:
    """What the conversation list (the sidebar) and the live feed need on every app page."""
    newest = max((c.last.id for c in conversations if c.last), default=0)
    members = {str(c.group.id): c.member.id for c in conversations if c.member}
    return {
        "conversations": conversations,
        "current_group": current,
        "after": newest,
        "my_members": orjson.dumps(members).decode(),
    }


async def app_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    viewer: Viewer,
    current: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page of the app layout: the conversation list beside ``template``'s content."""
    conversations = await get_web(request).inbox.conversations(viewer.user)
    return page(
        request,
        template,
        {**list_context(conversations, current), **context},
        status=status,
        viewer=viewer,
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="/")
