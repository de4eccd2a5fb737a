"""``gong robot …``, ``gong messages`` and ``gong refusals``."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import orjson
import typer

from gong.cli.common import JsonOpt, emit, fail, open_repository, out, run, settings, table
from gong.config import Settings
from gong.domain.errors import Invalid
from gong.domain.models import (
    DEFAULT_RATE_LIMIT,
    Outgoing,
    Overflow,
    RateLimit,
    Refusal,
    Robot,
    RobotKind,
    StoredMessage,
    Upstream,
)
from gong.domain.robots import check_outgoing_settings
from gong.integrations.config import merge_settings
from gong.outgoing.guard import Guard
from gong.relay.targets import checked_upstream, upstream_guard
from gong.storage.outbox import Outbox

__all__ = [
    "integration_settings",
    "messages_command",
    "refusals_command",
    "robot_app",
    "robot_json",
]

robot_app = typer.Typer(help="Create, inspect and secure robots.", no_args_is_help=True)


def robot_json(
    robot: Robot,
    config: Settings,
    stats: dict[str, int] | None = None,
    deliveries: dict[str, int] | None = None,
    held: int | None = None,
) -> dict[str, Any]:
    upstream = robot.upstream
    outgoing = robot.outgoing
    data: dict[str, Any] = {
        "id": robot.id,
        "group_id": robot.group_id,
        "name": robot.name,
        "kind": str(robot.kind),
        "enabled": robot.enabled,
        "webhook": config.webhook_url(robot.access_token),
        "access_token": robot.access_token,
        "secret": robot.secret,
        "keywords": list(robot.keywords),
        "ip_allow": list(robot.ip_allow),
        "rate_limit": {
            "limit": robot.rate_limit.limit,
            "window_s": robot.rate_limit.window_s,
            "block_s": robot.rate_limit.block_s,
        },
        "overflow": str(robot.overflow),
        "avatar_url": robot.avatar_url,
        "settings": {k: v for k, v in robot.settings.items() if k not in ("upstream", "outgoing")},
        "upstream": None if upstream is None else upstream.to_settings(),
        "outgoing": None if outgoing is None else outgoing.to_settings(),
        "created_at": robot.created_at,
        "updated_at": robot.updated_at,
    }
    if stats is not None:
        data["stats"] = stats
    if held is not None:
        data["held"] = held
    if deliveries is not None:
        data["deliveries"] = deliveries
    return data


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


OUTGOING_HELP = "Call this URL when a person @-mentions the robot (DingTalk's Outgoing)."
OUTGOING_TOKEN_HELP = "The token header of each callback (default: a new random one)."  # noqa: S105
UPSTREAM_HELP = "Relay every accepted message to this webhook (DingTalk or Gong)."
UPSTREAM_SECRET_HELP = "The upstream robot's SEC… signing secret."  # noqa: S105
UPSTREAM_LIMIT_HELP = "Upstream sends per window (default 19; DingTalk allows 20; 0 = unpaced)."
UPSTREAM_WINDOW_HELP = "The upstream's window in seconds (default 60)."
UPSTREAM_BLOCK_HELP = "Pause after a throttle answer, in seconds (default 600)."
UPSTREAM_KEYWORD_HELP = "A keyword put in every digest title (keyword-secured upstreams)."


async def _outgoing(
    config: Settings, url: str | None, token: str | None, current: Outgoing | None = None
) -> Outgoing | None:
    """The outgoing target from the options, over the current one, checked (where it points
    included); None when nothing was given."""
    if url is None and token is None:
        return None
    if url is None and current is None:
        raise Invalid("--outgoing-token needs --outgoing-url URL")
    outgoing = check_outgoing_settings(
        Outgoing(
            url=url if url is not None else current.url if current else "",
            token=token
            if token is not None
            else current.token
            if current is not None
            else secrets.token_urlsafe(24),
        )
    )
    await Guard(config).check_url(outgoing.url)
    return outgoing


def _upstream(
    url: str | None,
    secret: str | None,
    limit: int | None,
    window: int | None,
    block: int | None,
    keyword: str | None,
    current: Upstream | None = None,
) -> Upstream | None:
    """The upstream from the options, over the current one; None when nothing was given."""
    if url is None and current is None:
        if any(v is not None for v in (secret, limit, window, block, keyword)):
            raise Invalid("--upstream-… options need --upstream URL")
        return None
    if url is None and all(v is None for v in (secret, limit, window, block, keyword)):
        return None
    base = current or Upstream(url="")
    return Upstream(
        url=url if url is not None else base.url,
        secret=secret if secret is not None else base.secret,
        limit=limit if limit is not None else base.limit,
        window_s=window if window is not None else base.window_s,
        block_s=block if block is not None else base.block_s,
        keyword=keyword if keyword is not None else base.keyword,
    )


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
    outgoing_url: str | None = typer.Option(None, "--outgoing-url", help=OUTGOING_HELP),
    outgoing_token: str | None = typer.Option(None, "--outgoing-token", help=OUTGOING_TOKEN_HELP),
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
        pairs=setting,
        as_json=as_json,
    )

    async def action() -> Robot:
        relay = _upstream(
            upstream,
            upstream_secret,
            upstream_limit,
            upstream_window,
            upstream_block,
            upstream_keyword,
        )
        if relay is not None:
            relay = await checked_upstream(upstream_guard(config), relay)
        async with open_repository(config) as repo:
            return await repo.create_robot(
                group_id,
                name=name,
                kind=kind,
                keywords=keyword,
                signing=sign,
                ip_allow=ip,
                rate_limit=RateLimit(rate_limit, rate_window, block),
                overflow=overflow,
                avatar_url=avatar,
                settings=extra,
                upstream=relay,
                outgoing=await _outgoing(config, outgoing_url, outgoing_token),
            )

    robot = run(action, as_json=as_json)
    emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))


def _setting_value(raw: str, as_json: bool) -> Any:
    if raw.startswith("@"):
        return _read(Path(raw[1:]), as_json)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


def _read(path: Path, as_json: bool) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}", as_json=as_json)
    raise AssertionError("unreachable")


#: Robot settings with options of their own, which ``--set`` may not write around.
_OWN_OPTIONS = {"upstream": "--upstream URL", "outgoing": "--outgoing-url URL"}


def integration_settings(
    *,
    source_secret: str | None,
    template: Path | None,
    only_events: list[str] | None,
    exclude_events: list[str] | None,
    pairs: list[str],
    as_json: bool,
    unset: list[str] | None = None,
) -> dict[str, Any]:
    """The integration settings named on the command line (None for each ``--unset`` key)."""
    found: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--set {pair!r}: write KEY=VALUE", as_json=as_json)
        if key.strip() in _OWN_OPTIONS:  # those are checked (and guarded) by their options
            fail(f"--set {key.strip()}: use {_OWN_OPTIONS[key.strip()]}", as_json=as_json)
        found[key.strip()] = _setting_value(value, as_json)
    if source_secret is not None:
        found["source_secret"] = source_secret
    if template is not None:
        found["template"] = _read(template, as_json)
    if only_events:
        found["only_events"] = list(only_events)
    if exclude_events:
        found["exclude_events"] = list(exclude_events)
    for key in unset or []:
        found[key] = None
    return found


@robot_app.command("list")
def robot_list(
    group: int | None = typer.Option(None, "--group", help="Only this group's robots."),
    as_json: bool = JsonOpt,
) -> None:
    """List robots."""
    config = settings()

    async def action() -> list[Robot]:
        async with open_repository(config) as repo:
            return await repo.list_robots(group)

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
        async with open_repository(config) as repo:
            robot = await repo.get_robot(robot_id)
            stats = await repo.robot_stats(robot_id)
            outbox = Outbox(repo.engine)
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
        async with open_repository(config) as repo:
            if secret:
                return await repo.rotate_secret(robot_id)
            return await repo.rotate_token(robot_id)

    robot = run(action, as_json=as_json)
    emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))


def _set_enabled(robot_id: int, enabled: bool, as_json: bool) -> None:
    config = settings()

    async def action() -> Robot:
        async with open_repository(config) as repo:
            return await repo.set_enabled(robot_id, enabled)

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
    as_json: bool = JsonOpt,
) -> None:
    """Change a robot's settings; what is not given stays as it is."""
    config = settings()
    patch = integration_settings(
        source_secret=source_secret,
        template=template,
        only_events=only_event,
        exclude_events=exclude_event,
        pairs=setting or [],
        unset=unset,
        as_json=as_json,
    )

    async def action() -> Robot:
        async with open_repository(config) as repo:
            current = await repo.get_robot(robot_id)
            relay = None
            if not no_upstream:
                relay = _upstream(
                    upstream,
                    upstream_secret,
                    upstream_limit,
                    upstream_window,
                    upstream_block,
                    upstream_keyword,
                    current.upstream,
                )
                if relay is not None:
                    relay = await checked_upstream(upstream_guard(config), relay)
            limit = None
            if rate_limit is not None or rate_window is not None or block is not None:
                old = current.rate_limit
                limit = RateLimit(
                    old.limit if rate_limit is None else rate_limit,
                    old.window_s if rate_window is None else rate_window,
                    old.block_s if block is None else block,
                )
            return await repo.update_robot(
                robot_id,
                name=name,
                keywords=[] if clear_keywords else keyword,
                signing=sign,
                ip_allow=[] if clear_ips else ip,
                rate_limit=limit,
                overflow=overflow,
                avatar_url=avatar,
                settings=merge_settings(current.settings, patch) if patch else None,
                upstream=relay,
                clear_upstream=no_upstream,
                outgoing=None
                if no_outgoing
                else await _outgoing(config, outgoing_url, outgoing_token, current.outgoing),
                clear_outgoing=no_outgoing,
            )

    robot = run(action, as_json=as_json)
    emit(robot_json(robot, config), as_json=as_json, human=lambda: _print_robot(robot, config))


@robot_app.command("delete")
def robot_delete(robot_id: int, as_json: bool = JsonOpt) -> None:
    """Delete a robot; its messages stay in the group."""

    async def action() -> None:
        async with open_repository() as repo:
            await repo.delete_robot(robot_id)

    run(action, as_json=as_json)
    emit(
        {"id": robot_id, "deleted": True},
        as_json=as_json,
        human=lambda: out.print(f"robot {robot_id} deleted"),
    )


def message_json(message: StoredMessage) -> dict[str, Any]:
    return message.to_json()


def messages_command(
    group_id: int,
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="How many, newest first."),
    before: int | None = typer.Option(None, "--before", help="Only messages older than this id."),
    as_json: bool = JsonOpt,
) -> None:
    """List a group's messages, newest first, each with its msgtype and payload as sent."""

    async def action() -> list[StoredMessage]:
        async with open_repository() as repo:
            await repo.get_group(group_id)
            return await repo.list_messages(group_id, before=before, limit=limit)

    messages = run(action, as_json=as_json)
    emit(
        [message_json(m) for m in messages],
        as_json=as_json,
        human=lambda: table(
            ["id", "from", "msgtype", "title"],
            [(m.id, m.sender_name, m.msgtype, _title(m.content)) for m in messages],
        ),
    )


def _title(content: dict[str, Any]) -> str:
    from gong.protocol.messages import parse_message

    try:
        title = parse_message(content).title()
    except Exception:
        return ""
    return title if len(title) <= 60 else title[:59] + "…"


def refusals_command(
    robot_id: int,
    limit: int = typer.Option(20, "--limit", min=1, max=500),
    as_json: bool = JsonOpt,
) -> None:
    """A robot's recent refused calls, newest first, with the reason."""

    async def action() -> list[Refusal]:
        async with open_repository() as repo:
            await repo.get_robot(robot_id)
            return await repo.list_refusals(robot_id, limit)

    refusals = run(action, as_json=as_json)
    emit(
        [r.to_json() for r in refusals],
        as_json=as_json,
        human=lambda: table(
            ["time", "ip", "errcode", "reason"],
            [(_time(r.created_at), r.ip, r.errcode, r.reason) for r in refusals],
        ),
    )


def _time(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
