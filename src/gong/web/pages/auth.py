"""Sign-in and sign-out.

Sign-in attempts are counted per client IP and per username by the web app's
:class:`~gong.web.auth.lockout.SignInLockout` (``login_attempts`` a minute, then a 5-minute
pause), in Redis or the database, so the lockout holds across instances and restarts. A
successful sign-in starts a new session (a new CSRF token), so a session fixed before sign-in is
worth nothing after it.
"""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gong.domain.passwords import verify_password
from gong.i18n import web as _
from gong.web.auth.lockout import LOCKOUT_S
from gong.web.auth.sessions import COOKIE, Session
from gong.web.hooks.clientip import ClientIP
from gong.web.pages.common import (
    CsrfFailed,
    checked_form,
    form_text,
    get_web,
    local_path,
    page,
    redirect,
)

__all__ = ["LOGIN_BLOCK_S", "router"]

router = APIRouter(include_in_schema=False)

#: How long sign-in stays refused after too many attempts.
LOGIN_BLOCK_S = LOCKOUT_S


def _login_page(
    request: Request,
    session: Session,
    *,
    next_url: str,
    error: str = "",
    username: str = "",
    status: int = 200,
) -> HTMLResponse:
    response = page(
        request,
        "login.html",
        {"next_url": next_url, "error": error, "username": username, "login_csrf": session.csrf},
        status=status,
    )
    web = get_web(request)
    response.set_cookie(value=web.sessions.dump(session), **web.sessions.cookie_options())
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    web = get_web(request)
    session = web.sessions.load(request.cookies.get(COOKIE))
    next_url = local_path(next)
    if await web.user_for(session) is not None:
        return redirect(next_url)
    if session is None or session.user_id is not None:
        session = web.sessions.new()
    return _login_page(request, session, next_url=next_url)


@router.post("/login")
async def login(request: Request) -> Response:
    web = get_web(request)
    runtime = web.runtime
    session = web.sessions.load(request.cookies.get(COOKIE)) or web.sessions.new()
    try:
        form = await checked_form(request, session)
    except CsrfFailed as exc:
        return _login_page(
            request, web.sessions.new(), next_url="/", error=exc.translated(), status=403
        )
    username = form_text(form, "username").lower()
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    next_url = local_path(form_text(form, "next"))

    def again(error: str, status: int) -> HTMLResponse:
        return _login_page(
            request, session, next_url=next_url, error=error, username=username, status=status
        )

    if not username or not password:
        return again(_("Enter your username and password."), 400)
    ip = ClientIP(runtime.settings.trusted_proxies)(cast(dict[str, object], request.scope))
    if not await web.lockout.admit(ip, username, runtime.clock.now_ms()):
        return again(_("Too many sign-in attempts. Wait a few minutes, then try again."), 429)
    user = await web.accounts.find_user(username)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        return again(_("Wrong username or password."), 401)
    await web.lockout.signed_in(username)
    await web.accounts.record_login(user.id)
    response = redirect(next_url)
    response.set_cookie(
        value=web.sessions.dump(web.sessions.new(user)), **web.sessions.cookie_options()
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    web = get_web(request)
    session = web.sessions.load(request.cookies.get(COOKIE))
    if session is not None:
        await checked_form(request, session)
    response = redirect("/login")
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=web.sessions.secure
    )
    return response
