"""``gong deliveries``: the relay's delivery records of a robot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from gong.cli.common import JsonOpt, emit, open_admin, out, run, shown, table
from gong.domain.models import Delivery, DeliveryState
from gong.schemas.records import (
    DeliveryOut,
)
from gong.storage.outbox import Outbox

__all__ = ["deliveries_command"]


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _outcome(delivery: Delivery) -> str:
    send = delivery.send
    if send is None:
        return "queued"
    if delivery.state is DeliveryState.DIGESTED:
        return f"in digest {send.id} ({send.items} messages)"
    if delivery.state is DeliveryState.FAILED:
        return f"failed: {send.errcode} {send.errmsg or ''}".strip()
    if delivery.state is DeliveryState.PENDING and send.attempts:
        return f"attempt {send.attempts}, last: {send.errcode} {send.errmsg or ''}".strip()
    return send.kind


def deliveries_command(
    robot_id: int,
    state: DeliveryState | None = typer.Option(None, "--state", help="Only this state."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="How many, newest first."),
    as_json: bool = JsonOpt,
) -> None:
    """A relayed robot's delivery records, newest first: pending, sent, digested, or failed."""

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
        out.print(", ".join(f"{n} {s}" for s, n in counts.items()))
        table(
            ["id", "message", "time", "state", "title", "upstream"],
            [
                (d.id, d.message_id, _when(d.created_at), d.state, d.title[:40], _outcome(d))
                for d in deliveries
            ],
        )

    emit(data, as_json=as_json, human=human)
