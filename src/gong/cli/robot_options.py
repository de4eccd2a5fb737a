"""Reading ``gong robot create`` / ``update`` options into the robot's parts: the upstream, the
outgoing target and the integration settings (the robot service checks them all)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import orjson

from gong.cli.common import fail
from gong.domain.errors import Invalid
from gong.domain.models import Outgoing, Upstream
from gong.i18n import cli as _
from gong.protocol.limits import (
    DEFAULT_UPSTREAM_BLOCK,
    DEFAULT_UPSTREAM_LIMIT,
    DEFAULT_UPSTREAM_WINDOW,
    DINGTALK_RATE_LIMIT,
)

__all__ = [
    "DEDUPE_HELP",
    "MENTION_LABEL_HELP",
    "OUTGOING_HELP",
    "OUTGOING_TOKEN_HELP",
    "UPSTREAM_BLOCK_HELP",
    "UPSTREAM_FIT_HELP",
    "UPSTREAM_HELP",
    "UPSTREAM_KEYWORD_HELP",
    "UPSTREAM_LIMIT_HELP",
    "UPSTREAM_SECRET_HELP",
    "UPSTREAM_WINDOW_HELP",
    "integration_settings",
    "outgoing_target",
    "upstream_target",
]


OUTGOING_HELP = _("Call this URL when a person @-mentions the robot (DingTalk's Outgoing).")
OUTGOING_TOKEN_HELP = _("The token header of each callback (default: a new random one).")
UPSTREAM_HELP = _("Relay every accepted message to this webhook (DingTalk or Gong).")
UPSTREAM_SECRET_HELP = _("The upstream robot's SEC… signing secret.")
UPSTREAM_LIMIT_HELP = _(
    "Upstream sends per window (default %(limit)s; DingTalk allows %(dingtalk)s; 0 = unpaced).",
    limit=DEFAULT_UPSTREAM_LIMIT,
    dingtalk=DINGTALK_RATE_LIMIT,
)
UPSTREAM_WINDOW_HELP = _(
    "The upstream's window in seconds (default %(window)s).", window=DEFAULT_UPSTREAM_WINDOW
)
UPSTREAM_BLOCK_HELP = _(
    "Pause after a throttle answer, in seconds (default %(block)s).", block=DEFAULT_UPSTREAM_BLOCK
)
UPSTREAM_FIT_HELP = _(
    "A message too large for one DingTalk message (an alert storm's group) goes upstream as "
    "a summary with a link to the whole message in Gong, or split into numbered parts."
)
DEDUPE_HELP = _(
    "Quiet window in seconds: a message identical to one the robot posted within it is counted "
    "on that one (shown as ×N) instead of posted again. 0 turns it off."
)
MENTION_LABEL_HELP = _(
    "An alert label whose value is a member's mobile, userId or name: the alert @-mentions "
    "them (repeat; alert robots: alertmanager, grafana, sentry, uptime-kuma, template)."
)
INCLUDE_EVENT_HELP = _(
    "Also show this opt-in event or family (successful runs, stars, forks, emoji; repeat)."
)
SHOW_UNKNOWN_HELP = _("Post a short message for events Gong has no message for.")
UPSTREAM_KEYWORD_HELP = _("A keyword put in every digest title (keyword-secured upstreams).")


def outgoing_target(
    url: str | None, token: str | None, current: Outgoing | None = None
) -> Outgoing | None:
    """The outgoing target from the options, over the current one; None when nothing was
    given (the robot service checks it, where it points included)."""
    if url is None and token is None:
        return None
    if url is None and current is None:
        raise Invalid(_.lazy("--outgoing-token needs --outgoing-url URL"))
    return Outgoing(
        url=url if url is not None else current.url if current else "",
        token=token
        if token is not None
        else current.token
        if current is not None
        else secrets.token_urlsafe(24),
    )


def upstream_target(
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
            raise Invalid(_.lazy("--upstream-… options need --upstream URL"))
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
        fit=base.fit,
    )


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
        fail(_.lazy("cannot read %(path)s: %(error)s", path=path, error=exc), as_json=as_json)
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
    include_events: list[str] | None = None,
    show_unknown: bool | None = None,
    as_json: bool,
    unset: list[str] | None = None,
) -> dict[str, Any]:
    """The integration settings named on the command line (None for each ``--unset`` key)."""
    found: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(_.lazy("--set %(pair)r: write KEY=VALUE", pair=pair), as_json=as_json)
        if key.strip() in _OWN_OPTIONS:  # those are checked (and guarded) by their options
            fail(
                _.lazy(
                    "--set %(key)s: use %(option)s",
                    key=key.strip(),
                    option=_OWN_OPTIONS[key.strip()],
                ),
                as_json=as_json,
            )
        found[key.strip()] = _setting_value(value, as_json)
    if source_secret is not None:
        found["source_secret"] = source_secret
    if template is not None:
        found["template"] = _read(template, as_json)
    if only_events:
        found["only_events"] = list(only_events)
    if exclude_events:
        found["exclude_events"] = list(exclude_events)
    if include_events:
        found["include_events"] = list(include_events)
    if show_unknown is not None:
        found["show_unknown"] = show_unknown
    for key in unset or []:
        found[key] = None
    return found
