"""``gong deliveries``: the relay's delivery records of a robot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from gong.cli.common import JsonOpt, emit, open_admin, out, run, shown, table
from gong.domain.models import Delivery, DeliveryState
from gong.i18n import cli as _
from gong.schemas.records import (
    DeliveryOut,
)
from gong.storage.outbox import Outbox

__all__ = ["deliveries_command", "delivery_state"]


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def delivery_state(state: str) -> str:
    """A delivery state (``pending``, ``sent``, ``digested``, ``failed``) in words."""
    words: dict[str, str] = {
        DeliveryState.PENDING: _("pending"),
        DeliveryState.SENT: _("sent"),
        DeliveryState.DIGESTED: _("digested"),
        DeliveryState.FAILED: _("failed"),
    }
    return words.get(state, state)


def _outcome(delivery: Delivery) -> str:
    send = delivery.send
    if send is None:
        return _("queued")
    answer = f"{send.errcode} {send.errmsg or ''}".strip()
    if delivery.state is DeliveryState.DIGESTED:
        return _("in digest %(id)s (%(count)s messages)", id=send.id, count=send.items)
    if delivery.state is DeliveryState.FAILED:
        return _("failed: %(answer)s", answer=answer)
    if delivery.state is DeliveryState.PENDING and send.attempts:
        return _("attempt %(n)s, last: %(answer)s", n=send.attempts, answer=answer)
    return send.kind


def deliveries_command(
    robot_id: int,
    state: DeliveryState | None = typer.Option(None, "--state", help=_("Only this state.")),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help=_("How many, newest first.")),
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> tuple[list[Delivery], dict[str, int]]:
        async with open_admin() as admin:
            await admin.robots.get(robot_id)
            outbox = Outbox(admin.engine)
            found = await outbox.deliveries(robot_id, state=state, limit=limit)
            return found, await outbox.counts(robot_id)

    deliveries, counts = run(action, as_json=as_json)
    data: dict[str, Any] = {
        "robot_id": robot_id,
        "counts": counts,
        "deliveries": [shown(DeliveryOut.of(d)) for d in deliveries],
    }

    def human() -> None:
        out.print(
            ", ".join(
                _("%(count)s %(state)s", count=n, state=delivery_state(s))
                for s, n in counts.items()
            )
        )
        table(
            [_("id"), _("message"), _("time"), _("state"), _("title"), _("upstream")],
            [
                (
                    d.id,
                    d.message_id,
                    _when(d.created_at),
                    delivery_state(d.state),
                    d.title[:40],
                    _outcome(d),
                )
                for d in deliveries
            ],
        )

    emit(data, as_json=as_json, human=human)
