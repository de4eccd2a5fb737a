"""``/account``: what a person chooses for themselves (language, colour scheme, notifications),
and ``/i18n/<language>.js``, the web app's script strings in a language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gong import i18n
from gong.domain.errors import NotFound
from gong.domain.users import THEMES, clean_preferences
from gong.web.pages.common import (
    ViewerDep,
    app_page,
    checked_form,
    form_text,
    get_web,
    redirect,
)
from gong.web.render import messages_script

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/i18n/{language}.js")
async def messages(language: str) -> Response:
    if language not in i18n.LANGUAGES:
        raise NotFound(i18n.web.lazy("Gong does not speak %(language)s", language=language[:20]))
    body, _version = messages_script(language)
    return Response(
        body,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/account")
async def account_page(request: Request, viewer: ViewerDep, saved: int = 0) -> Response:
    return await app_page(
        request,
        "account.html",
        {"preferences": viewer.user.preferences, "themes": THEMES, "saved": bool(saved)},
        viewer=viewer,
    )


@router.post("/account")
async def save_account(request: Request, viewer: ViewerDep) -> Response:
    form = await checked_form(request, viewer.session)
    current = viewer.user.preferences
    # Unticked boxes are not sent: the fieldset's marker says the form showed them.
    shown = form_text(form, "notifications") == "1"
    preferences = clean_preferences(
        form_text(form, "language"),
        form_text(form, "theme"),
        notify=form_text(form, "notify") == "1" if shown else current.notify,
        notify_mentions=form_text(form, "notify_mentions") == "1"
        if shown
        else current.notify_mentions,
    )
    await get_web(request).accounts.update_preferences(viewer.user.id, preferences)
    return redirect("/account?saved=1")
