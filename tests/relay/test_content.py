"""What the relay sends when the content matters, against a fake DingTalk on a real socket:
digests that keep every message's text and link it in Gong, messages too large for the upstream
split or summarised, repeats of the quiet window counted, times on the group's clock.

Time is a manual clock moved by the test.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gong.config import Settings
from gong.domain.models import DeliveryState, UpstreamFit
from gong.protocol.messages import encode
from tests.fakes import KEYWORD, OK, Answer, FakeDingTalk
from tests.helpers import update_robot
from tests.relay.conftest import Relay, open_relay

T0 = 1_800_000_000_000  # 2027-01-15 08:00:00 UTC: 16:00 in Shanghai, 03:00 in New York
PUBLIC = "https://gong.example.com"
LIMIT = 20_000


def body_size(body: dict[str, Any]) -> int:
    return len(encode(body))


def in_gong(relay: Relay, message_id: int | None) -> str:
    return f"{PUBLIC}/groups/{relay.robot.group_id}?at={message_id}#m-{message_id}"


async def opened(settings: Settings, fake: FakeDingTalk, **update: Any) -> Relay:
    return await open_relay(settings.model_copy(update=update), fake)


@pytest.fixture
async def linked(db_settings: Settings, fake: FakeDingTalk) -> AsyncIterator[Relay]:
    """A relay whose Gong has a public URL (messages are linked) and runs on Shanghai time."""
    made = await opened(db_settings, fake, public_url=PUBLIC, timezone="Asia/Shanghai")
    try:
        yield made
    finally:
        await made.worker.stop()
        await made.runtime.close()


@pytest.fixture
async def unlinked(sqlite_settings: Settings, fake: FakeDingTalk) -> AsyncIterator[Relay]:
    """A relay whose Gong has no public URL, on Shanghai time."""
    made = await opened(sqlite_settings, fake, public_url=None, timezone="Asia/Shanghai")
    try:
        yield made
    finally:
        await made.worker.stop()
        await made.runtime.close()


def storm_alert(i: int) -> dict[str, Any]:
    """One of a storm of alerts with the same title: only the text tells them apart."""
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": "[FIRING:1] HighCPU alert",
            "text": "\n".join(
                [
                    "#### [FIRING:1] HighCPU alert",
                    f"**instance**: host-{i} · marker-{i:04d}",
                    "> CPU above 90% for 5 minutes, see [runbook](https://wiki.example.com/cpu)",
                    "- severity: critical",
                    "- " + "details that run on " * 20,
                ]
            ),
        },
    }


async def test_a_burst_of_same_titled_alerts_arrives_with_every_text_and_link(
    linked: Relay,
) -> None:
    relay = linked
    results = await asyncio.gather(*(relay.post(storm_alert(i)) for i in range(300)))
    ids = [r.message_id for r in results]
    assert None not in ids
    await relay.drive()
    delivered = relay.fake.delivered
    assert 2 <= len(delivered) <= 19
    assert all(body_size(b) < LIMIT for b in delivered)
    digests = [
        b for b in delivered if b["msgtype"] == "markdown" and "messages:" in b["markdown"]["title"]
    ]
    assert digests == delivered  # a burst is folded from the first send
    text = "\n".join(b["markdown"]["text"] for b in digests)
    missing = [i for i in range(300) if f"marker-{i:04d}" not in text]
    assert missing == []
    unlinked_ids = [m for m in ids if f"({in_gong(relay, m)})" not in text]
    assert unlinked_ids == []
    for body in digests:
        lines = body["markdown"]["text"].split("\n")
        assert lines[1] == "Times in CST"
        items = [x for x in lines if re.match(r"\d+\. ", x)]
        assert all(" 16:00:00 " in x or x.endswith(" 16:00:00") for x in items)
        # Every item is followed by its excerpt, which starts where the heading stops.
        excerpts = [x.strip() for x in lines if x.startswith("   ") and not x.startswith("    ")]
        assert len(excerpts) == len(items)
        assert all(x.startswith("**instance**: host-") for x in excerpts)
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 0, "digested": 300, "failed": 0}


def big_markdown(target: int = 60_000) -> tuple[dict[str, Any], int]:
    lines = ["#### [FIRING:700] DiskFull alert", "", "**job**: node · **severity**: critical", ""]
    n = 0
    while len("\n".join(lines).encode()) < target:
        lines.append(f"- line-{n:04d} db-{n} disk 97% [graph](https://grafana.example.com/d/{n})")
        if n % 40 == 39:
            lines.append("")
        n += 1
    text = "\n".join(lines)
    title = "[FIRING:700] DiskFull alert"
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}, n


async def test_a_message_too_large_is_split_into_numbered_parts_in_order(linked: Relay) -> None:
    relay = linked
    await update_robot(relay.runtime, relay.robot.id, upstream_fit=UpstreamFit.SPLIT)
    message, n = big_markdown()
    assert body_size(message) > 60_000
    await relay.post(message)
    await relay.drive()
    parts = relay.fake.delivered
    total = len(parts)
    assert 3 <= total <= 5
    bodies = []
    for number, part in enumerate(parts, 1):
        assert body_size(part) < LIMIT
        assert part["markdown"]["title"] == f"({number}/{total}) [FIRING:700] DiskFull alert"
        mark, body = part["markdown"]["text"].split("\n", 1)
        assert mark == f"({number}/{total})"
        bodies.append(body)
    assert "\n\n".join(bodies) == message["markdown"]["text"]
    assert all(f"line-{i:04d} " in "".join(bodies) for i in range(n))
    uuids = [r.body["msgUuid"] for r in relay.fake.received]
    assert len(set(uuids)) == total
    assert uuids[-1].endswith(f"-{total}of{total}")
    [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
    assert delivery.state is DeliveryState.SENT
    assert delivery.send is not None
    assert (delivery.send.kind, delivery.send.msg_uuid) == ("split", uuids[-1])


async def test_a_part_whose_answer_was_lost_is_resent_once_under_its_own_uuid(
    linked: Relay,
) -> None:
    relay = linked
    await update_robot(relay.runtime, relay.robot.id, upstream_fit=UpstreamFit.SPLIT)
    message, _ = big_markdown()
    relay.fake.answer(OK, Answer(drop=True))  # part 2 arrives, its answer is lost
    await relay.post(message)
    await relay.drive()
    received = [r.body["msgUuid"] for r in relay.fake.received]
    assert received[1] == received[2]  # the same part again, the same msgUuid
    parts = relay.fake.delivered
    assert len(received) == len(parts) + 1
    assert [p["markdown"]["title"][:5] for p in parts] == [
        f"({i}/{len(parts)})"[:5] for i in range(1, len(parts) + 1)
    ]
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 1, "digested": 0, "failed": 0}


async def test_a_refused_part_fails_the_rest_of_its_message_and_the_queue_moves_on(
    linked: Relay,
) -> None:
    relay = linked
    await update_robot(relay.runtime, relay.robot.id, upstream_fit=UpstreamFit.SPLIT)
    message, _ = big_markdown()
    relay.fake.answer(OK, KEYWORD)
    await relay.post(message)
    await relay.post({"msgtype": "text", "text": {"content": "alert: next one"}})
    await relay.drive()
    assert len(relay.fake.received) == 3  # part 1, part 2 (refused), the next message
    assert relay.fake.delivered[-1]["text"]["content"] == "alert: next one"
    big, small = sorted(await relay.runtime.outbox.deliveries(relay.robot.id), key=lambda d: d.id)
    assert big.state is DeliveryState.FAILED
    assert big.send is not None
    assert big.send.errcode == 310000
    assert small.state is DeliveryState.SENT


async def test_a_message_too_large_is_summarised_with_a_link_to_it(linked: Relay) -> None:
    relay = linked
    message, _ = big_markdown()
    result = await relay.post(message)
    await relay.drive()
    [summary] = relay.fake.delivered
    assert body_size(summary) < LIMIT
    assert summary["markdown"]["title"] == "[FIRING:700] DiskFull alert"
    kept, footer = summary["markdown"]["text"].rsplit("\n\n…\n\n", 1)
    assert message["markdown"]["text"].startswith(kept)
    url = in_gong(relay, result.message_id)
    size = round(body_size(message) / 1000)
    assert footer == f"Full message ({size} KB) in Gong: [{url}]({url})"
    [delivery] = await relay.runtime.outbox.deliveries(relay.robot.id)
    assert delivery.state is DeliveryState.SENT
    assert delivery.send is not None
    assert delivery.send.kind == "summary"


async def test_without_a_public_url_the_summary_says_where_the_message_is(
    unlinked: Relay,
) -> None:
    relay = unlinked
    message, _ = big_markdown(30_000)
    result = await relay.post(message)
    await relay.drive()
    [summary] = relay.fake.delivered
    assert body_size(summary) < LIMIT
    size = round(body_size(message) / 1000)
    assert summary["markdown"]["text"].endswith(
        f"\n\nFull message ({size} KB) in Gong: group ops (id {relay.robot.group_id}), "
        f"message {result.message_id}"
    )


async def test_repeats_are_counted_in_one_digest_once_the_quiet_window_has_passed(
    linked: Relay,
) -> None:
    relay = linked
    await update_robot(relay.runtime, relay.robot.id, dedupe_window_s=300)
    alert = {"msgtype": "text", "text": {"content": "alert: disk full on db-1"}}
    first = await relay.post(alert)
    await relay.drive()
    assert [b["text"]["content"] for b in relay.fake.delivered] == ["alert: disk full on db-1"]
    for _ in range(5):
        relay.clock.advance(10_000)
        again = await relay.post(alert)
        assert again.message_id == first.message_id  # counted on the first, not posted
    # Repeats alone are never sent alone: they wait for the window from the oldest one.
    assert await relay.worker.step(relay.robot.id) == T0 + 10_000 + 300_000
    assert len(relay.fake.received) == 1
    await relay.drive()
    [_, digest] = relay.fake.delivered
    assert digest["markdown"]["title"] == "1 messages: alert: disk full on db-1"
    assert digest["markdown"]["text"].split("\n")[1:] == [
        "Times in CST",
        "",
        f"1. [alert: disk full on db-1]({in_gong(relay, first.message_id)})"
        " · repeated ×5, last 16:00:50",
    ]
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 1, "digested": 5, "failed": 0}


async def test_repeats_in_a_burst_are_a_count_on_their_message(linked: Relay) -> None:
    relay = linked
    await update_robot(relay.runtime, relay.robot.id, dedupe_window_s=300)
    repeated = {"msgtype": "text", "text": {"content": "alert: the same again"}}
    for i in range(30):
        await relay.post(storm_alert(i))
        await relay.post(repeated)
    await relay.drive()
    text = "\n".join(b["markdown"]["text"] for b in relay.fake.delivered)
    assert text.count("alert: the same again") == 1
    assert "alert: the same again](" in text
    assert "· repeated ×29" in text
    assert all(f"marker-{i:04d}" in text for i in range(30))
    counts = await relay.runtime.outbox.counts(relay.robot.id)
    assert counts == {"pending": 0, "sent": 0, "digested": 60, "failed": 0}


async def test_digest_times_are_on_the_group_clock(linked: Relay) -> None:
    relay = linked
    await relay.runtime.groups.update(relay.robot.group_id, timezone="America/New_York")
    await relay.post_alerts(30)
    await relay.drive()
    [digest] = relay.fake.delivered
    lines = digest["markdown"]["text"].split("\n")
    assert lines[1] == "Times in EST"
    assert lines[3] == (
        "1. [alert 0000](https://alerts.example.com/0) 03:00:00"
        f" [full message]({in_gong(relay, 1)})"
    )
    assert lines[4] == "   CPU high"
