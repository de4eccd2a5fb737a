"""Robot pages: create a robot, see its webhook and secret, change its security, rate limit,
alert owners, quiet window, event filters and how a relay fits long messages, regenerate its
token or secret, enable or disable it, read its recent refused calls and the events it ignored
(and show them with one click), and try its source's documented samples.

Only admins manage robots: these pages show the access token and the signing secret.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from gong.bootstrap import curl_command
from gong.domain.errors import GongError, Invalid, NotFound
from gong.domain.markdown import safe_image
from gong.domain.models import (
    DEFAULT_RATE_LIMIT,
    Group,
    IgnoreReason,
    Outgoing,
    Overflow,
    RateLimit,
    Robot,
    RobotKind,
    UpstreamFit,
)
from gong.domain.robot_admin import ALERT_KINDS
from gong.domain.specs import RobotPatch, RobotSpec
from gong.domain.timetext import zone_for
from gong.integrations import Ignored, IntegrationConfig, Source, preview, sources
from gong.integrations.samples import sample, samples
from gong.protocol.errors import Dialect, Errors, RobotError
from gong.runtime import Runtime
from gong.web.pages.common import (
    AdminDep,
    ViewerDep,
    app_page,
    checked_form,
    form_int,
    form_lines,
    form_text,
    get_web,
    redirect,
)
from gong.web.render import MessageView, message_view

__all__ = ["KIND_LABELS", "REASONS", "router"]

router = APIRouter(include_in_schema=False)

#: A refused call's reason, in words (the errcode catalogue's descriptions).
REASONS = {e.name: e.description for e in Errors.all()}

KIND_LABELS = {
    RobotKind.CUSTOM: "Custom (DingTalk webhook)",
    RobotKind.GITHUB: "GitHub",
    RobotKind.GITLAB: "GitLab",
    RobotKind.JIRA: "Jira",
    RobotKind.TRAVIS: "Travis CI",
    RobotKind.TRELLO: "Trello",
    RobotKind.CODEUP: "Codeup",
    RobotKind.ALERTMANAGER: "Alertmanager",
    RobotKind.GRAFANA: "Grafana",
    RobotKind.TEMPLATE: "Template (any JSON)",
    RobotKind.GITEA: "Gitea / Forgejo",
    RobotKind.JENKINS: "Jenkins",
    RobotKind.SENTRY: "Sentry",
    RobotKind.HARBOR: "Harbor",
    RobotKind.UPTIME_KUMA: "Uptime Kuma",
}

#: Why an event was ignored, in words.
IGNORE_REASONS = {
    IgnoreReason.UNKNOWN: "Gong has no message for this event",
    IgnoreReason.NOT_HANDLED: "Gong shows other actions of this event, not this one",
    IgnoreReason.OPT_IN: "shown only when the robot opts in",
    IgnoreReason.FILTERED: "left out by this robot's event filters",
}

#: The integration sources, for the samples' event names and previews (no templates here).
_SOURCES = sources()

DONE = {
    "created": "Robot created. Copy its webhook below.",
    "saved": "Settings saved.",
    "token": "New access token: the old webhook URL no longer works.",
    "secret": "New secret: sign with it from now on.",
    "enabled": "Robot enabled.",
    "disabled": "Robot disabled: its calls are answered 400102.",
    "outgoing": "Outgoing callback saved: @-mention the robot in the group to try it.",
    "no-outgoing": "Outgoing callback removed.",
    "shown": "Those events are shown from now on.",
}


def _avatar(form: FormData) -> str:
    avatar = form_text(form, "avatar_url")
    if avatar and safe_image(avatar) != avatar:
        raise Invalid("the avatar must be an http or https image URL")
    return avatar


def _rate_limit(form: FormData) -> RateLimit:
    return RateLimit(
        form_int(form, "rate_limit", DEFAULT_RATE_LIMIT.limit),
        form_int(form, "rate_window", DEFAULT_RATE_LIMIT.window_s),
        form_int(form, "rate_block", DEFAULT_RATE_LIMIT.block_s),
    )


def _mention_labels(form: FormData) -> list[str]:
    """``owner, oncall`` (commas or new lines) as the list of label names."""
    raw = form_text(form, "mention_labels").replace("\n", ",")
    return [name.strip() for name in raw.split(",") if name.strip()]


def _upstream_fit(form: FormData, robot: Robot) -> UpstreamFit | None:
    """The relay's choice for long messages; None for a robot that does not relay."""
    if robot.upstream is None:
        return None
    try:
        return UpstreamFit(form_text(form, "upstream_fit", str(robot.upstream.fit)))
    except ValueError:
        raise Invalid("choose how long messages are sent from the list") from None


def _event_values(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "only_events": "\n".join(settings.get("only_events") or []),
        "exclude_events": "\n".join(settings.get("exclude_events") or []),
        "include_events": "\n".join(settings.get("include_events") or []),
        "show_unknown": bool(settings.get("show_unknown")),
    }


def _event_settings(form: FormData) -> dict[str, Any] | None:
    """The event settings of an integration robot's form (None when the form has none):
    an emptied list or an unticked box removes the setting."""
    if form_text(form, "events_form") != "1":
        return None
    found: dict[str, Any] = {}
    for key in ("only_events", "exclude_events", "include_events"):
        found[key] = form_lines(form, key) or None
    found["show_unknown"] = True if form_text(form, "show_unknown") == "1" else None
    return found


def _values(form: FormData | None, robot: Robot | None = None) -> dict[str, Any]:
    """The robot form's fields: defaults, what was submitted, or the robot's settings."""
    relayed = robot is not None and robot.upstream is not None
    # A new robot's kind is chosen in the same form; an existing one's owners need alerts.
    alerts = robot is None or robot.kind in ALERT_KINDS
    integration = robot is not None and robot.kind is not RobotKind.CUSTOM
    if form is None and robot is not None:
        events = _event_values(robot.settings)
        return {
            **events,
            "integration": integration,
            "name": robot.name,
            "avatar_url": robot.avatar_url,
            "keywords": "\n".join(robot.keywords),
            "signing": robot.secret is not None,
            "ip_allow": "\n".join(robot.ip_allow),
            "rate_limit": robot.rate_limit.limit,
            "rate_window": robot.rate_limit.window_s,
            "rate_block": robot.rate_limit.block_s,
            "overflow": str(robot.overflow),
            "mention_labels": ", ".join(robot.mention_labels),
            "dedupe_window": robot.dedupe_window_s,
            "relayed": relayed,
            "alerts": alerts,
            "upstream_fit": str(robot.upstream.fit) if robot.upstream else "",
        }
    if form is None:
        return {
            "name": "",
            "kind": "custom",
            "avatar_url": "",
            "keywords": "",
            "signing": True,
            "ip_allow": "",
            "rate_limit": DEFAULT_RATE_LIMIT.limit,
            "rate_window": DEFAULT_RATE_LIMIT.window_s,
            "rate_block": DEFAULT_RATE_LIMIT.block_s,
            "overflow": "reject",
            "mention_labels": "",
            "dedupe_window": 0,
            "relayed": False,
            "alerts": True,
            "upstream_fit": "",
            "integration": False,
        }
    return {
        "integration": integration,
        "only_events": "\n".join(form_lines(form, "only_events")),
        "exclude_events": "\n".join(form_lines(form, "exclude_events")),
        "include_events": "\n".join(form_lines(form, "include_events")),
        "show_unknown": form_text(form, "show_unknown") == "1",
        "name": form_text(form, "name"),
        "kind": form_text(form, "kind", "custom"),
        "avatar_url": form_text(form, "avatar_url"),
        "keywords": "\n".join(form_lines(form, "keywords")),
        "signing": form_text(form, "signing") == "1",
        "ip_allow": "\n".join(form_lines(form, "ip_allow")),
        "rate_limit": form_text(form, "rate_limit"),
        "rate_window": form_text(form, "rate_window"),
        "rate_block": form_text(form, "rate_block"),
        "overflow": form_text(form, "overflow"),
        "mention_labels": form_text(form, "mention_labels"),
        "dedupe_window": form_text(form, "dedupe_window"),
        "relayed": relayed,
        "alerts": alerts,
        "upstream_fit": form_text(form, "upstream_fit"),
    }


@router.get("/groups/{group_id:id}/robots/new")
async def new_robot(request: Request, viewer: AdminDep, group_id: int) -> Response:
    group = await get_web(request).runtime.groups.get(group_id)
    return await app_page(
        request,
        "robot_new.html",
        {"group": group, "values": _values(None), "kinds": KIND_LABELS, "error": ""},
        viewer=viewer,
        current=group.id,
    )


@router.post("/groups/{group_id:id}/robots")
async def create_robot(request: Request, viewer: AdminDep, group_id: int) -> Response:
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    group = await runtime.groups.get(group_id)
    try:
        try:
            kind = RobotKind(form_text(form, "kind", "custom"))
            overflow = Overflow(form_text(form, "overflow", "reject"))
        except ValueError:
            raise Invalid("choose a kind and an overflow policy from the lists") from None
        robot = await runtime.robots.create(
            RobotSpec(
                group_id=group.id,
                name=form_text(form, "name"),
                kind=kind,
                keywords=form_lines(form, "keywords"),
                signing=form_text(form, "signing") == "1",
                ip_allow=form_lines(form, "ip_allow"),
                rate_limit=_rate_limit(form),
                overflow=overflow,
                avatar_url=_avatar(form),
                dedupe_window_s=form_int(form, "dedupe_window", 0),
                mention_labels=_mention_labels(form),
            )
        )
    except GongError as exc:
        return await app_page(
            request,
            "robot_new.html",
            {"group": group, "values": _values(form), "kinds": KIND_LABELS, "error": exc.message},
            status=exc.status,
            viewer=viewer,
            current=group.id,
        )
    return redirect(f"/robots/{robot.id}?done=created")


def _sample(robot: Robot) -> str:
    content = (robot.keywords[0] + " " if robot.keywords else "") + "Hello from Gong"
    return json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False)


async def _robot_page(
    request: Request,
    viewer: ViewerDep,
    robot: Robot,
    *,
    error: str = "",
    values: dict[str, Any] | None = None,
    outgoing_values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    runtime = get_web(request).runtime
    group = await runtime.groups.get(robot.group_id)
    refusals = await runtime.history.list_refusals(robot.id, 20)
    calls = await runtime.outgoing.calls(robot.id, limit=20)
    stats = await runtime.robots.stats(robot.id)
    done = DONE.get(request.query_params.get("done", ""), "")
    source = _SOURCES.get(robot.kind)
    ignored = await runtime.robots.ignored_events(robot.id) if source else []
    kind_samples = samples(robot.kind) if source else ()
    chosen = request.query_params.get("sample", "")
    tried = await _try_sample(runtime, robot, group, source, chosen) if chosen else None
    return await app_page(
        request,
        "robot.html",
        {
            "robot": robot,
            "group": group,
            "webhook": runtime.settings.webhook_url(robot.access_token),
            "curl": curl_command(runtime.settings, robot, runtime.clock, _sample(robot)),
            "refusals": [(r, REASONS.get(r.reason, r.reason)) for r in refusals],
            "stats": stats,
            "calls": calls,
            "outgoing": outgoing_values or _outgoing_values(robot),
            "kinds": KIND_LABELS,
            "done": done,
            "error": error,
            "values": values or _values(None, robot),
            "ignored": [(e, IGNORE_REASONS[e.reason]) for e in ignored],
            "samples": [(s.name, s.event(source)) for s in kind_samples] if source else [],
            "chosen_sample": chosen,
            "tried": tried,
        },
        status=status,
        viewer=viewer,
        current=group.id,
    )


@dataclass(frozen=True, slots=True)
class TriedSample:
    """What the robot would post for a sample: the message drawn as in the chat, or why not."""

    message: MessageView | None
    ignored: str = ""
    error: str = ""


async def _try_sample(
    runtime: Runtime, robot: Robot, group: Group, source: Source | None, name: str
) -> TriedSample:
    if source is None:
        return TriedSample(None, error="this robot's kind has no samples")
    try:
        item = sample(robot.kind, name)
    except NotFound as exc:
        return TriedSample(None, error=exc.message)
    try:
        config = IntegrationConfig.model_validate(robot.settings)
        message = await asyncio.to_thread(
            preview,
            source,
            config,
            item.document,
            item.headers,
            callback_url=runtime.settings.webhook_url(robot.access_token),
            now_ms=runtime.clock.now_ms(),
            tz=zone_for(group.timezone, runtime.settings.timezone),
        )
    except Ignored as exc:
        return TriedSample(None, ignored=exc.reason)
    except ValidationError:
        return TriedSample(None, error="this robot's integration settings are not valid")
    except RobotError as exc:
        return TriedSample(None, error=exc.params.get("detail") or exc.errmsg(Dialect.MODERN))
    view = message_view(
        {
            "id": 0,
            "group_id": group.id,
            "content": message.to_wire(),
            "sender": {"type": "robot", "name": robot.name},
            "robot_id": robot.id,
            "created_at": runtime.clock.now_ms(),
        }
    )
    return TriedSample(view)


def _outgoing_values(robot: Robot) -> dict[str, str]:
    outgoing = robot.outgoing
    if outgoing is None:
        return {"url": "", "token": ""}
    return {"url": outgoing.url, "token": outgoing.token}


@router.post("/robots/{robot_id:id}/outgoing")
async def update_outgoing(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    """Set the robot's outgoing callback (URL and token), or remove it (``remove=1``)."""
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    robot = await runtime.robots.get(robot_id)
    if form_text(form, "remove") == "1":
        await runtime.robots.update(robot.id, RobotPatch(clear_outgoing=True))
        return redirect(f"/robots/{robot.id}?done=no-outgoing")
    url, token = form_text(form, "outgoing_url"), form_text(form, "outgoing_token")
    try:
        outgoing = Outgoing(url=url, token=token or secrets.token_urlsafe(24))
        await runtime.robots.update(robot.id, RobotPatch(outgoing=outgoing))
    except GongError as exc:
        return await _robot_page(
            request,
            viewer,
            robot,
            error=exc.message,
            outgoing_values={"url": url, "token": token},
            status=exc.status,
        )
    return redirect(f"/robots/{robot.id}?done=outgoing")


@router.get("/robots/{robot_id:id}")
async def robot_page(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    robot = await get_web(request).runtime.robots.get(robot_id)
    return await _robot_page(request, viewer, robot)


@router.post("/robots/{robot_id:id}")
async def update_robot(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    robot = await runtime.robots.get(robot_id)
    try:
        try:
            overflow = Overflow(form_text(form, "overflow", "reject"))
        except ValueError:
            raise Invalid("choose an overflow policy from the list") from None
        limit = _rate_limit(form)
        await runtime.robots.update(
            robot.id,
            RobotPatch(
                name=form_text(form, "name"),
                keywords=form_lines(form, "keywords"),
                signing=form_text(form, "signing") == "1",
                ip_allow=form_lines(form, "ip_allow"),
                rate_limit=limit,
                overflow=overflow,
                avatar_url=_avatar(form),
                # A form without these fields (an older page) leaves them as they are.
                dedupe_window_s=(
                    form_int(form, "dedupe_window", 0) if "dedupe_window" in form else None
                ),
                mention_labels=_mention_labels(form) if "mention_labels" in form else None,
                upstream_fit=_upstream_fit(form, robot),
                settings=_event_settings(form),
            ),
        )
    except GongError as exc:
        return await _robot_page(
            request,
            viewer,
            robot,
            error=exc.message,
            values=_values(form, robot),
            status=exc.status,
        )
    return redirect(f"/robots/{robot.id}?done=saved")


@router.post("/robots/{robot_id:id}/events/show")
async def show_events(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    """Show the ignored events named in the form (``event``, repeated) from now on."""
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    events = [str(v) for v in form.getlist("event") if str(v).strip()]
    robot = await runtime.robots.get(robot_id)
    try:
        await runtime.robots.show_events(robot.id, events)
    except GongError as exc:
        return await _robot_page(request, viewer, robot, error=exc.message, status=exc.status)
    return redirect(f"/robots/{robot.id}?done=shown#ignored-events")


@router.post("/robots/{robot_id:id}/{action}")
async def robot_action(request: Request, viewer: AdminDep, robot_id: int, action: str) -> Response:
    runtime = get_web(request).runtime
    await checked_form(request, viewer.session)
    robots = runtime.robots
    if action == "token":
        robot = await robots.rotate_token(robot_id)
    elif action == "secret":
        robot = await robots.rotate_secret(robot_id)
    elif action in ("enable", "disable"):
        robot = await robots.set_enabled(robot_id, action == "enable")
        action = action + "d"
    elif action == "delete":
        robot = await robots.get(robot_id)
        await robots.delete(robot_id)
        return redirect(f"/groups/{robot.group_id}/settings")
    else:
        raise Invalid(f"unknown action {action[:20]!r}")
    return redirect(f"/robots/{robot.id}?done={action}")


@router.get("/robots/{robot_id:id}/avatar")
async def robot_avatar(request: Request, viewer: ViewerDep, robot_id: int) -> Response:
    """The robot's avatar: its image URL, or the default robot picture."""
    try:
        robot = await get_web(request).runtime.robots.get(robot_id)
        target = safe_image(robot.avatar_url) or "/static/robot.svg"
    except GongError:
        target = "/static/robot.svg"
    return RedirectResponse(
        target, status_code=302, headers={"Cache-Control": "private, max-age=300"}
    )
