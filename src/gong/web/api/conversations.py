"""The conversation JSON routes: people posting (the composer, and scripts with an admin token,
documented in OpenAPI) and marking a conversation read."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from gong.domain.errors import Invalid, NotFound
from gong.domain.posting import person_message
from gong.domain.users import User
from gong.protocol.limits import MAX_BODY_BYTES, MAX_MSG_UUID
from gong.schemas.records import ErrorBody
from gong.web.api.deps import NotAuthenticated, require_admin
from gong.web.auth.sessions import Session
from gong.web.pages.common import ViewerDep, checked_header, current_viewer, get_web

__all__ = ["messages_router", "router"]


def _person_message() -> dict[str, Any]:
    """The JSON Schema of a message a person posts: ``text`` or ``markdown`` in DingTalk's shape,
    read by :func:`gong.protocol.messages.parse_message` with its leniency (numbers for mobiles
    and ``msgUuid``, ``null`` lists, ``isAtAll`` as ``0``/``1``/``"true"``/…)."""
    # The body is read with orjson, which reads an integer past 64 bits as a float.
    integer = {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1}
    names = {
        "type": "array",
        "items": {"anyOf": [{"type": "string"}, integer]},
        "description": "Strings, or integers written as such (13800000001, not 13800000001.0).",
    }
    at = {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "properties": {
                    "atMobiles": {"anyOf": [{"type": "null"}, names]},
                    "atUserIds": {"anyOf": [{"type": "null"}, names]},
                    "atDingtalkIds": {"anyOf": [{"type": "null"}, names]},
                    "isAtAll": {
                        "anyOf": [
                            {"type": ["boolean", "null"]},
                            {"enum": [0, 1]},
                            {
                                "type": "string",
                                "pattern": "^(?:|[01]|[tTfFyYnN]|[nN][oO]|[oO][nN]|[oO][fF][fF]"
                                "|[yY][eE][sS]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])$",
                            },
                        ]
                    },
                },
            },
        ],
        "description": "Who to notify: `atMobiles`, `atUserIds`, `isAtAll`.",
    }
    uuid = {
        "anyOf": [
            {"type": "null"},
            {"type": "string", "maxLength": MAX_MSG_UUID, "pattern": "^[^\\x00]*$"},
            integer,
        ],
        "description": "Accepted and not used: a person's message is never a duplicate. An "
        "integer is written as such (5, not 5.0).",
    }
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "description": f"At most {MAX_BODY_BYTES} bytes of JSON.",
        "oneOf": [
            {
                "title": "text",
                "required": ["msgtype", "text"],
                "properties": {
                    "msgtype": {"const": "text"},
                    "text": {
                        "type": "object",
                        "required": ["content"],
                        "properties": {"content": text},
                    },
                    "at": at,
                    "msgUuid": uuid,
                },
            },
            {
                "title": "markdown",
                "required": ["msgtype", "markdown"],
                "properties": {
                    "msgtype": {"const": "markdown"},
                    "markdown": {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "title": {
                                **text,
                                "description": "What the conversation list shows; without "
                                "it, the first line's words without markup.",
                            },
                            "text": text,
                        },
                    },
                    "at": at,
                    "msgUuid": uuid,
                },
            },
        ],
    }


#: The request body of ``POST /api/groups/{id}/messages`` (the route reads it itself).
PERSON_MESSAGE = _person_message()


#: Routes of the web app's own script (not in the OpenAPI document).
router = APIRouter(include_in_schema=False)
#: People posting: the web composer, and scripts with an admin token (documented in OpenAPI).
messages_router = APIRouter(tags=["messages"])


@router.post("/groups/{group_id:id}/read", status_code=204)
async def mark_read(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    """``{"up_to": id}``: the viewer has seen the group's messages up to this id."""
    checked_header(request, viewer.session)
    group, _ = await get_web(request).inbox.visible_group(viewer.user, group_id)
    try:
        body = orjson.loads(await request.body())
        up_to = int(body["up_to"])
    except Exception:
        raise Invalid('send {"up_to": <message id>}') from None
    newest = await get_web(request).inbox.newest_id(group.id)
    await get_web(request).inbox.mark_read(viewer.user.id, group.id, min(up_to, newest))
    return Response(status_code=204)


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
    message = person_message(await request.body())
    posted = await web.runtime.posting.post(user=user, group=group, member=member, message=message)
    return JSONResponse(
        {
            "id": posted.message_id,
            "group_id": posted.group_id,
            "callbacks": [r.id for r in posted.robots if r.enabled and r.outgoing is not None],
        },
        status_code=201,
    )
