"""``gong robot …``: create, show, change and delete robots."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer

from gong.cli.common import JsonOpt, emit, open_admin, out, run, settings, shown, table
from gong.cli.history import local_time
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
from gong.schemas.records import (
    IgnoredEventOut,
    robot_out,
)
from gong.storage.outbox import Outbox

__all__ = ["robot_app", "robot_json"]

robot_app = typer.Typer(help="Create, inspect and secure robots.", no_args_is_help=True)


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
    out.print(
        f"robot {robot.id} “{robot.name}” ({robot.kind}) in group {robot.group_id}"
        f" — {'enabled' if robot.enabled else 'disabled'}"
    )
    out.print(f"  webhook:   {config.webhook_url(robot.access_token)}")
    if robot.secret:
        out.print(f"  secret:    {robot.secret}")
    if robot.keywords:
        out.print(f"  keywords:  {', '.join(robot.keywords)}")
    if robot.ip_allow:
        out.print(f"  IP allow:  {', '.join(robot.ip_allow)}")
    limit = robot.rate_limit
    out.print(
        "  rate:      "
        + (
            "unlimited"
            if limit.unlimited
            else f"{limit.limit} per {limit.window_s} s, then a {limit.block_s} s block"
        )
    )
    extra = robot.settings
    if extra.get("source_secret"):
        out.print(f"  source secret: {extra['source_secret']}")
    if extra.get("template"):
        out.print(f"  template:  {len(str(extra['template']).splitlines())} lines")
    for key in ("only_events", "exclude_events"):
        if extra.get(key):
            out.print(f"  {key}: {', '.join(extra[key])}")
    upstream = robot.upstream
    if upstream is not None:
        pace = "unpaced" if upstream.limit == 0 else (f"{upstream.limit} per {upstream.window_s} s")
        signed = ", signed" if upstream.secret else ""
        out.print(f"  relay to:  {_masked(upstream.url)} ({pace}{signed})", markup=False)
    outgoing = robot.outgoing
    if outgoing is not None:
        out.print(f"  outgoing:  {outgoing.url} (token {outgoing.token})", markup=False)
    if stats is not None:
        kept = f", {held} held for overflow summaries" if held else ""
        out.print(f"  calls:     {stats['accepted']} accepted, {stats['refused']} refused{kept}")
    if deliveries is not None:
        out.print("  relayed:   " + ", ".join(f"{n} {state}" for state, n in deliveries.items()))


@robot_app.command("create")
def robot_create(
    group_id: int,
    name: str = typer.Option(..., "--name", help="Shown as the sender of its messages."),
    kind: RobotKind = typer.Option(RobotKind.CUSTOM, "--kind", help="How bodies are read."),
    keyword: list[str] = typer.Option([], "--keyword", help="A keyword (repeat, at most 10)."),
    sign: bool = typer.Option(False, "--sign", help="Require a signature (加签)."),
    ip: list[str] = typer.Option([], "--ip", help="An allowed IPv4 address or CIDR (repeat)."),
    rate_limit: int = typer.Option(
        DEFAULT_RATE_LIMIT.limit, "--rate-limit", min=0, help="Messages per window; 0 = unlimited."
    ),
    rate_window: int = typer.Option(
        DEFAULT_RATE_LIMIT.window_s, "--rate-window", min=0, help="Window in seconds."
    ),
    block: int = typer.Option(
        DEFAULT_RATE_LIMIT.block_s, "--block", min=0, help="Block after the limit, in seconds."
    ),
    overflow: Overflow = typer.Option(
        Overflow.REJECT, "--overflow", help="Past the limit: reject (as DingTalk) or digest."
    ),
    avatar: str = typer.Option("", "--avatar", help="Avatar image URL."),
    source_secret: str | None = typer.Option(
        None, "--source-secret", help="Integration kinds: the secret the source signs with."
    ),
    template: Path | None = typer.Option(
        None, "--template", help="Template robots: file with the Jinja2 template."
    ),
    only_event: list[str] = typer.Option([], "--only-event", help="Show only these (repeat)."),
    exclude_event: list[str] = typer.Option([], "--exclude-event", help="Never show (repeat)."),
    include_event: list[str] = typer.Option([], "--include-event", help=INCLUDE_EVENT_HELP),
    show_unknown: bool = typer.Option(False, "--show-unknown", help=SHOW_UNKNOWN_HELP),
    setting: list[str] = typer.Option(
        [], "--set", help="Another integration setting, KEY=VALUE (VALUE as JSON, or @file)."
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
    """Create a robot; prints its id, access_token, secret and webhook URL.

    A custom robot needs at least one security setting (--keyword, --sign or --ip), as on
    DingTalk. Integration kinds (github, gitlab, …) need none: --source-secret protects them.
    With --upstream it also relays what it accepts to that webhook, paced and folded into
    digests past the upstream's limit. With --outgoing-url, a person's @-mention of it in the
    group is sent to that URL as DingTalk's callback, and the answer is posted as the robot.
    """
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


@robot_app.command("list")
def robot_list(
    group: int | None = typer.Option(None, "--group", help="Only this group's robots."),
    as_json: bool = JsonOpt,
) -> None:
    """List robots."""
    config = settings()

    async def action() -> list[Robot]:
        async with open_admin(config) as admin:
            return await admin.robots.list(group)

    robots = run(action, as_json=as_json)
    emit(
        [robot_json(r, config) for r in robots],
        as_json=as_json,
        human=lambda: table(
            ["id", "group", "name", "kind", "enabled", "security"],
            [(r.id, r.group_id, r.name, r.kind, r.enabled, _security(r)) for r in robots],
        ),
    )


def _security(robot: Robot) -> str:
    parts = []
    if robot.keywords:
        parts.append(f"{len(robot.keywords)} keyword(s)")
    if robot.secret:
        parts.append("signing")
    if robot.ip_allow:
        parts.append(f"{len(robot.ip_allow)} IP range(s)")
    return ", ".join(parts) or "-"


@robot_app.command("show")
def robot_show(robot_id: int, as_json: bool = JsonOpt) -> None:
    """Show a robot's settings, webhook, call counts and relay delivery counts."""
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


@robot_app.command("rotate")
def robot_rotate(
    robot_id: int,
    secret: bool = typer.Option(False, "--secret", help="Regenerate the signing secret instead."),
    as_json: bool = JsonOpt,
) -> None:
    """Regenerate the access_token (the old webhook stops working) or, with --secret, the secret."""
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
        human=lambda: out.print(f"robot {robot.id} {'enabled' if enabled else 'disabled'}"),
    )


@robot_app.command("disable")
def robot_disable(robot_id: int, as_json: bool = JsonOpt) -> None:
    """Disable a robot: its calls are answered 400102."""
    _set_enabled(robot_id, False, as_json)


@robot_app.command("enable")
def robot_enable(robot_id: int, as_json: bool = JsonOpt) -> None:
    """Enable a disabled robot."""
    _set_enabled(robot_id, True, as_json)


@robot_app.command("update")
def robot_update(
    robot_id: int,
    name: str | None = typer.Option(None, "--name"),
    keyword: list[str] | None = typer.Option(
        None, "--keyword", help="Replace the keywords (repeat)."
    ),
    clear_keywords: bool = typer.Option(False, "--no-keywords", help="Remove every keyword."),
    sign: bool | None = typer.Option(None, "--sign/--no-sign", help="Turn signing on or off."),
    ip: list[str] | None = typer.Option(None, "--ip", help="Replace the IP allow list (repeat)."),
    clear_ips: bool = typer.Option(False, "--no-ips", help="Remove the IP allow list."),
    rate_limit: int | None = typer.Option(None, "--rate-limit", min=0),
    rate_window: int | None = typer.Option(None, "--rate-window", min=0),
    block: int | None = typer.Option(None, "--block", min=0),
    overflow: Overflow | None = typer.Option(None, "--overflow"),
    avatar: str | None = typer.Option(None, "--avatar"),
    source_secret: str | None = typer.Option(None, "--source-secret"),
    template: Path | None = typer.Option(None, "--template", help="File with the template."),
    only_event: list[str] | None = typer.Option(None, "--only-event", help="Replace (repeat)."),
    exclude_event: list[str] | None = typer.Option(
        None, "--exclude-event", help="Replace (repeat)."
    ),
    include_event: list[str] | None = typer.Option(
        None, "--include-event", help=INCLUDE_EVENT_HELP + " Replaces the list."
    ),
    show_unknown: bool | None = typer.Option(
        None, "--show-unknown/--no-show-unknown", help=SHOW_UNKNOWN_HELP
    ),
    setting: list[str] | None = typer.Option(None, "--set", help="KEY=VALUE (JSON, or @file)."),
    unset: list[str] | None = typer.Option(None, "--unset", help="Remove a setting (repeat)."),
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
        False, "--no-upstream", help="Stop relaying (what is still queued fails)."
    ),
    outgoing_url: str | None = typer.Option(None, "--outgoing-url", help=OUTGOING_HELP),
    outgoing_token: str | None = typer.Option(
        None, "--outgoing-token", help="A new token for the callbacks' token header."
    ),
    no_outgoing: bool = typer.Option(
        False, "--no-outgoing", help="Stop calling back when the robot is @-mentioned."
    ),
    upstream_fit: UpstreamFit | None = typer.Option(None, "--upstream-fit", help=UPSTREAM_FIT_HELP),
    dedupe_window: int | None = typer.Option(None, "--dedupe-window", min=0, help=DEDUPE_HELP),
    mention_label: list[str] | None = typer.Option(
        None, "--mention-label", help=MENTION_LABEL_HELP + " Replaces the list."
    ),
    no_mention_labels: bool = typer.Option(
        False, "--no-mention-labels", help="Take no owners from alert labels."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Change a robot's settings; what is not given stays as it is."""
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


@robot_app.command("events")
def robot_events(
    robot_id: int,
    show: list[str] = typer.Option(
        [], "--show", help="Show this ignored event from now on (repeat)."
    ),
    show_all: bool = typer.Option(False, "--show-all", help="Show every ignored event."),
    as_json: bool = JsonOpt,
) -> None:
    """What an integration robot received and did not show: each event, why (unknown,
    not_handled, opt_in, filtered), how often and when last.

    With --show or --show-all, those events are shown from now on: filters and opt-ins change
    to let them through, and the robot's settings are printed.
    """
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
                ["event", "reason", "count", "last"],
                [(e.event, e.reason.value, e.count, local_time(e.last_at)) for e in found],
            )
            if found
            else typer.echo("Nothing ignored: every event this robot received was shown.")
        ),
    )


@robot_app.command("delete")
def robot_delete(robot_id: int, as_json: bool = JsonOpt) -> None:
    """Delete a robot; its messages stay in the group."""

    async def action() -> None:
        async with open_admin() as admin:
            await admin.robots.delete(robot_id)

    run(action, as_json=as_json)
    emit(
        {"id": robot_id, "deleted": True},
        as_json=as_json,
        human=lambda: out.print(f"robot {robot_id} deleted"),
    )
