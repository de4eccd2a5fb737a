"""Robot pages: create a robot, see its webhook and secret, change its security, rate limit,
alert owners, quiet window, event filters and how a relay fits long messages, regenerate its
token or secret, enable or disable it, read its recent refused calls and the events it ignored
(and show them with one click), try its source's documented samples, send a test message
through its own send path (:func:`gong.domain.sending.send_test`), and edit a template robot's
template with a live preview.

Only admins manage robots: these pages show the access token and the signing secret.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from gong.bootstrap import curl_command
from gong.domain.errors import GongError, Invalid, NotFound
from gong.domain.hints import hint_text
from gong.domain.markdown import safe_image
from gong.domain.models import (
    DEFAULT_RATE_LIMIT,
    Group,
    IgnoreReason,
    Outgoing,
    Overflow,
    RateLimit,
    Refusal,
    Robot,
    RobotKind,
    UpstreamFit,
)
from gong.domain.robot_admin import ALERT_KINDS
from gong.domain.sending import send_test
from gong.domain.specs import RobotPatch, RobotSpec
from gong.domain.timetext import zone_for
from gong.i18n import Text
from gong.i18n import web as _
from gong.integrations import Ignored, IntegrationConfig, Source, preview, sources
from gong.integrations.samples import sample, samples
from gong.integrations.template import MAX_TEMPLATE_LENGTH
from gong.protocol.errors import Dialect, RobotError
from gong.protocol.limits import MAX_BODY_BYTES
from gong.runtime import Runtime
from gong.web.api.previews import template_preview
from gong.web.hooks.clientip import ClientIP
from gong.web.pages.common import (
    AdminDep,
    ViewerDep,
    app_page,
    checked_form,
    checked_header,
    form_int,
    form_lines,
    form_text,
    get_web,
    redirect,
)
from gong.web.render import MessageView, message_view
from gong.web.site import SECURITY_HEADERS

__all__ = ["KIND_LABELS", "REASONS", "kind_labels", "router"]

router = APIRouter(include_in_schema=False)

#: A refused call's reason, in words (those of the errcode catalogue's descriptions, in the
#: reader's language); one for each :class:`~gong.protocol.errors.Errors` entry.
REASONS: dict[str, Text] = {
    "ok": _.lazy("accepted and stored"),
    "system_busy": _.lazy("storage unavailable; retry later"),
    "not_post": _.lazy("the method is not POST"),
    "token_missing": _.lazy("no access_token"),
    "token_unknown": _.lazy("no robot has this access_token"),
    "robot_disabled": _.lazy("the robot is disabled"),
    "group_dissolved": _.lazy("the robot's group was dissolved"),
    "bad_content_type": _.lazy("Content-Type is not application/json"),
    "json_missing": _.lazy("the body is empty, not UTF-8 JSON, or not a JSON object"),
    "body_timeout": _.lazy(
        "the body did not arrive within GONG_BODY_TIMEOUT; the connection is closed"
    ),
    "msgtype_missing": _.lazy("no msgtype in the body"),
    "msgtype_unknown": _.lazy("msgtype is not supported"),
    "field_missing": _.lazy("a required field is missing or has the wrong type"),
    "field_invalid": _.lazy(
        "a field Gong cannot store: msgUuid too long or with U+0000, a lone surrogate"
    ),
    "message_unstorable": _.lazy(
        "the database refused to store the message; resending it cannot succeed"
    ),
    "too_large": _.lazy("the body is larger than %(limit)s bytes", limit=MAX_BODY_BYTES),
    "keyword": _.lazy("the message contains none of the robot's keywords"),
    "timestamp": _.lazy("timestamp is not a number of milliseconds"),
    "timestamp_expired": _.lazy(
        "timestamp is more than one hour before or after the server's clock"
    ),
    "sign": _.lazy("the signature is missing or wrong"),
    "ip": _.lazy("the caller's IP address is not in the robot's allow list"),
    "rate_limited": _.lazy("more than the robot's limit in its window, or blocked"),
    "session_unknown": _.lazy("the sessionWebhook is unknown or expired"),
    "payload_invalid": _.lazy("the body is not what the robot's kind expects"),
    "source_signature": _.lazy("the source's own signature or token is missing or wrong"),
}


def _hint(refusal: Refusal) -> str:
    """What most likely went wrong, in the reader's language (empty when Gong cannot tell)."""
    hint = hint_text(refusal.hint, refusal.hint_params)
    return hint.translated() if hint else ""


def _reason(name: str) -> str:
    words = REASONS.get(name)
    return words.translated() if words else name


#: The kinds' names (:func:`kind_labels` gives them in the reader's language).
KIND_LABELS: dict[RobotKind, str | Text] = {
    RobotKind.CUSTOM: _.lazy("Custom (DingTalk webhook)"),
    RobotKind.GITHUB: "GitHub",
    RobotKind.GITLAB: "GitLab",
    RobotKind.JIRA: "Jira",
    RobotKind.TRAVIS: "Travis CI",
    RobotKind.TRELLO: "Trello",
    RobotKind.CODEUP: "Codeup",
    RobotKind.ALERTMANAGER: "Alertmanager",
    RobotKind.GRAFANA: "Grafana",
    RobotKind.TEMPLATE: _.lazy("Template (any JSON)"),
    RobotKind.GITEA: "Gitea / Forgejo",
    RobotKind.JENKINS: "Jenkins",
    RobotKind.SENTRY: "Sentry",
    RobotKind.HARBOR: "Harbor",
    RobotKind.UPTIME_KUMA: "Uptime Kuma",
}


def kind_labels() -> dict[RobotKind, str]:
    """The robot kinds' names in the language in effect."""
    return {
        kind: label.translated() if isinstance(label, Text) else label
        for kind, label in KIND_LABELS.items()
    }


#: Why an event was ignored, in words.
IGNORE_REASONS = {
    IgnoreReason.UNKNOWN: _.lazy("Gong has no message for this event"),
    IgnoreReason.NOT_HANDLED: _.lazy("Gong shows other actions of this event, not this one"),
    IgnoreReason.OPT_IN: _.lazy("shown only when the robot opts in"),
    IgnoreReason.FILTERED: _.lazy("left out by this robot's event filters"),
}

#: The integration sources, for the samples' event names and previews (no templates here).
_SOURCES = sources()

#: What the robot page says after a change (``?done=…``), in the reader's language.
DONE = {
    "created": _.lazy("Robot created. Copy its webhook below."),
    "saved": _.lazy("Settings saved."),
    "token": _.lazy("New access token: the old webhook URL no longer works."),
    "secret": _.lazy("New secret: sign with it from now on."),
    "enabled": _.lazy("Robot enabled."),
    "disabled": _.lazy("Robot disabled: its calls are answered 400102."),
    "outgoing": _.lazy("Outgoing callback saved: @-mention the robot in the group to try it."),
    "no-outgoing": _.lazy("Outgoing callback removed."),
    "shown": _.lazy("Those events are shown from now on."),
    "template": _.lazy("Template saved: deliveries are rendered with it from now on."),
}

#: What the template editor previews until the admin pastes a delivery of their own.
SAMPLE_PAYLOAD = '{\n  "service": "pay",\n  "env": "prod",\n  "status": "ok",\n  "owners": []\n}'


def _avatar(form: FormData) -> str:
    avatar = form_text(form, "avatar_url")
    if avatar and safe_image(avatar) != avatar:
        raise Invalid(_.lazy("the avatar must be an http or https image URL"))
    return avatar


def _rate_limit(form: FormData) -> RateLimit:
    return RateLimit(
        form_int(form, "rate_limit", DEFAULT_RATE_LIMIT.limit, _.lazy("rate limit")),
        form_int(form, "rate_window", DEFAULT_RATE_LIMIT.window_s, _.lazy("rate window")),
        form_int(form, "rate_block", DEFAULT_RATE_LIMIT.block_s, _.lazy("block time")),
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
        raise Invalid(_.lazy("choose how long messages are sent from the list")) from None


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
        {"group": group, "values": _values(None), "kinds": kind_labels(), "error": ""},
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
            raise Invalid(_.lazy("choose a kind and an overflow policy from the lists")) from None
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
                dedupe_window_s=form_int(form, "dedupe_window", 0, _.lazy("quiet window")),
                mention_labels=_mention_labels(form),
            )
        )
    except GongError as exc:
        return await app_page(
            request,
            "robot_new.html",
            {
                "group": group,
                "values": _values(form),
                "kinds": kind_labels(),
                "error": exc.translated(),
            },
            status=exc.status,
            viewer=viewer,
            current=group.id,
        )
    return redirect(f"/robots/{robot.id}?done=created")


def _sample(robot: Robot) -> str:
    content = (robot.keywords[0] + " " if robot.keywords else "") + _("Hello from Gong")
    return json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False)


async def _robot_page(
    request: Request,
    viewer: ViewerDep,
    robot: Robot,
    *,
    error: str = "",
    values: dict[str, Any] | None = None,
    outgoing_values: dict[str, str] | None = None,
    template: str | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    runtime = get_web(request).runtime
    group = await runtime.groups.get(robot.group_id)
    refusals = await runtime.history.list_refusals(robot.id, 20)
    calls = await runtime.outgoing.calls(robot.id, limit=20)
    stats = await runtime.robots.stats(robot.id)
    said = DONE.get(request.query_params.get("done", ""))
    done = done or (said.translated() if said else "")
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
            "refusals": [(r, _reason(r.reason), _hint(r)) for r in refusals],
            "stats": stats,
            "calls": calls,
            "outgoing": outgoing_values or _outgoing_values(robot),
            "kinds": kind_labels(),
            "done": done,
            "error": error,
            "values": values or _values(None, robot),
            "ignored": [(e, IGNORE_REASONS[e.reason].translated()) for e in ignored],
            "samples": [(s.name, s.event(source)) for s in kind_samples] if source else [],
            "chosen_sample": chosen,
            "tried": tried,
            "template": robot.settings.get("template", "") if template is None else template,
            "sample_payload": SAMPLE_PAYLOAD,
            "max_template": MAX_TEMPLATE_LENGTH,
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
        return TriedSample(None, error=_("this robot's kind has no samples"))
    try:
        item = sample(robot.kind, name)
    except NotFound as exc:
        return TriedSample(None, error=exc.translated())
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
        return TriedSample(None, error=_("this robot's integration settings are not valid"))
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
            error=exc.translated(),
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
            raise Invalid(_.lazy("choose an overflow policy from the list")) from None
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
                    form_int(form, "dedupe_window", 0, _.lazy("quiet window"))
                    if "dedupe_window" in form
                    else None
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
            error=exc.translated(),
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
        return await _robot_page(request, viewer, robot, error=exc.translated(), status=exc.status)
    return redirect(f"/robots/{robot.id}?done=shown#ignored-events")


@router.post("/robots/{robot_id:id}/test")
async def test_robot(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    """Send a test message through the robot's own send path, security included, from the
    viewer's address; answer DingTalk's errcode and errmsg (JSON for the page's script)."""
    runtime = get_web(request).runtime
    await checked_form(request, viewer.session)
    robot = await runtime.robots.get(robot_id)
    if robot.kind is not RobotKind.CUSTOM:
        raise Invalid(_.lazy("test messages are for custom robots; try a sample of the source"))
    view = await runtime.directory.get(robot.access_token)
    if view is None:
        raise NotFound(_.lazy("robot %(id)s not found", id=robot_id))
    ip = ClientIP(runtime.settings.trusted_proxies)(request.scope)
    text = _("Test message from Gong: this robot works.")
    answer = await send_test(runtime.hub, view, text=text, ip=ip)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {"errcode": answer.errcode, "errmsg": answer.errmsg}, headers=SECURITY_HEADERS
        )
    done = _(
        "Test message answered: errcode %(errcode)s, errmsg %(errmsg)s",
        errcode=answer.errcode,
        errmsg=answer.errmsg,
    )
    return await _robot_page(request, viewer, robot, done=done)


@router.post("/robots/{robot_id:id}/template")
async def save_template(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    """Save a template robot's template (checked as the API checks it)."""
    runtime = get_web(request).runtime
    form = await checked_form(request, viewer.session)
    robot = await runtime.robots.get(robot_id)
    raw = form.get("template")
    template = raw if isinstance(raw, str) else ""
    try:
        await runtime.robots.update(robot.id, RobotPatch(settings={"template": template}))
    except GongError as exc:
        return await _robot_page(
            request, viewer, robot, error=exc.translated(), template=template, status=exc.status
        )
    return redirect(f"/robots/{robot.id}?done=template#template-editor")


@router.post("/robots/{robot_id:id}/template/preview")
async def preview_template(request: Request, viewer: AdminDep, robot_id: int) -> Response:
    """The template editor's live preview: ``{"template", "payload"}`` (the payload as the JSON
    text typed) → the message drawn as the group would see it, or why not (422)."""
    web = get_web(request)
    checked_header(request, viewer.session)
    robot = await web.runtime.robots.get(robot_id)
    try:
        body = orjson.loads(await request.body())
        if not isinstance(body, dict):
            raise Invalid(_.lazy("send a JSON object with the template and the payload"))
        template, text = body.get("template"), body.get("payload")
        if not isinstance(template, str) or not template.strip():
            raise Invalid(_.lazy("write a template to preview"))
        if len(template) > MAX_TEMPLATE_LENGTH:
            raise Invalid(
                _.lazy("a template is at most %(most)s characters", most=MAX_TEMPLATE_LENGTH)
            )
        try:
            payload = orjson.loads(text if isinstance(text, str) else "")
        except orjson.JSONDecodeError as exc:
            raise Invalid(_.lazy("the sample delivery is not JSON: %(why)s", why=exc)) from None
        out = await template_preview(web.runtime, template, payload, {})
    except orjson.JSONDecodeError:
        return _refused(Invalid(_.lazy("the body is not JSON")))
    except GongError as exc:
        return _refused(exc)
    html = ""
    if out.message is not None:
        html = web.frames.html(
            {
                "id": 0,
                "group_id": robot.group_id,
                "content": out.message,
                "sender": {"type": "robot", "name": robot.name},
                "robot_id": robot.id,
                "created_at": web.runtime.clock.now_ms(),
            }
        )
    return JSONResponse(
        {"html": html, "ignored": out.ignored, "bytes": out.bytes}, headers=SECURITY_HEADERS
    )


def _refused(error: GongError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message, "text": error.translated()}},
        status_code=error.status,
        headers=SECURITY_HEADERS,
    )


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
        raise Invalid(_.lazy("unknown action %(action)r", action=action[:20]))
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
