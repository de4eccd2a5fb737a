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
from gong.domain.notify import message_path
from gong.domain.users import Conversation, User
from gong.i18n import Text
from gong.i18n import web as _
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
    "speak_to",
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
        super().__init__(
            _.lazy("the form expired or did not come from this site; reload and try again")
        )


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
    i18n.set_language(_language(request, user))
    return Viewer(user, session)


def _language(request: Request, user: User | None) -> str:
    """The account's choice, else the browser's (``Accept-Language``), else
    ``GONG_DEFAULT_LANGUAGE``."""
    return i18n.negotiate(
        user.preferences.language if user else None,
        accept_language=request.headers.get("accept-language"),
        default=get_web(request).runtime.settings.default_language,
    )


async def request_language(request: Request) -> None:
    """Every page speaks the browser's language (``Accept-Language``), else
    ``GONG_DEFAULT_LANGUAGE``, until :func:`current_viewer` knows the account's choice."""
    i18n.set_language(_language(request, None))


async def speak_to(request: Request) -> None:
    """Speak the language of whoever sent the request, signed in or not: for the answers that
    are made before (or without) a route's dependencies, such as error pages."""
    web = get_web(request)
    user = await web.user_for(web.sessions.load(request.cookies.get(COOKIE)))
    i18n.set_language(_language(request, user))


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def _admin_viewer(viewer: ViewerDep) -> Viewer:
    if not viewer.user.is_admin:
        raise Forbidden(_.lazy("only an admin may do this"))
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


def form_int(form: FormData, name: str, default: int, label: Text | None = None) -> int:
    """A whole-number field; ``label`` names it in the error (else its name)."""
    raw = form_text(form, name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Invalid(
            _.lazy(
                "%(field)s must be a whole number, got %(value)r",
                field=label or name.replace("_", " "),
                value=raw[:20],
            )
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
        # Times are written in a group's own time zone, else this one (``data-timezone``).
        server_timezone=web.runtime.settings.timezone,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def list_context(conversations: list[Conversation], current: int | None) -> dict[str, Any]:
    """What the conversation list (the sidebar) and the live feed need on every app page."""
    newest = max((c.last.id for c in conversations if c.last), default=0)
    members = {str(c.group.id): c.member.id for c in conversations if c.member}
    # "Someone @-mentioned you" leads to the newest message that does.
    mentions = [(c.mention_id, c.group.id) for c in conversations if c.mention_id]
    mention = max(mentions, default=None)
    return {
        "mention_link": message_path(mention[1], mention[0]) if mention else "",
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
