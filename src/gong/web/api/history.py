"""Search and recall over the JSON API, for people (the web session) and scripts (an admin
token, optionally acting as an account with ``?as_user=``).

An admin token alone searches every group and recalls any message; a person, or an admin token
with ``as_user``, searches the groups that account sees and recalls what its rules allow
(:class:`gong.domain.history.Archive`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from gong.domain.errors import NotFound
from gong.domain.history import Actor
from gong.domain.search import MAX_QUERY, MAX_RESULTS, SearchFilters
from gong.domain.users import User
from gong.schemas.records import ErrorBody, MessageOut, SearchPageOut
from gong.web.api.deps import NotAuthenticated, require_admin
from gong.web.auth.sessions import Session
from gong.web.pages.common import checked_header, current_viewer, get_web

__all__ = ["router"]


def _error(description: str) -> dict[str, object]:
    return {"model": ErrorBody, "description": description}


router = APIRouter(
    prefix="/api",
    tags=["history"],
    responses={
        401: _error("Neither a web session nor a valid admin token"),
        404: _error("No such message or account, or the account does not see it"),
        422: _error("A query or filter that breaks a rule (named)"),
    },
)

_MAX_ID = 9_223_372_036_854_775_807
AsUser = Annotated[
    str | None,
    Query(max_length=64, description="With an admin token: act as this account."),
]


async def _who(request: Request, as_user: str | None) -> tuple[User | None, Session | None]:
    """The signed-in person, the account an admin token names, or None for the admin token
    itself."""
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
    if not as_user:
        return None, None
    user = await web.accounts.find_user(as_user)
    if user is None:
        raise NotFound(f"no account {as_user[:64]!r}")
    return user, None


@router.get("/search")
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            max_length=MAX_QUERY,
            description="Words to find, each as a substring of the message's text, titles, "
            "link and button texts (any substring of Chinese text; Latin text ignoring case; "
            "`%` and `_` are plain characters). At least 2 characters.",
        ),
    ],
    as_user: AsUser = None,
    group_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    robot_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    sender_user_id: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="Messages this account posted.")
    ] = None,
    msgtype: Annotated[
        str | None,
        Query(pattern="^(text|markdown|link|actionCard|feedCard|image)$"),
    ] = None,
    since: Annotated[int | None, Query(ge=0, le=_MAX_ID, description="Unix ms, inclusive.")] = (
        None
    ),
    until: Annotated[int | None, Query(ge=0, le=_MAX_ID, description="Unix ms, exclusive.")] = (
        None
    ),
    mentions_me: Annotated[
        bool, Query(description="Only messages that @-mention the account (or @all).")
    ] = False,
    alert_state: Annotated[str | None, Query(pattern="^(firing|resolved)$")] = None,
    before: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
) -> SearchPageOut:
    """Messages that contain every word of `q`, newest first, a page at a time, in the groups
    the searcher sees (an admin token alone: every group)."""
    user, _ = await _who(request, as_user)
    runtime = get_web(request).runtime
    scope = await runtime.search.scope(
        None if user is None else user.id, user is None or user.is_admin
    )
    page = await runtime.search.search(
        q,
        scope,
        SearchFilters(
            group_id=group_id,
            robot_id=robot_id,
            sender_user_id=sender_user_id,
            msgtype=msgtype,
            since=since,
            until=until,
            mentions_me=mentions_me,
            alert_state=alert_state,
        ),
        before=before,
        limit=limit,
    )
    return SearchPageOut.of(page)


@router.delete(
    "/messages/{message_id}",
    responses={
        403: _error("Not yours to recall, or past 24 hours; or the CSRF token is wrong"),
        409: _error("Recalled already"),
    },
)
async def recall_message(
    request: Request,
    message_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
    as_user: AsUser = None,
) -> MessageOut:
    """Recall a message for everyone: its content leaves storage and the search index, live
    readers see a placeholder, and who recalled it and when are kept. An admin may recall any
    message; a person what they posted, within 24 hours."""
    user, session = await _who(request, as_user)
    if session is not None:
        checked_header(request, session)
    runtime = get_web(request).runtime
    if user is None:
        actor = Actor.admin()
    else:
        # What the account does not see is not there for it.
        message = await runtime.history.get_message(message_id, viewer=user.id)
        await get_web(request).inbox.visible_group(user, message.group_id)
        actor = Actor(user.id, user.is_admin, user.username)
    return MessageOut.of(await runtime.archive.recall(message_id, actor))
