"""Previews: what a template or an integration robot would post for a saved payload.

Nothing is posted and no signature is checked; the answer is the message (or why the event
would be ignored), so a template or a robot's filters can be tried before a sender is pointed
at the robot. Templates render in the render pool's worker processes, under the same limits as
a template robot's deliveries; a busy pool answers 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path
from pydantic import ValidationError

from gong.domain.errors import Invalid, Unavailable
from gong.domain.models import Robot, RobotKind
from gong.integrations import Ignored, IntegrationConfig, Source, preview, sources
from gong.integrations.samples import sample, samples
from gong.protocol.errors import Dialect, Errors, RobotError
from gong.runtime import Runtime
from gong.schemas.records import ErrorBody
from gong.web.api.deps import Admin, RuntimeDep
from gong.web.api.routes import RobotId
from gong.web.api.schemas import PreviewOut, RobotPreviewIn, SampleOut, TemplatePreviewIn

__all__ = ["router", "template_preview"]

SampleName = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[a-z0-9_\-]+$", description="A sample")
]

router = APIRouter(
    prefix="/api",
    dependencies=[Admin],
    tags=["integrations"],
    responses={
        400: {"model": ErrorBody, "description": "The body could not be read"},
        401: {"model": ErrorBody, "description": "No valid admin token"},
        404: {"model": ErrorBody, "description": "No such robot"},
        422: {"model": ErrorBody, "description": "The payload or the template is not valid"},
        503: {"model": ErrorBody, "description": "The template renderer is busy; retry later"},
    },
)


def _sources(runtime: Runtime) -> dict[RobotKind, Source]:
    return sources(
        template_time_limit=runtime.settings.template_time_limit,
        template_max_output=runtime.settings.template_max_output,
        template_renderer=runtime.renders.render_text,
    )


async def _preview(
    runtime: Runtime,
    source: Source,
    config: IntegrationConfig,
    payload: Any,
    headers: Mapping[str, str],
) -> PreviewOut:
    try:
        document = orjson.dumps(payload)
    except orjson.JSONEncodeError as exc:  # e.g. a lone surrogate in a string
        raise Invalid(f"the payload cannot be encoded as JSON: {exc}") from None
    try:
        run = runtime.renders.run if source.blocking else asyncio.to_thread
        message = await run(preview, source, config, document, headers)
    except Ignored as ignored:
        return PreviewOut(message=None, ignored=ignored.reason, bytes=0)
    except RobotError as error:
        detail = error.params.get("detail") or error.errmsg(Dialect.MODERN)
        if error.error is Errors.SYSTEM_BUSY:
            raise Unavailable(detail) from None
        raise Invalid(detail) from None
    wire = message.to_wire()
    return PreviewOut(message=wire, bytes=len(orjson.dumps(wire)))


async def template_preview(
    runtime: Runtime, template: str, payload: Any, headers: Mapping[str, str]
) -> PreviewOut:
    """What a template robot with ``template`` would post for ``payload`` (the API's preview,
    and the robot page's template editor).

    Raises:
        Invalid: the template does not compile, fails, or writes no valid message.
        Unavailable: the render pool is busy.
    """
    config = IntegrationConfig(template=template)
    source = _sources(runtime)[RobotKind.TEMPLATE]
    return await _preview(runtime, source, config, payload, headers)


@router.post("/templates/preview")
async def preview_template(body: TemplatePreviewIn, runtime: RuntimeDep) -> PreviewOut:
    """Render `payload` through `template` as a template robot would; nothing is posted."""
    return await template_preview(runtime, body.template, body.payload, body.headers)


async def _robot_source(runtime: Runtime, robot_id: int) -> tuple[Robot, Source, IntegrationConfig]:
    robot = await runtime.robots.get(robot_id)
    source = _sources(runtime).get(robot.kind)
    if source is None:
        raise Invalid(f"robot {robot_id} is a {robot.kind} robot; previews are for integrations")
    try:
        config = IntegrationConfig.model_validate(robot.settings)
    except ValidationError:
        raise Invalid(f"robot {robot_id}'s integration settings are not valid") from None
    return robot, source, config


@router.post("/robots/{robot_id}/preview")
async def preview_robot(robot_id: RobotId, body: RobotPreviewIn, runtime: RuntimeDep) -> PreviewOut:
    """The message this integration robot would post for `payload` (filters applied, no
    signature check); nothing is posted."""
    _, source, config = await _robot_source(runtime, robot_id)
    return await _preview(runtime, source, config, body.payload, body.headers)


@router.get("/robots/{robot_id}/samples")
async def list_samples(robot_id: RobotId, runtime: RuntimeDep) -> list[SampleOut]:
    """Documented deliveries of this robot's source, one per event it shows (none for custom
    and template robots), to preview before the source is wired."""
    robot = await runtime.robots.get(robot_id)
    source = _sources(runtime).get(robot.kind)
    if source is None:
        return []
    return [
        SampleOut(
            name=item.name,
            event=item.event(source),
            headers=item.headers,
            payload=orjson.loads(item.document),
        )
        for item in samples(robot.kind)
    ]


@router.post("/robots/{robot_id}/samples/{name}/preview")
async def preview_sample(robot_id: RobotId, name: SampleName, runtime: RuntimeDep) -> PreviewOut:
    """The message this robot would post for one of its source's documented samples (its
    filters applied); nothing is posted."""
    robot = await runtime.robots.get(robot_id)
    item = sample(robot.kind, name)  # custom and template robots have none: 404
    _, source, config = await _robot_source(runtime, robot_id)
    return await _preview(runtime, source, config, orjson.loads(item.document), item.headers)
