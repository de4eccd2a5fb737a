"""The relay end to end, in real time, through real Gong processes.

The upstream is a Gong robot with DingTalk's default limits (20 per 60 s, then a 10-minute
block): if the relay ever sent it one message too many, it would refuse it, and its refusal
count would show it. It runs in a second Gong (a server never relays to itself), on 127.0.0.1:
the relaying one allows private addresses.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from gong.protocol.messages import encode
from tests.helpers import ADMIN_TOKEN, ServerProcess, free_port

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: The relaying server may send to the upstream Gong on 127.0.0.1.
ALLOW_PRIVATE = {"GONG_OUTGOING_ALLOW_PRIVATE": "1"}
ALERT = re.compile(r"alert (\d{4})")
DIGEST_LINE = re.compile(r"\d+\. ")


def api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, server.url + path, headers=ADMIN, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


def make_upstream(server: ServerProcess) -> dict[str, Any]:
    """A robot like a DingTalk one: signing, a keyword, 20 a minute then a 10-minute block."""
    group = api(server, "POST", "/api/groups", json={"name": "dingtalk"})
    robot: dict[str, Any] = api(
        server,
        "POST",
        f"/api/groups/{group['id']}/robots",
        json={"name": "dingtalk", "keywords": ["alert"], "signing": True},
    )
    assert robot["rate_limit"] == {"limit": 20, "window_s": 60, "block_s": 600}
    return robot


def make_relayed(server: ServerProcess, upstream: dict[str, Any]) -> dict[str, Any]:
    group = api(server, "POST", "/api/groups", json={"name": "ops"})
    robot: dict[str, Any] = api(
        server,
        "POST",
        f"/api/groups/{group['id']}/robots",
        json={
            "name": "alertmanager",
            "keywords": ["alert"],
            "rate_limit": {"limit": 0},
            "upstream": {"url": upstream["webhook"], "secret": upstream["secret"]},
        },
    )
    return robot


def alert(i: int) -> dict[str, Any]:
    return {
        "msgtype": "link",
        "link": {
            "title": f"alert {i:04d}",
            "text": "CPU above 90% for 5 minutes",
            "messageUrl": f"https://alerts.example.com/{i}",
        },
        "msgUuid": f"alert-{i}",
    }


async def post_all(
    webhook: str,
    numbers: list[int],
    *,
    concurrency: int = 24,
    on_ack: Any = None,
    tries: int = 3,
) -> set[int]:
    """POST the alerts as a careful sender would (a failed call is tried again, with the same
    msgUuid); returns the numbers acknowledged with errcode 0."""
    acked: set[int] = set()
    queue = list(reversed(numbers))

    async def sender(client: httpx.AsyncClient) -> None:
        while queue:
            i = queue.pop()
            for _ in range(tries):
                try:
                    response = await client.post(webhook, json=alert(i))
                except httpx.HTTPError:
                    continue
                assert response.content == b'{"errcode":0,"errmsg":"ok"}', response.content
                acked.add(i)
                if on_ack is not None:
                    on_ack(len(acked))
                break

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return acked


def upstream_messages(server: ServerProcess, robot: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if before is not None:
            params["before"] = before
        page = api(server, "GET", f"/api/groups/{robot['group_id']}/messages", params=params)
        found += [m for m in page["messages"] if m["robot_id"] == robot["id"]]
        before = page["next_before"]
        if before is None:
            return found


def alerts_in(messages: list[dict[str, Any]]) -> Counter[int]:
    """How often each alert appears: a link as itself, a digest by its numbered lines."""
    seen: Counter[int] = Counter()
    for m in messages:
        content = m["content"]
        if m["msgtype"] == "link":
            lines = [content["link"]["title"]]
        else:
            lines = [x for x in content["markdown"]["text"].split("\n") if DIGEST_LINE.match(x)]
        for line in lines:
            seen.update(int(n) for n in ALERT.findall(line))
    return seen


def wait_for_all(
    server: ServerProcess, robot: dict[str, Any], count: int, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        messages = upstream_messages(server, robot)
        if len(alerts_in(messages)) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.5)


def most_in_any_window(times: list[int], window: int = 60_000) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


def check_upstream(server: ServerProcess, robot: dict[str, Any], n: int) -> list[dict[str, Any]]:
    messages = wait_for_all(server, robot, n, timeout=90)
    seen = alerts_in(messages)
    assert sorted(seen) == list(range(n)), f"missing: {sorted(set(range(n)) - set(seen))[:20]}"
    assert [i for i, k in seen.items() if k > 1] == []  # none delivered twice
    assert api(server, "GET", f"/api/robots/{robot['id']}/refusals") == []
    assert most_in_any_window([m["created_at"] for m in messages]) <= 19
    for m in messages:
        assert len(encode(m["payload"])) < 20_000
    return messages


def restart(server: ServerProcess) -> None:
    """Start again, on another port if another program took ours meanwhile."""
    try:
        server.start()
    except RuntimeError as exc:
        if "address already in use" not in str(exc):
            raise
        server.port = free_port()
        server.start()


def test_a_burst_of_1000_arrives_whole_without_a_refusal(tmp_path: Path) -> None:
    dingtalk = ServerProcess(env={}, data_dir=tmp_path / "dingtalk")
    relay = ServerProcess(env=ALLOW_PRIVATE, data_dir=tmp_path / "relay")
    dingtalk.start()
    relay.start()
    try:
        upstream = make_upstream(dingtalk)
        relayed = make_relayed(relay, upstream)
        started = time.monotonic()
        acked = asyncio.run(post_all(relayed["webhook"], list(range(1000))))
        assert len(acked) == 1000
        assert time.monotonic() - started < 60
        messages = check_upstream(dingtalk, upstream, 1000)
        assert api(dingtalk, "GET", f"/api/robots/{upstream['id']}")["stats"]["refused"] == 0
        page = api(relay, "GET", f"/api/robots/{relayed['id']}/deliveries", params={"limit": 1})
        assert page["counts"]["pending"] == page["counts"]["failed"] == 0
        assert page["counts"]["sent"] + page["counts"]["digested"] == 1000
        assert len(messages) <= 19  # all within the first window
    finally:
        relay.stop()
        dingtalk.stop()


def test_killed_mid_burst_and_restarted_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    dingtalk = ServerProcess(env={}, data_dir=tmp_path / "dingtalk")
    relay = ServerProcess(env=ALLOW_PRIVATE, data_dir=tmp_path / "relay")
    dingtalk.start()
    relay.start()
    try:
        upstream = make_upstream(dingtalk)
        relayed = make_relayed(relay, upstream)
        n = 600

        def kill_at_half(acked: int) -> None:
            if acked == n // 2:
                relay.kill()

        acked = asyncio.run(
            post_all(relayed["webhook"], list(range(n)), on_ack=kill_at_half, tries=1)
        )
        assert relay.proc is None  # killed mid-burst
        assert n // 2 <= len(acked) < n
        restart(relay)
        # Senders retry what was not acknowledged, with the same msgUuid.
        unacked = sorted(set(range(n)) - acked)
        webhook = f"{relay.url}/robot/send?access_token={relayed['access_token']}"
        assert asyncio.run(post_all(webhook, unacked)) == set(unacked)
        check_upstream(dingtalk, upstream, n)
        page = api(relay, "GET", f"/api/robots/{relayed['id']}/deliveries", params={"limit": 1})
        assert page["counts"]["pending"] == page["counts"]["failed"] == 0
        assert page["counts"]["sent"] + page["counts"]["digested"] == n
    finally:
        relay.stop()
        dingtalk.stop()
