"""``gong export``: what is stored, written as the file ``gong apply`` reads.

Applying the export to the same database changes nothing (with the variables it names set to
the secrets they stand for). Each value is left out where it is the default, so the file shows
what was chosen. Secrets are references named after the robot that holds them
(:func:`secret_variable`); account passwords are not exported (only their hashes are stored).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from gong.administration import Administration
from gong.configfile.document import reference
from gong.domain.models import Group, Member, Robot
from gong.storage.accounts import Accounts
from gong.web.api.schemas import IntegrationSettingsIn, OutgoingIn, RobotIn, UpstreamIn

__all__ = ["export", "secret_variable"]

#: A robot's settings as the file writes them when nothing was chosen.
_DEFAULTS: dict[str, Any] = RobotIn(name="-").model_dump(mode="json")
_UPSTREAM_DEFAULTS: dict[str, Any] = UpstreamIn(url="https://-").model_dump(mode="json")
_SETTINGS = tuple(IntegrationSettingsIn.model_fields)
_OUTGOING = tuple(OutgoingIn.model_fields)

#: The secret fields and the end of their variables' names.
SECRETS = {
    ("settings", "source_secret"): "SOURCE_SECRET",
    ("upstream", "url"): "UPSTREAM_URL",
    ("upstream", "secret"): "UPSTREAM_SECRET",
    ("outgoing", "token"): "OUTGOING_TOKEN",
}


def secret_variable(robot_id: int, field: tuple[str, str]) -> str:
    """The variable an export names for a robot's secret: ``GONG_ROBOT_7_SOURCE_SECRET``,
    ``GONG_ROBOT_7_UPSTREAM_URL`` (when it carries an ``access_token``),
    ``GONG_ROBOT_7_UPSTREAM_SECRET``, ``GONG_ROBOT_7_OUTGOING_TOKEN`` (by the robot's id: names
    of groups and robots may be in any script, variables' names are ASCII)."""
    return f"GONG_ROBOT_{robot_id}_{SECRETS[field]}"


async def export(admin: Administration, accounts: Accounts) -> str:
    """The groups (with their members and robots) and the accounts, as YAML."""
    variables: list[tuple[str, str]] = []
    groups: list[dict[str, Any]] = []
    every = await admin.groups.list()
    for group in every:
        members = await admin.groups.members(group.id)
        robots = await admin.robots.list(group.id)
        groups.append(_group(group, members, robots, variables))
    names = {g.id: g.name for g in every}
    users: list[dict[str, Any]] = []
    for user in await accounts.list_users():
        entry: dict[str, Any] = {"username": user.username}
        if user.is_admin:
            entry["admin"] = True
        links = [_link(names[m.group_id], m) for m in await accounts.members_of(user.id)]
        if links:
            entry["members"] = links
        users.append(entry)
    data: dict[str, Any] = {"groups": groups}
    if users:
        data["accounts"] = users
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return _header(variables, bool(users)) + body


def _header(variables: list[tuple[str, str]], accounts: bool) -> str:
    lines = ["# Gong's groups, members, robots and accounts, written by `gong export`."]
    lines.append("# Apply with `gong apply FILE` (docs/config-as-code.md).")
    if variables:
        lines.append("# Secrets are references: set these variables to them before applying.")
        width = max(len(name) for name, _what in variables)
        lines.extend(f"#   {name.ljust(width)}  {what}" for name, what in variables)
    if accounts:
        lines.append("# Passwords are not exported: give a new account `password: ${VARIABLE}`.")
    return "\n".join(lines) + "\n"


def _link(group_name: str, member: Member) -> str:
    return f"{group_name}:{member.mobile or member.user_id}"


def _group(
    group: Group, members: list[Member], robots: list[Robot], variables: list[tuple[str, str]]
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": group.name}
    if group.timezone:
        entry["timezone"] = group.timezone
    if group.retention_days:
        entry["retention_days"] = group.retention_days
    if group.retention_count:
        entry["retention_count"] = group.retention_count
    if group.dissolved:
        entry["dissolved"] = True
    if members:
        entry["members"] = [_member(m) for m in members]
    if robots:
        entry["robots"] = [_robot(group, r, variables) for r in robots]
    return entry


def _member(member: Member) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": member.name}
    if member.mobile:
        entry["mobile"] = member.mobile
    if member.user_id:
        entry["userId"] = member.user_id
    return entry


def _robot(group: Group, robot: Robot, variables: list[tuple[str, str]]) -> dict[str, Any]:
    def secret(field: tuple[str, str]) -> str:
        name = secret_variable(robot.id, field)
        variables.append((name, f"{'.'.join(field)} of {group.name}/{robot.name}"))
        return reference(name)

    settings = {
        key: robot.settings[key]
        for key in _SETTINGS
        if robot.settings.get(key) is not None and robot.settings.get(key) != ""
    }
    if "source_secret" in settings:
        settings["source_secret"] = secret(("settings", "source_secret"))
    upstream: dict[str, Any] | None = None
    if robot.upstream is not None:
        given = _json(robot.upstream.to_settings())
        # A DingTalk webhook carries its robot's token: a secret too.
        tokened = "access_token=" in robot.upstream.url
        upstream = {"url": secret(("upstream", "url")) if tokened else given["url"]}
        upstream.update(
            (k, v)
            for k, v in given.items()
            if k not in ("url", "secret") and v != _UPSTREAM_DEFAULTS.get(k)
        )
        if robot.upstream.secret:
            upstream["secret"] = secret(("upstream", "secret"))
    outgoing: dict[str, Any] | None = None
    if robot.outgoing is not None:
        outgoing = {key: robot.outgoing.to_settings()[key] for key in _OUTGOING}
        outgoing["token"] = secret(("outgoing", "token"))
    full: dict[str, Any] = {
        "name": robot.name,
        "kind": str(robot.kind),
        "keywords": list(robot.keywords),
        "signing": robot.secret is not None,
        "ip_allow": list(robot.ip_allow),
        "rate_limit": dataclasses.asdict(robot.rate_limit),
        "overflow": str(robot.overflow),
        "avatar_url": robot.avatar_url,
        "enabled": robot.enabled,
        "settings": _json(settings) or None,
        "upstream": upstream,
        "outgoing": outgoing,
        "dedupe_window_s": robot.dedupe_window_s,
        "mention_labels": list(robot.mention_labels),
    }
    return {k: v for k, v in full.items() if k == "name" or v != _DEFAULTS[k]}


def _json(value: dict[str, Any]) -> dict[str, Any]:
    """Plain data for YAML: enums as their values, tuples as lists."""
    return {k: _plain(v) for k, v in value.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return str(value)  # a StrEnum as its value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return _json(value)
    return value
