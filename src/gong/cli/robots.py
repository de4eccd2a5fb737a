"""``gong robot …``: create, show, change and delete robots."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer

from gong.cli.common import (
    JsonOpt,
    emit,
    label_width,
    labelled,
    open_admin,
    out,
    run,
    settings,
    shown,
    table,
)
from gong.cli.history import local_time
from gong.cli.relay import delivery_state
from gong.cli.robot_options import (
    DEDUPE_HELP,
    INCLUDE_EVENT_HELP,
    MENTION_LABEL_HELP,
    OUTGOING_HELP,
    OUTGOING_TOKEN_HELP,
    SHOW_UNKNOWN_HELP,
    UPSTREAM_BLOCK_HELP,
    UPSTREAM_FIT_HELP,
    UPSTREAM_HELP,
    UPSTREAM_KEYWORD_HELP,
    UPSTREAM_LIMIT_HELP,
    UPSTREAM_SECRET_HELP,
    UPSTREAM_WINDOW_HELP,
    integration_settings,
    outgoing_target,
    upstream_target,
)
from gong.config import Settings
from gong.domain.models import (
    DEFAULT_RATE_LIMIT,
    IgnoredEvent,
    Overflow,
    RateLimit,
    Robot,
    RobotKind,
    UpstreamFit,
)
from gong.domain.specs import RobotPatch, RobotSpec
from gong.i18n import cli as _
from gong.schemas.records import (
    IgnoredEventOut,
    robot_out,
)
from gong.storage.outbox import Outbox

__all__ = ["robot_app", "robot_json"]

robot_app = typer.Typer(help=_("Create, inspect and secure robots."), no_args_is_help=True)


def robot_json(
    robot: Robot,
    config: Settings,
    stats: dict[str, int] | None = None,
    deliveries: dict[str, int] | None = None,
    held: int | None = None,
) -> dict[str, Any]:
    """The robot as the management API shows it (secrets included: the CLI is an admin's)."""
    return shown(robot_out(robot, config, stats, deliveries, held=held))


def _masked(url: str) -> str:
    """The URL with its access_token shortened (the token is a credential)."""
    base, sep, query = url.partition("?")
    parts = []
    for part in query.split("&") if sep else []:
        key, _, value = part.partition("=")
        parts.append(f"{key}={value[:6]}…" if key == "access_token" and len(value) > 8 else part)
    return base + (sep + "&".join(parts) if sep else "")


def _print_robot(
    robot: Robot,
    config: Settings,
    stats: dict[str, int] | None = None,
    deliveries: dict[str, int] | None = None,
    held: int | None = None,
) -> None:
    state = _("enabled") if robot.enabled else _("disabled")
    out.print(
        _(
            "robot %(id)s “%(name)s” (%(kind)s) in group %(group)s — %(state)s",
            id=robot.id,
            name=robot.name,
            kind=robot.kind,
            group=robot.group_id,
            state=state,
        ),
        markup=False,
    )
    lines: list[tuple[str, str]] = [(_("webhook:"), config.webhook_url(robot.access_token))]
    if robot.secret:
        lines.append((_("secret:"), robot.secret))
    if robot.keywords:
        lines.append((_("keywords:"), ", ".join(robot.keywords)))
    if robot.ip_allow:
        lines.append((_("IP allow:"), ", ".join(robot.ip_allow)))
    limit = robot.rate_limit
    rate = (
        _("unlimited")
        if limit.unlimited
        else _(
            "%(limit)s per %(window)s s, then a %(block)s s block",
            limit=limit.limit,
            window=limit.window_s,
            block=limit.block_s,
        )
    )
    lines.append((_("rate:"), rate))
    extra = robot.settings
    if extra.get("source_secret"):
        lines.append((_("source secret:"), extra["source_secret"]))
    if extra.get("template"):
        count = len(str(extra["template"]).splitlines())
        lines.append((_("template:"), _.plural("%(n)s line", "%(n)s lines", count)))
    for key in ("only_events", "exclude_events"):
        if extra.get(key):
            lines.append((f"{key}:", ", ".join(extra[key])))
    upstream = robot.upstream
    if upstream is not None:
        pace = (
            _("unpaced")
            if upstream.limit == 0
            else _("%(limit)s per %(window)s s", limit=upstream.limit, window=upstream.window_s)
        )
        relay = (
            _("%(url)s (%(pace)s, signed)", url=_masked(upstream.url), pace=pace)
            if upstream.secret
            else _("%(url)s (%(pace)s)", url=_masked(upstream.url), pace=pace)
        )
        lines.append((_("relay to:"), relay))
    outgoing = robot.outgoing
    if outgoing is not None:
        lines.append(
            (
                _("outgoing:"),
                _("%(url)s (token %(token)s)", url=outgoing.url, token=outgoing.token),
            )
        )
    if stats is not None:
        calls = _(
            "%(accepted)s accepted, %(refused)s refused",
            accepted=stats["accepted"],
            refused=stats["refused"],
        )
        if held:
            calls += _(", %(held)s held for overflow summaries", held=held)
        lines.append((_("calls:"), calls))
    if deliveries is not None:
        relayed = ", ".join(
            _("%(count)s %(state)s", count=n, state=delivery_state(state))
            for state, n in deliveries.items()
        )
        lines.append((_("relayed:"), relayed))
    # Values line up after the usual labels; a longer one (a setting's name) runs on.
    width = label_width(
        _("webhook:"),
        _("secret:"),
        _("keywords:"),
        _("IP allow:"),
        _("rate:"),
        _("template:"),
        _("relay to:"),
        _("outgoing:"),
        _("calls:"),
        _("relayed:"),
    )
    for label, value in lines:
        out.print(labelled(label, value, width), markup=False)


@robot_app.command(
    "create",
    help=_(
        "Create a robot; prints its id, access_token, secret and webhook URL.\n\n"
        "A custom robot needs at least one security setting (--keyword, --sign or --ip), as on "
        "DingTalk. Integration kinds (github, gitlab, …) need none: --source-secret protects "
        "them. With --upstream it also relays what it accepts to that webhook, paced and folded "
        "into digests past the upstream's limit. With --outgoing-url, a person's @-mention of "
        "it in the group is sent to that URL as DingTalk's callback, and the answer is posted "
        "as the robot."
    ),
)
def robot_create(
    group_id: int,
    name: str = typer.Option(..., "--name", help=_("Shown as the sender of its messages.")),
    kind: RobotKind = typer.Option(RobotKind.CUSTOM, "--kind", help=_("How bodies are read.")),
    keyword: list[str] = typer.Option([], "--keyword", help=_("A keyword (repeat, at most 10).")),
    sign: bool = typer.Option(False, "--sign", help=_("Require a signature (加签).")),
    ip: list[str] = typer.Option([], "--ip", help=_("An allowed IPv4 address or CIDR (repeat).")),
    rate_limit: int = typer.Option(
        DEFAULT_RATE_LIMIT.limit,
        "--rate-limit",
        min=0,
        help=_("Messages per window; 0 = unlimited."),
    ),
    rate_window: int = typer.Option(
        DEFAULT_RATE_LIMIT.window_s, "--rate-window", min=0, help=_("Window in seconds.")
    ),
    block: int = typer.Option(
        DEFAULT_RATE_LIMIT.block_s,
        "--block",
        min=0,
        help=_("Block after the limit, in seconds."),
    ),
    overflow: Overflow = typer.Option(
        Overflow.REJECT, "--overflow", help=_("Past the limit: reject (as DingTalk) or digest.")
    ),
    avatar: str = typer.Option("", "--avatar", help=_("Avatar image URL.")),
    source_secret: str | None = typer.Option(
        None, "--source-secret", help=_("Integration kinds: the secret the source signs with.")
    ),
    template: Path | None = typer.Option(
        None, "--template", help=_("Template robots: file with the Jinja2 template.")
    ),
    only_event: list[str] = typer.Option([], "--only-event", help=_("Show only these (repeat).")),
    exclude_event: list[str] = typer.Option([], "--exclude-event", help=_("Never show (repeat).")),
    include_event: list[str] = typer.Option([], "--include-event", help=INCLUDE_EVENT_HELP),
    show_unknown: bool = typer.Option(False, "--show-unknown", help=SHOW_UNKNOWN_HELP),
    setting: list[str] = typer.Option(
        [], "--set", help=_("Another integration setting, KEY=VALUE (VALUE as JSON, or @file).")
    ),
    upstream: str | None = typer.Option(None, "--upstream", help=UPSTREAM_HELP),
    upstream_secret: str | None = typer.Option(
        None, "--upstream-secret", help=UPSTREAM_SECRET_HELP
    ),
    upstream_limit: int | None = typer.Option(
        None, "--upstream-limit", min=0, help=UPSTREAM_LIMIT_HELP
    ),
    upstream_window: int | None = typer.Option(
        None, "--upstream-window", min=1, help=UPSTREAM_WINDOW_HELP
    ),
    upstream_block: int | None = typer.Option(
        None, "--upstream-block", min=0, help=UPSTREAM_BLOCK_HELP
    ),
    upstream_keyword: str | None = typer.Option(
        None, "--upstream-keyword", help=UPSTREAM_KEYWORD_HELP
    ),
    upstream_fit: UpstreamFit = typer.Option(
        UpstreamFit.SUMMARY, "--upstream-fit", help=UPSTREAM_FIT_HELP
    ),
    outgoing_url: str | None = typer.Option(None, "--outgoing-url", help=OUTGOING_HELP),
    outgoing_token: str | None = typer.Option(None, "--outgoing-token", help=OUTGOING_TOKEN_HELP),
    dedupe_window: int = typer.Option(0, "--dedupe-window", min=0, help=DEDUPE_HELP),
    mention_label: list[str] = typer.Option([], "--mention-label", help=MENTION_LABEL_HELP),
    as_json: bool = JsonOpt,
) -> None:
    config = settings()
    extra = integration_settings(
        source_secret=source_secret,
        template=template,
        only_events=only_event,
        exclude_events=exclude_event,
        include_events=include_event,
        show_unknown=show_unknown or None,
        pairs=setting,
        as_json=as_json,
    )

    async def action() -> Robot:
        relay = upstream_target(
            upstream,
            upstream_secret,
            upstream_limit,
            upstream_window,
            upstream_block,
            upstream_keyword,
        )
        if relay is not None:
            relay = dataclasses.replace(relay, fit=upstream_fit)
        async with open_admin(config) as admin:
            return await admin.robots.create(
                RobotSpec(
                    group_id,
                    name=name,
                    kind=kind,
                    keywords=keyword,
                    signing=sign,
                    ip_allow=ip,
                    rate_limit=RateLimit(rate_limit, rate_window, block),
                    overflow=overflow,
                    avatar_url=avatar,
                    settings=extra or {},
                    upstream=relay,
                    outgoing=outgoing_target(outgoing_url, outgoing_token),
                    dedupe_window_s=dedupe_window,
                    mention_labels=mention_label,
                )
            )

    robot = run(action, as_json=as_json)
    emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))


@robot_app.command("list", help=_("List robots."))
def robot_list(
    group: int | None = typer.Option(None, "--group", help=_("Only this group's robots.")),
    as_json: bool = JsonOpt,
) -> None:
    config = settings()

    async def action() -> list[Robot]:
        async with open_admin(config) as admin:
            return await admin.robots.list(group)

    robots = run(action, as_json=as_json)
    emit(
        [robot_json(r, config) for r in robots],
        as_json=as_json,
        human=lambda: table(
            [_("id"), _("group"), _("name"), _("kind"), _("enabled"), _("security")],
            [
                (
                    r.id,
                    r.group_id,
                    r.name,
                    r.kind,
                    _("True") if r.enabled else _("False"),
                    _security(r),
                )
                for r in robots
            ],
        ),
    )


def _security(robot: Robot) -> str:
    parts = []
    if robot.keywords:
        parts.append(_("%(count)s keyword(s)", count=len(robot.keywords)))
    if robot.secret:
        parts.append(_("signing"))
    if robot.ip_allow:
        parts.append(_("%(count)s IP range(s)", count=len(robot.ip_allow)))
    return ", ".join(parts) or "-"


@robot_app.command(
    "show", help=_("Show a robot's settings, webhook, call counts and relay delivery counts.")
)
def robot_show(robot_id: int, as_json: bool = JsonOpt) -> None:
    config = settings()

    async def action() -> tuple[Robot, dict[str, int], dict[str, int] | None, int]:
        async with open_admin(config) as admin:
            robot = await admin.robots.get(robot_id)
            stats = await admin.robots.stats(robot_id)
            outbox = Outbox(admin.engine)
            held = await outbox.held_count(robot_id)
            deliveries = await outbox.counts(robot_id)
            if robot.upstream is None and not any(deliveries.values()):
                return robot, stats, None, held
            return robot, stats, deliveries, held

    robot, stats, deliveries, held = run(action, as_json=as_json)
    emit(
        robot_json(robot, config, stats, deliveries, held),
        as_json=as_json,
        human=lambda: _print_robot(robot, config, stats, deliveries, held),
    )


@robot_app.command(
    "rotate",
    help=_(
        "Regenerate the access_token (the old webhook stops working) or, with --secret, the secret."
    ),
)
def robot_rotate(
    robot_id: int,
    secret: bool = typer.Option(
        False, "--secret", help=_("Regenerate the signing secret instead.")
    ),
    as_json: bool = JsonOpt,
) -> None:
    config = settings()

    async def action() -> Robot:
        async with open_admin(config) as admin:
            if secret:
                return await admin.robots.rotate_secret(robot_id)
            return await admin.robots.rotate_token(robot_id)

    robot = run(action, as_json=as_json)
    emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))


def _set_enabled(robot_id: int, enabled: bool, as_json: bool) -> None:
    config = settings()

    async def action() -> Robot:
        async with open_admin(config) as admin:
            return await admin.robots.set_enabled(robot_id, enabled)

    robot = run(action, as_json=as_json)
    emit(
        robot_json(robot, config),
        as_json=as_json,
        human=lambda: out.print(
            _("robot %(id)s enabled", id=robot.id)
            if enabled
            else _("robot %(id)s disabled", id=robot.id)
        ),
    )


@robot_app.command("disable", help=_("Disable a robot: its calls are answered 400102."))
def robot_disable(robot_id: int, as_json: bool = JsonOpt) -> None:
    _set_enabled(robot_id, False, as_json)


@robot_app.command("enable", help=_("Enable a disabled robot."))
def robot_enable(robot_id: int, as_json: bool = JsonOpt) -> None:
    _set_enabled(robot_id, True, as_json)


@robot_app.command("update", help=_("Change a robot's settings; what is not given stays as it is."))
def robot_update(
    robot_id: int,
    name: str | None = typer.Option(None, "--name"),
    keyword: list[str] | None = typer.Option(
        None, "--keyword", help=_("Replace the keywords (repeat).")
    ),
    clear_keywords: bool = typer.Option(False, "--no-keywords", help=_("Remove every keyword.")),
    sign: bool | None = typer.Option(None, "--sign/--no-sign", help=_("Turn signing on or off.")),
    ip: list[str] | None = typer.Option(
        None, "--ip", help=_("Replace the IP allow list (repeat).")
    ),
    clear_ips: bool = typer.Option(False, "--no-ips", help=_("Remove the IP allow list.")),
    rate_limit: int | None = typer.Option(None, "--rate-limit", min=0),
    rate_window: int | None = typer.Option(None, "--rate-window", min=0),
    block: int | None = typer.Option(None, "--block", min=0),
    overflow: Overflow | None = typer.Option(None, "--overflow"),
    avatar: str | None = typer.Option(None, "--avatar"),
    source_secret: str | None = typer.Option(None, "--source-secret"),
    template: Path | None = typer.Option(None, "--template", help=_("File with the template.")),
    only_event: list[str] | None = typer.Option(None, "--only-event", help=_("Replace (repeat).")),
    exclude_event: list[str] | None = typer.Option(
        None, "--exclude-event", help=_("Replace (repeat).")
    ),
    include_event: list[str] | None = typer.Option(
        None, "--include-event", help=INCLUDE_EVENT_HELP + " " + _("Replaces the list.")
    ),
    show_unknown: bool | None = typer.Option(
        None, "--show-unknown/--no-show-unknown", help=SHOW_UNKNOWN_HELP
    ),
    setting: list[str] | None = typer.Option(None, "--set", help=_("KEY=VALUE (JSON, or @file).")),
    unset: list[str] | None = typer.Option(None, "--unset", help=_("Remove a setting (repeat).")),
    upstream: str | None = typer.Option(None, "--upstream", help=UPSTREAM_HELP),
    upstream_secret: str | None = typer.Option(
        None, "--upstream-secret", help=UPSTREAM_SECRET_HELP
    ),
    upstream_limit: int | None = typer.Option(
        None, "--upstream-limit", min=0, help=UPSTREAM_LIMIT_HELP
    ),
    upstream_window: int | None = typer.Option(
        None, "--upstream-window", min=1, help=UPSTREAM_WINDOW_HELP
    ),
    upstream_block: int | None = typer.Option(
        None, "--upstream-block", min=0, help=UPSTREAM_BLOCK_HELP
    ),
    upstream_keyword: str | None = typer.Option(
        None, "--upstream-keyword", help=UPSTREAM_KEYWORD_HELP
    ),
    no_upstream: bool = typer.Option(
        False, "--no-upstream", help=_("Stop relaying (what is still queued fails).")
    ),
    outgoing_url: str | None = typer.Option(None, "--outgoing-url", help=OUTGOING_HELP),
    outgoing_token: str | None = typer.Option(
        None, "--outgoing-token", help=_("A new token for the callbacks' token header.")
    ),
    no_outgoing: bool = typer.Option(
        False, "--no-outgoing", help=_("Stop calling back when the robot is @-mentioned.")
    ),
    upstream_fit: UpstreamFit | None = typer.Option(None, "--upstream-fit", help=UPSTREAM_FIT_HELP),
    dedupe_window: int | None = typer.Option(None, "--dedupe-window", min=0, help=DEDUPE_HELP),
    mention_label: list[str] | None = typer.Option(
        None, "--mention-label", help=MENTION_LABEL_HELP + " " + _("Replaces the list.")
    ),
    no_mention_labels: bool = typer.Option(
        False, "--no-mention-labels", help=_("Take no owners from alert labels.")
    ),
    as_json: bool = JsonOpt,
) -> None:
    config = settings()
    patch = integration_settings(
        source_secret=source_secret,
        template=template,
        only_events=only_event,
        exclude_events=exclude_event,
        include_events=include_event,
        show_unknown=show_unknown,
        pairs=setting or [],
        unset=unset,
        as_json=as_json,
    )

    async def action() -> Robot:
        async with open_admin(config) as admin:
            current = await admin.robots.get(robot_id)
            relay = None
            if not no_upstream:
                relay = upstream_target(
                    upstream,
                    upstream_secret,
                    upstream_limit,
                    upstream_window,
                    upstream_block,
                    upstream_keyword,
                    current.upstream,
                )
            limit = None
            if rate_limit is not None or rate_window is not None or block is not None:
                old = current.rate_limit
                limit = RateLimit(
                    old.limit if rate_limit is None else rate_limit,
                    old.window_s if rate_window is None else rate_window,
                    old.block_s if block is None else block,
                )
            return await admin.robots.update(
                robot_id,
                RobotPatch(
                    name=name,
                    keywords=[] if clear_keywords else keyword,
                    signing=sign,
                    ip_allow=[] if clear_ips else ip,
                    rate_limit=limit,
                    overflow=overflow,
                    avatar_url=avatar,
                    settings=patch or None,
                    upstream=relay,
                    clear_upstream=no_upstream,
                    outgoing=None
                    if no_outgoing
                    else outgoing_target(outgoing_url, outgoing_token, current.outgoing),
                    clear_outgoing=no_outgoing,
                    upstream_fit=upstream_fit,
                    dedupe_window_s=dedupe_window,
                    mention_labels=[] if no_mention_labels else mention_label,
                ),
            )

    robot = run(action, as_json=as_json)
    emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))


@robot_app.command(
    "events",
    help=_(
        "What an integration robot received and did not show: each event, why (unknown, "
        "not_handled, opt_in, filtered), how often and when last.\n\n"
        "With --show or --show-all, those events are shown from now on: filters and opt-ins "
        "change to let them through, and the robot's settings are printed."
    ),
)
def robot_events(
    robot_id: int,
    show: list[str] = typer.Option(
        [], "--show", help=_("Show this ignored event from now on (repeat).")
    ),
    show_all: bool = typer.Option(False, "--show-all", help=_("Show every ignored event.")),
    as_json: bool = JsonOpt,
) -> None:
    config = settings()
    if show or show_all:

        async def change() -> Robot:
            async with open_admin(config) as admin:
                return await admin.robots.show_events(robot_id, show)

        robot = run(change, as_json=as_json)
        emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))
        return

    async def action() -> list[IgnoredEvent]:
        async with open_admin(config) as admin:
            return await admin.robots.ignored_events(robot_id)

    found = run(action, as_json=as_json)
    emit(
        [shown(IgnoredEventOut.of(e)) for e in found],
        as_json=as_json,
        human=lambda: (
            table(
                [_("event"), _("reason"), _("count"), _("last")],
                [(e.event, e.reason.value, e.count, local_time(e.last_at)) for e in found],
            )
            if found
            else typer.echo(_("Nothing ignored: every event this robot received was shown."))
        ),
    )


@robot_app.command("delete", help=_("Delete a robot; its messages stay in the group."))
def robot_delete(robot_id: int, as_json: bool = JsonOpt) -> None:

    async def action() -> None:
        async with open_admin() as admin:
            await admin.robots.delete(robot_id)

    run(action, as_json=as_json)
    emit(
        {"id": robot_id, "deleted": True},
        as_json=as_json,
        human=lambda: out.print(_("robot %(id)s deleted", id=robot_id)),
    )
