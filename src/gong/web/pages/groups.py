"""Group pages: create a group, its settings (name, time zone, robots, do-not-disturb, dissolve),
its members (add, remove, link to a web account), and the admin's list of accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from gong.domain.errors import GongError, Invalid, NotFound
from gong.domain.groups import MAX_RETENTION_COUNT, MAX_RETENTION_DAYS
from gong.domain.models import Group
from gong.domain.passwords import hash_password
from gong.domain.users import check_password
from gong.i18n import Text
from gong.i18n import web as _
from gong.web.pages.common import (
    AdminDep,
    ViewerDep,
    app_page,
    checked_form,
    form_text,
    get_web,
    redirect,
)
from gong.web.pages.robots import kind_labels

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Offered in the time zone field (any IANA name may be typed): China first, then by offset.
COMMON_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Moscow",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "UTC",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Pacific/Auckland",
)


@router.get("/groups/new")
async def new_group(request: Request, viewer: AdminDep) -> Response:
    return await app_page(request, "group_new.html", {"error": "", "name": ""}, viewer=viewer)


@router.post("/groups")
async def create_group(request: Request, viewer: AdminDep) -> Response:
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    name = form_text(form, "name")
    try:
        group = await runtime.groups.create(name)
    except GongError as exc:
        return await app_page(
            request,
            "group_new.html",
            {"error": exc.translated(), "name": name},
            status=exc.status,
            viewer=viewer,
        )
    return redirect(f"/groups/{group.id}/settings")


def _values(group: Group) -> dict[str, str]:
    """The group form's fields as saved (an empty retention field: kept forever)."""
    return {
        "name": group.name,
        "timezone": group.timezone or "",
        "retention_days": str(group.retention_days or ""),
        "retention_count": str(group.retention_count or ""),
    }


def _retention_summary(group: Group) -> str:
    """How long the group keeps its messages, in a sentence."""
    days, count = group.retention_days, group.retention_count
    for_days = _.plural("%(n)s day", "%(n)s days", days) if days else ""
    newest = _.plural("%(n)s message", "%(n)s messages", count) if count else ""
    if days and count:
        return _(
            "Messages are kept for %(days)s and at most the newest %(count)s; older ones are "
            "deleted.",
            days=for_days,
            count=newest,
        )
    if days:
        return _("Messages are kept for %(days)s; older ones are deleted.", days=for_days)
    if count:
        return _("Only the newest %(count)s are kept; older ones are deleted.", count=newest)
    return _("Messages are kept forever.")


def _retention(form: FormData, name: str, label: Text, largest: int) -> int | None:
    """A retention field: None when the form lacks it, 0 (forever) when it is empty.

    Raises:
        Invalid: not a whole number from 0 to ``largest``, said with the field's label.
    """
    if name not in form:
        return None
    raw = form_text(form, name)
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) > largest:
        raise Invalid(
            _.lazy(
                "%(field)s: enter a whole number from 0 to %(largest)s (empty or 0: forever), "
                "not %(value)r",
                field=label,
                largest=largest,
                value=raw[:20],
            )
        )
    return int(raw)


async def _settings_page(
    request: Request,
    viewer: ViewerDep,
    group_id: int,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    web = get_web(request)
    group, member = await web.inbox.visible_group(viewer.user, group_id)
    conversation = await web.inbox.conversation(viewer.user, group, member)
    robots = await web.runtime.robots.list(group.id)
    members = await web.runtime.groups.members(group.id)
    return await app_page(
        request,
        "group_settings.html",
        {
            "group": group,
            "member": member,
            "robots": robots,
            "member_count": len(members),
            "muted": conversation.muted,
            "notify_all": conversation.notify_all,
            "kinds": kind_labels(),
            "done": _("Saved.") if request.query_params.get("done") and not error else "",
            "error": error,
            "values": values or _values(group),
            "zones": COMMON_ZONES,
            "retention_summary": _retention_summary(group),
            "max_retention_days": MAX_RETENTION_DAYS,
            "max_retention_count": MAX_RETENTION_COUNT,
            "server_zone": web.runtime.settings.timezone,
        },
        status=status,
        viewer=viewer,
        current=group.id,
    )


@router.get("/groups/{group_id:id}/settings")
async def group_settings(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    return await _settings_page(request, viewer, group_id)


@router.post("/groups/{group_id:id}/settings")
async def update_group(request: Request, viewer: AdminDep, group_id: int) -> Response:
    """Rename the group, set its time zone (empty: the server's) and how long its messages are
    kept (empty or 0: forever)."""
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    name = form_text(form, "name")
    # A form without a field (an older page) leaves that setting as it is.
    timezone = form_text(form, "timezone") if "timezone" in form else None
    values = {
        "name": name,
        "timezone": timezone or "",
        "retention_days": form_text(form, "retention_days"),
        "retention_count": form_text(form, "retention_count"),
    }
    try:
        days = _retention(
            form, "retention_days", _.lazy("Keep messages for (days)"), MAX_RETENTION_DAYS
        )
        count = _retention(
            form, "retention_count", _.lazy("Keep only the newest (messages)"), MAX_RETENTION_COUNT
        )
        await runtime.groups.update(
            group_id, name=name, timezone=timezone, retention_days=days, retention_count=count
        )
    except Invalid as exc:
        return await _settings_page(
            request, viewer, group_id, error=exc.translated(), values=values, status=exc.status
        )
    return redirect(f"/groups/{group_id}/settings?done=1")


@router.post("/groups/{group_id:id}/dissolve")
async def dissolve_group(request: Request, viewer: AdminDep, group_id: int) -> Response:
    runtime = get_web(request).runtime
    await checked_form(request, viewer.session)
    await runtime.groups.update(group_id, dissolved=True)
    return redirect(f"/groups/{group_id}/settings?done=1")


async def _members_page(
    request: Request, viewer: ViewerDep, group_id: int, *, error: str = "", status: int = 200
) -> Response:
    web = get_web(request)
    group, member = await web.inbox.visible_group(viewer.user, group_id)
    members = await web.runtime.groups.members(group.id)
    linked = await web.accounts.users_of_group(group.id)
    return await app_page(
        request,
        "members.html",
        {
            "group": group,
            "member": member,
            "members": members,
            "linked": linked,
            "error": error,
            "form": dict(request.query_params) if error else {},
        },
        status=status,
        viewer=viewer,
        current=group.id,
    )


@router.get("/groups/{group_id:id}/members")
async def members_page(request: Request, viewer: ViewerDep, group_id: int) -> Response:
    return await _members_page(request, viewer, group_id)


@router.post("/groups/{group_id:id}/members")
async def add_member(request: Request, viewer: AdminDep, group_id: int) -> Response:
    web = get_web(request)
    form = await checked_form(request, viewer.session)
    try:
        username = form_text(form, "username")
        user = await web.accounts.find_user(username) if username else None
        if username and user is None:
            raise NotFound(_.lazy("there is no account called %(name)r", name=username))
        member = await web.runtime.groups.add_member(
            group_id,
            name=form_text(form, "name"),
            mobile=form_text(form, "mobile") or None,
            user_id=form_text(form, "user_id") or None,
        )
        if user is not None:
            await web.accounts.link(user.id, member.id)
    except GongError as exc:
        return await _members_page(
            request, viewer, group_id, error=exc.translated(), status=exc.status
        )
    return redirect(f"/groups/{group_id}/members")


@router.post("/members/{member_id:id}/{action}")
async def member_action(
    request: Request, viewer: AdminDep, member_id: int, action: str
) -> Response:
    web = get_web(request)
    form = await checked_form(request, viewer.session)
    member = await web.runtime.groups.member(member_id)
    try:
        if action == "remove":
            await web.runtime.groups.remove_member(member.id)
        elif action == "link":
            username = form_text(form, "username")
            user = await web.accounts.find_user(username)
            if user is None:
                raise NotFound(_.lazy("there is no account called %(name)r", name=username))
            await web.accounts.link(user.id, member.id)
        elif action == "unlink":
            await web.accounts.unlink(member.id)
        else:
            raise Invalid(_.lazy("unknown action %(action)r", action=action[:20]))
    except GongError as exc:
        return await _members_page(
            request, viewer, member.group_id, error=exc.translated(), status=exc.status
        )
    return redirect(f"/groups/{member.group_id}/members")


# -- accounts ------------------------------------------------------------------------------------


async def _users_page(
    request: Request, viewer: AdminDep, *, error: str = "", status: int = 200
) -> Response:
    web = get_web(request)
    users = await web.accounts.list_users()
    return await app_page(
        request, "users.html", {"users": users, "error": error}, status=status, viewer=viewer
    )


@router.get("/admin/users")
async def users_page(request: Request, viewer: AdminDep) -> Response:
    return await _users_page(request, viewer)


@router.post("/admin/users")
async def create_user(request: Request, viewer: AdminDep) -> Response:
    web = get_web(request)
    form = await checked_form(request, viewer.session)
    password = form.get("password")
    try:
        digest = await hash_password(check_password(password if isinstance(password, str) else ""))
        await web.accounts.create_user(
            form_text(form, "username"), digest, is_admin=form_text(form, "is_admin") == "1"
        )
    except GongError as exc:
        return await _users_page(request, viewer, error=exc.translated(), status=exc.status)
    return redirect("/admin/users")


@router.post("/admin/users/{user_id:id}/delete")
async def delete_user(request: Request, viewer: AdminDep, user_id: int) -> Response:
    web = get_web(request)
    await checked_form(request, viewer.session)
    if user_id == viewer.user.id:
        return await _users_page(
            request, viewer, error=_("you cannot delete your own account"), status=409
        )
    await web.accounts.delete_user(user_id)
    return redirect("/admin/users")
