"""The conversation list, a conversation, its history, muting and notifying (the JSON routes,
people posting and read state, are in :mod:`gong.web.api.conversations`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from gong.domain.history import Actor, can_recall
from gong.domain.models import Group, Member, StoredMessage
from gong.web.pages.common import (
    Viewer,
    ViewerDep,
    checked_form,
    form_text,
    get_web,
    list_context,
    local_path,
    page,
    redirect,
)
from gong.web.render import MessageView, message_view
from gong.web.site import SECURITY_HEADERS

__all__ = ["MAX_ID", "PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)

#: Messages per page of a conversation (the first page and each page further back).
PAGE_SIZE = 30
#: The largest id the database holds (64-bit).
MAX_ID = 2**63 - 1


@router.get("/")
async def conversation_list(request: Request, viewer: ViewerDep) -> Response:
    web = get_web(request)
    conversations = await web.inbox.conversations(viewer.user)
    return page(request, "conversations.html", list_context(conversations, None), viewer=viewer)


def _views(request: Request, viewer: Viewer, shown: Sequence[StoredMessage]) -> list[MessageView]:
    """The messages as ``viewer`` sees them: with a "Recall" action where the domain allows."""
    user = viewer.user
    actor = Actor(user.id, user.is_admin, user.username)
    now = get_web(request).runtime.clock.now_ms()
    views = []
    for message in shown:
        view = message_view(message)
        view.recallable = can_recall(message, actor, now)
        views.append(view)
    return views


async def _visible(
    request: Request, viewer: ViewerDep, group_id: int
) -> tuple[Group, Member | None]:
    return await get_web(request).inbox.visible_group(viewer.user, group_id)


@router.get("/groups/{group_id:id}")
async def conversation(
    request: Request,
    viewer: ViewerDep,
    group_id: int,
    at: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The conversation: its newest messages, or with ``at`` that message in context (where
    links to a message lead: search results, digests, resolved lines): a page ending at it and
    up to :data:`PAGE_SIZE` newer ones after it."""
    web = get_web(request)
    runtime = web.runtime
    group, member = await _visible(request, viewer, group_id)
    newest_first = await runtime.history.list_messages(
        group.id,
        before=None if at is None else at + 1,
        limit=PAGE_SIZE + 1,
        viewer=viewer.user.id,
    )
    more = len(newest_first) > PAGE_SIZE
    shown = list(reversed(newest_first[:PAGE_SIZE]))
    # Newer messages than the page holds: the page shows a gap (live ones are not appended).
    newer = False
    if at is not None:
        after = await runtime.history.list_messages(
            group.id,
            after=shown[-1].id if shown else at,
            limit=PAGE_SIZE + 1,
            viewer=viewer.user.id,
        )
        newer = len(after) > PAGE_SIZE
        shown += after[:PAGE_SIZE]
    if shown:
        await web.inbox.mark_read(viewer.user.id, group.id, shown[-1].id)
    conversations = await web.inbox.conversations(viewer.user)
    members = await runtime.groups.members(group.id)
    robots = await runtime.robots.list(group.id)
    mentionables = [
        {"kind": "member", "name": m.name, "mobile": m.mobile or "", "userId": m.user_id or ""}
        for m in members
        if member is None or m.id != member.id
    ] + [{"kind": "robot", "name": r.name} for r in robots if r.enabled]
    context = list_context(conversations, group.id)
    context.update(
        group=group,
        member=member,
        views=_views(request, viewer, shown),
        next_before=shown[0].id if more and shown else None,
        target=at,
        newer=newer,
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
    newest_first = await web.runtime.history.list_messages(
        group.id, before=before, limit=PAGE_SIZE + 1, viewer=viewer.user.id
    )
    more = len(newest_first) > PAGE_SIZE
    shown = list(reversed(newest_first[:PAGE_SIZE]))
    template = web.env.get_template("_message.html")
    html = "".join(template.render(m=view) for view in _views(request, viewer, shown))
    return JSONResponse(
        {"html": html, "next_before": shown[0].id if more and shown else None},
        headers=SECURITY_HEADERS,
    )


@router.post("/groups/{group_id:id}/mute")
async def mute(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    form = await checked_form(request, viewer.session)
    group, _ = await _visible(request, viewer, group_id)
    await get_web(request).inbox.set_muted(
        viewer.user.id, group.id, form_text(form, "muted") == "1"
    )
    return redirect(local_path(form_text(form, "next"), f"/groups/{group.id}"))


@router.post("/groups/{group_id:id}/notify")
async def notify_all(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    """``notify_all=1``: tell the viewer of every message of the group; ``0``: only of @."""
    form = await checked_form(request, viewer.session)
    group, _ = await _visible(request, viewer, group_id)
    await get_web(request).inbox.set_notify_all(
        viewer.user.id, group.id, form_text(form, "notify_all") == "1"
    )
    return redirect(local_path(form_text(form, "next"), f"/groups/{group.id}/settings"))
