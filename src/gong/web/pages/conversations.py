"""The conversation list, a conversation, its history, read state, muting, and people posting."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from gong.domain.errors import Invalid, NotFound
from gong.domain.models import Group, Member
from gong.domain.users import User
from gong.protocol.errors import Dialect, RobotError
from gong.protocol.messages import parse_message
from gong.web.api.deps import NotAuthenticated, require_admin
from gong.web.api.schemas import PERSON_MESSAGE, ErrorBody
from gong.web.pages.common import (
    ViewerDep,
    checked_form,
    checked_header,
    current_viewer,
    form_text,
    get_web,
    list_context,
    local_path,
    page,
    redirect,
)
from gong.web.posting import person_posts
from gong.web.render import message_view
from gong.web.robot_api import MAX_BODY
from gong.web.sessions import Session
from gong.web.site import SECURITY_HEADERS

__all__ = ["MAX_ID", "PAGE_SIZE", "PEOPLE_TYPES", "messages_router", "router"]

router = APIRouter(include_in_schema=False)
#: People posting: the web composer, and scripts with an admin token (documented in OpenAPI).
messages_router = APIRouter(tags=["messages"])

#: Messages per page of a conversation (the first page and each page further back).
PAGE_SIZE = 30
#: The largest id the database holds (64-bit).
MAX_ID = 2**63 - 1
#: What people may post from the web app.
PEOPLE_TYPES = frozenset({"text", "markdown"})


@router.get("/")
async def conversation_list(request: Request, viewer: ViewerDep) -> Response:
    web = get_web(request)
    conversations = await web.inbox.conversations(viewer.user)
    return page(request, "conversations.html", list_context(conversations, None), viewer=viewer)


async def _visible(
    request: Request, viewer: ViewerDep, group_id: int
) -> tuple[Group, Member | None]:
    return await get_web(request).inbox.visible_group(viewer.user, group_id)


@router.get("/groups/{group_id:id}")
async def conversation(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    web = get_web(request)
    runtime = web.runtime
    group, member = await _visible(request, viewer, group_id)
    newest_first = await runtime.repository.list_messages(
        group.id, limit=PAGE_SIZE + 1, viewer=viewer.user.id
    )
    more = len(newest_first) > PAGE_SIZE
    shown = list(reversed(newest_first[:PAGE_SIZE]))
    if shown:
        await web.inbox.mark_read(viewer.user.id, group.id, shown[-1].id)
    conversations = await web.inbox.conversations(viewer.user)
    members = await runtime.repository.list_members(group.id)
    robots = await runtime.repository.list_robots(group.id)
    mentionables = [
        {"kind": "member", "name": m.name, "mobile": m.mobile or "", "userId": m.user_id or ""}
        for m in members
        if member is None or m.id != member.id
    ] + [{"kind": "robot", "name": r.name} for r in robots if r.enabled]
    context = list_context(conversations, group.id)
    context.update(
        group=group,
        member=member,
        views=[message_view(m) for m in shown],
        next_before=shown[0].id if more and shown else None,
        member_count=len(members),
        mentionables=mentionables,
        muted=next((c.muted for c in conversations if c.group.id == group.id), False),
    )
    return page(request, "conversation.html", context, viewer=viewer)


@router.get("/groups/{group_id:id}/history")
async def history(
    request: Request,
    viewer: ViewerDep,
    group_id: int,
    before: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> Response:
    """Older messages as rendered HTML, for scrolling back: ``{"html", "next_before"}``."""
    web = get_web(request)
    group, _ = await _visible(request, viewer, group_id)
    newest_first = await web.runtime.repository.list_messages(
        group.id, before=before, limit=PAGE_SIZE + 1, viewer=viewer.user.id
    )
    more = len(newest_first) > PAGE_SIZE
    shown = list(reversed(newest_first[:PAGE_SIZE]))
    template = web.env.get_template("_message.html")
    html = "".join(template.render(m=message_view(m)) for m in shown)
    return JSONResponse(
        {"html": html, "next_before": shown[0].id if more and shown else None},
        headers=SECURITY_HEADERS,
    )


@router.post("/groups/{group_id:id}/read", status_code=204)
async def mark_read(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    """``{"up_to": id}``: the viewer has seen the group's messages up to this id."""
    checked_header(request, viewer.session)
    group, _ = await _visible(request, viewer, group_id)
    try:
        body = orjson.loads(await request.body())
        up_to = int(body["up_to"])
    except Exception:
        raise Invalid('send {"up_to": <message id>}') from None
    newest = await get_web(request).inbox.newest_id(group.id)
    await get_web(request).inbox.mark_read(viewer.user.id, group.id, min(up_to, newest))
    return Response(status_code=204)


@router.post("/groups/{group_id:id}/mute")
async def mute(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    form = await checked_form(request, viewer.session)
    group, _ = await _visible(request, viewer, group_id)
    await get_web(request).inbox.set_muted(
        viewer.user.id, group.id, form_text(form, "muted") == "1"
    )
    return redirect(local_path(form_text(form, "next"), f"/groups/{group.id}"))


async def _poster(request: Request, as_user: str | None) -> tuple[User, Session | None]:
    """Who posts: the signed-in person (web session), or the account an admin token names in
    ``?as_user=`` (scripts)."""
    web = get_web(request)
    authorization = request.headers.get("authorization", "")
    if not authorization:
        viewer = await current_viewer(request)
        return viewer.user, viewer.session
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated
    await require_admin(
        web.runtime, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
    )
    username = as_user or ""
    if not username:
        raise Invalid("with an admin token, name the account to post as: ?as_user=USERNAME")
    user = await web.accounts.find_user(username)
    if user is None:
        raise NotFound(f"no account {username[:64]!r}")
    return user, None


_POSTED = {
    "type": "object",
    "required": ["id", "group_id", "callbacks"],
    "properties": {
        "id": {"type": "integer"},
        "group_id": {"type": "integer"},
        "callbacks": {"type": "array", "items": {"type": "integer"}},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorBody}


@messages_router.post(
    "/api/groups/{group_id:id}/messages",
    status_code=201,
    summary="Post as a person",
    responses={
        201: {
            "description": "Stored; `callbacks` lists the outgoing robots being called back",
            "content": {"application/json": {"schema": _POSTED}},
        },
        401: _error("No web session, or no valid admin token"),
        403: _error("The CSRF token is missing or wrong (web session)"),
        404: _error("No such group or account, or the account does not see the group"),
        405: _error("The group id is not a number"),
        422: _error("Not a text or markdown message, or no as_user with an admin token"),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PERSON_MESSAGE}},
        }
    },
)
async def post_message(
    request: Request,
    group_id: int,
    as_user: Annotated[
        str | None,
        Query(max_length=64, description="With an admin token: the account that posts."),
    ] = None,
) -> Response:
    """A person posts ``text`` or ``markdown`` in DingTalk's shape (with ``at``), as JSON.

    Needs the web session and its CSRF token in ``X-CSRF-Token``, or an admin token
    (``Authorization: Bearer``) and ``?as_user=USERNAME``: then the account posts, within the
    groups it sees, exactly as from the composer (mentions, outgoing robot callbacks).
    """
    user, session = await _poster(request, as_user)
    if session is not None:
        checked_header(request, session)
    web = get_web(request)
    group, member = await web.inbox.visible_group(user, group_id)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Invalid(f"a message is at most {MAX_BODY} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid("the body is not JSON") from None
    if not isinstance(body, dict) or body.get("msgtype") not in PEOPLE_TYPES:
        raise Invalid('people post "text" or "markdown" messages')
    try:
        message = parse_message(body)
    except RobotError as exc:
        raise Invalid(exc.errmsg(Dialect.MODERN)) from None
    posted = await person_posts(
        web.runtime, web.inbox, user=user, group=group, member=member, message=message
    )
    return JSONResponse(
        {
            "id": posted.message_id,
            "group_id": posted.group_id,
            "callbacks": [r.id for r in posted.robots if r.enabled and r.outgoing is not None],
        },
        status_code=201,
    )
