"""Times and durations as Gong writes them into message text: on the group's clock, labelled.

A group has a time zone (``Group.timezone``; the server's when unset, ``GONG_TIMEZONE``). Every
time Gong writes into a message (alerts, digests, integrations) goes through
:func:`format_local`, which always names the zone, so a reader never has to guess whether
``14:02`` is UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = ["duration", "format_local", "is_zone", "server_zone", "zone", "zone_for", "zone_names"]


def duration(seconds: float | None) -> str:
    """``63`` → ``1 min 3 s``; ``7322`` → ``2 h 2 min``; ``200000`` → ``2 d 7 h``."""
    if seconds is None or seconds < 0:
        return ""
    total = round(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def format_local(at_ms: int, tz: dt.tzinfo, *, with_date: bool = True) -> str:
    """``2026-12-05 14:02:11 CST`` in ``tz``; the zone's abbreviation (or ``UTC+08:00`` when it
    has none) says which clock the time is on. Times outside what a calendar holds are shown
    as ``?``."""
    try:
        local = dt.datetime.fromtimestamp(at_ms / 1000, tz)
    except (OverflowError, OSError, ValueError):
        return "?"
    zone = local.tzname() or ""
    if not zone or zone[0] in "+-":
        offset = local.strftime("%z")
        zone = f"UTC{offset[:3]}:{offset[3:]}" if offset and offset != "+0000" else "UTC"
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    return f"{shown} {zone}"


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_names() -> list[str]:
    """Every zone name :func:`is_zone` accepts, sorted."""
    return sorted(_known() | {"UTC"})


def is_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (``Asia/Shanghai``, ``UTC``)."""
    return name in _known() or name == "UTC"


@cache
def zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (checked with :func:`is_zone`); UTC if it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_for(own: str | None, default: str) -> ZoneInfo:
    """The zone a group's times are written in: its own, else the server's ``default``."""
    return zone(own or default)


def server_zone() -> str:
    """The machine's own time zone name: ``TZ``, ``/etc/timezone`` or ``/etc/localtime``."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name and is_zone(name):
            return name
    return "UTC"
