"""Routes of the management API: groups, members, robots, messages, refused calls, deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gong.domain.models import DeliveryState
from gong.domain.specs import RobotPatch as Patch
from gong.schemas.records import (
    DeliveryOut,
    DeliveryPage,
    ErrorBody,
    GroupOut,
    IgnoredEventOut,
    MemberOut,
    MessageOut,
    MessagePage,
    OutgoingCallOut,
    RefusalOut,
    RobotOut,
    robot_out,
)
from gong.web.api.deps import Admin, RuntimeDep
from gong.web.api.schemas import (
    GroupIn,
    GroupPatch,
    MemberIn,
    RobotIn,
    RobotPatch,
    ShowEventsIn,
)

__all__ = ["router"]

_errors: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The body could not be read"},
    401: {"model": ErrorBody, "description": "No valid admin token"},
    404: {"model": ErrorBody, "description": "No such record"},
    409: {"model": ErrorBody, "description": "Conflicts with existing data"},
    422: {"model": ErrorBody, "description": "Invalid values"},
}

router = APIRouter(prefix="/api", dependencies=[Admin], responses=_errors)

#: Ids are positive and fit the database's integer columns.
GroupId = Annotated[int, Path(ge=1, le=2_147_483_647, description="A group's id")]
MemberId = Annotated[int, Path(ge=1, le=2_147_483_647, description="A member's id")]
RobotId = Annotated[int, Path(ge=1, le=2_147_483_647, description="A robot's id")]
_MAX_ID = 9_223_372_036_854_775_807
MessageId = Annotated[int, Path(ge=1, le=_MAX_ID, description="A message's id")]


# -- groups --------------------------------------------------------------------------------------


@router.get("/groups", tags=["groups"])
async def list_groups(runtime: RuntimeDep) -> list[GroupOut]:
    return [GroupOut.of(g) for g in await runtime.groups.list()]


@router.post("/groups", tags=["groups"], status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupIn, runtime: RuntimeDep) -> GroupOut:
    group = await runtime.groups.create(body.name)
    return GroupOut.of(group)


@router.get("/groups/{group_id}", tags=["groups"])
async def get_group(group_id: GroupId, runtime: RuntimeDep) -> GroupOut:
    return GroupOut.of(await runtime.groups.get(group_id))


@router.patch("/groups/{group_id}", tags=["groups"])
async def update_group(group_id: GroupId, body: GroupPatch, runtime: RuntimeDep) -> GroupOut:
    group = await runtime.groups.update(
        group_id,
        name=body.name,
        dissolved=body.dissolved,
        timezone=body.timezone,
        retention_days=body.retention_days,
        retention_count=body.retention_count,
    )
    return GroupOut.of(group)


# -- members -------------------------------------------------------------------------------------


@router.get("/groups/{group_id}/members", tags=["members"])
async def list_members(group_id: GroupId, runtime: RuntimeDep) -> list[MemberOut]:
    return [MemberOut.of(m) for m in await runtime.groups.members(group_id)]


@router.post("/groups/{group_id}/members", tags=["members"], status_code=status.HTTP_201_CREATED)
async def add_member(group_id: GroupId, body: MemberIn, runtime: RuntimeDep) -> MemberOut:
    member = await runtime.groups.add_member(
        group_id, name=body.name, mobile=body.mobile, user_id=body.userId
    )
    return MemberOut.of(member)


@router.delete("/members/{member_id}", tags=["members"], status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(member_id: MemberId, runtime: RuntimeDep) -> Response:
    await runtime.groups.remove_member(member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- robots --------------------------------------------------------------------------------------


@router.get("/robots", tags=["robots"])
async def list_robots(
    runtime: RuntimeDep,
    group_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> list[RobotOut]:
    robots = await runtime.robots.list(group_id)
    return [robot_out(r, runtime.settings) for r in robots]


@router.get("/groups/{group_id}/robots", tags=["robots"])
async def list_group_robots(group_id: GroupId, runtime: RuntimeDep) -> list[RobotOut]:
    robots = await runtime.robots.list(group_id)
    return [robot_out(r, runtime.settings) for r in robots]


@router.post("/groups/{group_id}/robots", tags=["robots"], status_code=status.HTTP_201_CREATED)
async def create_robot(group_id: GroupId, body: RobotIn, runtime: RuntimeDep) -> RobotOut:
    """Create a robot; the answer carries its `webhook`, `access_token` and `secret`."""
    robot = await runtime.robots.create(body.to_spec(group_id))
    return robot_out(robot, runtime.settings)


@router.get("/robots/{robot_id}", tags=["robots"])
async def get_robot(robot_id: RobotId, runtime: RuntimeDep) -> RobotOut:
    """A robot with its call counts and, when it relays, its delivery counts."""
    robot = await runtime.robots.get(robot_id)
    stats = await runtime.robots.stats(robot_id)
    held = await runtime.outbox.held_count(robot_id)
    deliveries = await runtime.outbox.counts(robot_id)
    if robot.upstream is None and not any(deliveries.values()):
        return robot_out(robot, runtime.settings, stats, held=held)
    return robot_out(robot, runtime.settings, stats, deliveries, held=held)


@router.patch("/robots/{robot_id}", tags=["robots"])
async def update_robot(robot_id: RobotId, body: RobotPatch, runtime: RuntimeDep) -> RobotOut:
    """Change security, rate-limit and other settings; unset fields keep their value.

    `settings` changes only the integration settings it names; a null one is removed. A change
    that does not fit the robot (its kind, the security a custom robot keeps) is a 409.
    """
    robot = await runtime.robots.update(
        robot_id,
        Patch(
            name=body.name,
            keywords=body.keywords,
            signing=body.signing,
            ip_allow=body.ip_allow,
            rate_limit=body.rate_limit.to_domain() if body.rate_limit else None,
            overflow=body.overflow,
            avatar_url=body.avatar_url,
            enabled=body.enabled,
            settings=body.settings.given() if body.settings is not None else None,
            upstream=body.upstream.to_domain() if body.upstream else None,
            clear_upstream="upstream" in body.model_fields_set and body.upstream is None,
            outgoing=body.outgoing.to_domain() if body.outgoing else None,
            clear_outgoing="outgoing" in body.model_fields_set and body.outgoing is None,
            upstream_fit=body.upstream_fit,
            dedupe_window_s=body.dedupe_window_s,
            mention_labels=body.mention_labels,
        ),
    )
    return robot_out(robot, runtime.settings)


@router.delete("/robots/{robot_id}", tags=["robots"], status_code=status.HTTP_204_NO_CONTENT)
async def delete_robot(robot_id: RobotId, runtime: RuntimeDep) -> Response:
    await runtime.robots.delete(robot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/robots/{robot_id}/token", tags=["robots"])
async def regenerate_token(robot_id: RobotId, runtime: RuntimeDep) -> RobotOut:
    """A new `access_token`; the old webhook URL stops working at once."""
    robot = await runtime.robots.rotate_token(robot_id)
    return robot_out(robot, runtime.settings)


@router.post("/robots/{robot_id}/secret", tags=["robots"])
async def regenerate_secret(robot_id: RobotId, runtime: RuntimeDep) -> RobotOut:
    """A new signing secret (turns signing on if it was off)."""
    robot = await runtime.robots.rotate_secret(robot_id)
    return robot_out(robot, runtime.settings)


@router.post("/robots/{robot_id}/enable", tags=["robots"])
async def enable_robot(robot_id: RobotId, runtime: RuntimeDep) -> RobotOut:
    robot = await runtime.robots.set_enabled(robot_id, True)
    return robot_out(robot, runtime.settings)


@router.post("/robots/{robot_id}/disable", tags=["robots"])
async def disable_robot(robot_id: RobotId, runtime: RuntimeDep) -> RobotOut:
    robot = await runtime.robots.set_enabled(robot_id, False)
    return robot_out(robot, runtime.settings)


@router.get("/robots/{robot_id}/refusals", tags=["robots"])
async def list_refusals(
    robot_id: RobotId,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RefusalOut]:
    """The robot's most recent refused calls, newest first, with errcode, errmsg and caller IP."""
    await runtime.robots.get(robot_id)
    refusals = await runtime.history.list_refusals(robot_id, limit)
    return [RefusalOut.of(r) for r in refusals]


@router.get("/robots/{robot_id}/events", tags=["robots"])
async def list_ignored_events(robot_id: RobotId, runtime: RuntimeDep) -> list[IgnoredEventOut]:
    """The events this integration robot received and did not show, with why and how often,
    the most recently seen first. Nothing a source sends vanishes unseen."""
    return [IgnoredEventOut.of(e) for e in await runtime.robots.ignored_events(robot_id)]


@router.post("/robots/{robot_id}/events/show", tags=["robots"])
async def show_ignored_events(
    robot_id: RobotId, body: ShowEventsIn, runtime: RuntimeDep
) -> RobotOut:
    """Show these ignored events from now on (all the robot ignored when `events` is empty).

    Filtered events leave `exclude_events` (and join `only_events` when it leaves them out),
    opt-in events join `include_events`, and events Gong has no message for turn
    `show_unknown` on. Their ignored-event records are dropped.
    """
    robot = await runtime.robots.show_events(robot_id, body.events)
    return robot_out(robot, runtime.settings)


@router.get("/robots/{robot_id}/deliveries", tags=["relay"])
async def list_deliveries(
    robot_id: RobotId,
    runtime: RuntimeDep,
    state: DeliveryState | None = None,
    message_id: Annotated[
        int | None, Query(ge=1, le=_MAX_ID, description="Only this message's record")
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, le=_MAX_ID, description="Only records older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    """The relay's delivery records of a robot, newest first: pending, sent, digested into which
    upstream send, or failed with the upstream's errcode."""
    await runtime.robots.get(robot_id)
    page = await runtime.outbox.deliveries(
        robot_id, state=state, message_id=message_id, before=before, limit=limit + 1
    )
    more = len(page) > limit
    page = page[:limit]
    return DeliveryPage(
        deliveries=[DeliveryOut.of(d) for d in page],
        counts=await runtime.outbox.counts(robot_id),
        next_before=page[-1].id if more and page else None,
    )


@router.get("/robots/{robot_id}/outgoing", tags=["robots"])
async def list_outgoing_calls(
    robot_id: RobotId,
    runtime: RuntimeDep,
    before: Annotated[
        int | None, Query(ge=1, le=_MAX_ID, description="Only records older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[OutgoingCallOut]:
    """The robot's outgoing callbacks, newest first: answered, no answer, or failed and why."""
    await runtime.robots.get(robot_id)
    calls = await runtime.outgoing.calls(robot_id, before=before, limit=limit)
    return [OutgoingCallOut.of(c) for c in calls]


# -- messages ------------------------------------------------------------------------------------


@router.get("/groups/{group_id}/messages", tags=["messages"])
async def list_messages(
    group_id: GroupId,
    runtime: RuntimeDep,
    before: Annotated[
        int | None,
        Query(ge=1, le=9_223_372_036_854_775_807, description="Only messages older than this id"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    """A page of the group's messages, newest first; follow `next_before` for older ones."""
    await runtime.groups.get(group_id)
    page = await runtime.history.list_messages(group_id, before=before, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return MessagePage(
        messages=[MessageOut.of(m) for m in page],
        next_before=page[-1].id if more and page else None,
    )


@router.get("/messages/{message_id}", tags=["messages"])
async def get_message(message_id: MessageId, runtime: RuntimeDep) -> MessageOut:
    return MessageOut.of(await runtime.history.get_message(message_id))
