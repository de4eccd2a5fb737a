"""``/robot/send`` for integration robots: read the source's delivery, post its one message.

Registered on :class:`~gong.web.hooks.robot_api.RobotSend` as the handler of every integration kind.
Per delivery: read the body (up to ``integration_max_body``), check the robot's IP allow list,
take the JSON document (the body, or its ``payload`` field when form-encoded, as GitHub and
Travis CI can send), let the kind's source verify, name, filter and build, then hand the message
to the hub, the same path a custom robot's message takes (rate limit, mentions, durable store,
live fan-out). An ignored event answers ``errcode`` 0 with the reason; refusals raise
:class:`~gong.protocol.errors.RobotError`, which ``RobotSend`` records and answers.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from pydantic import ValidationError

from gong.domain.models import Robot, RobotView
from gong.domain.timetext import zone_for
from gong.integrations import sources
from gong.integrations.render_pool import RenderPool
from gong.integrations.source import (
    Delivery,
    Ignored,
    IntegrationConfig,
    Rendered,
    Source,
    invalid,
)
from gong.protocol.errors import render_ignored, render_ok
from gong.protocol.security import check_ip
from gong.runtime import Runtime
from gong.web.hooks.deadline import Deadlines
from gong.web.hooks.robot_api import BodyTooLarge, Receive, RobotSend, Scope, read_body

__all__ = ["IntegrationHandler", "register_integrations"]

log = logging.getLogger(__name__)

_FORM = b"application/x-www-form-urlencoded"
_CONFIGS_KEPT = 1_000


def _headers(scope: Scope) -> tuple[dict[str, str], bytes, int | None]:
    """Header names in lower case (last value wins), the media type and Content-Length."""
    headers: dict[str, str] = {}
    media = b""
    declared: int | None = None
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        headers[key] = value.decode("latin-1")
        if key == "content-type":
            media = value.split(b";", 1)[0].strip().lower()
        elif key == "content-length" and value.isdigit():
            declared = int(value)
    return headers, media, declared


def document_of(raw: bytes, media: bytes) -> bytes:
    """The JSON document of a delivery: the body, or the ``payload`` field of a form."""
    if media != _FORM:
        return raw
    try:
        fields = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise invalid("the form-encoded body is not valid (not ASCII or bad %-escapes)") from None
    for key, value in fields:
        if key == "payload":
            return value.encode("utf-8")
    raise invalid("the form-encoded body has no payload field (GitHub and Travis CI send one)")


class IntegrationHandler:
    """The ``/robot/send`` reader of one integration kind."""

    def __init__(
        self,
        runtime: Runtime,
        source: Source,
        renders: RenderPool,
        deadlines: Deadlines | None = None,
    ) -> None:
        self.source = source
        self.deadlines = deadlines or Deadlines(runtime.settings.body_timeout)
        self.hub = runtime.hub
        self.clock = runtime.clock
        self.settings = runtime.settings
        self.limit = runtime.settings.integration_max_body
        self.renders = renders
        self._configs: dict[int, tuple[Robot, IntegrationConfig]] = {}

    def config(self, robot: Robot) -> IntegrationConfig:
        """The robot's integration settings, parsed once per loaded version of the robot."""
        entry = self._configs.get(robot.id)
        if entry is not None and entry[0] is robot:
            return entry[1]
        try:
            found = IntegrationConfig.model_validate(robot.settings)
        except ValidationError:
            raise invalid("this robot's integration settings are not valid; fix them") from None
        if len(self._configs) >= _CONFIGS_KEPT:
            self._configs.clear()
        self._configs[robot.id] = (robot, found)
        return found

    async def __call__(
        self, view: RobotView, scope: Scope, receive: Receive, params: dict[str, str], ip: str
    ) -> bytes:
        headers, media, declared = _headers(scope)
        try:
            raw = await read_body(receive, self.limit, declared, self.deadlines)
        except BodyTooLarge:
            raise invalid(
                f"the body is larger than {self.limit} bytes (GONG_INTEGRATION_MAX_BODY)"
            ) from None
        check_ip(view.security.networks, ip)
        document = document_of(raw, media)
        delivery = Delivery(
            headers=headers,
            body=raw,
            document=document,
            callback_url=self.settings.webhook_url(view.robot.access_token),
            now_ms=self.clock.now_ms(),
            tz=zone_for(view.group.timezone, self.settings.timezone),
        )
        config = self.config(view.robot)
        try:
            rendered = await self._process(delivery, config)
        except Ignored as ignored:
            log.debug("robot %d ignored %s", view.robot.id, ignored.reason)
            await self.hub.ignore(view, ignored.event, ignored.kind, ignored.reason)
            return render_ignored(ignored.reason)
        await self.hub.accept_from_robot(
            view, rendered.message, document.decode("utf-8"), alert=rendered.alert
        )
        return render_ok()

    async def _process(self, delivery: Delivery, config: IntegrationConfig) -> Rendered:
        if self.source.blocking:  # templates: off the event loop, rendered by the pool's workers
            return await self.renders.run(self.source.process, delivery, config)
        return self.source.process(delivery, config)


def register_integrations(robot_send: RobotSend, runtime: Runtime) -> None:
    """Give every integration kind its handler on ``robot_send``; templates render in the
    runtime's render pool."""
    settings = runtime.settings
    found = sources(
        template_time_limit=settings.template_time_limit,
        template_max_output=settings.template_max_output,
        template_renderer=runtime.renders.render_text,
    )
    for kind, source in found.items():
        robot_send.kinds[kind] = IntegrationHandler(
            runtime, source, runtime.renders, robot_send.deadlines
        )
