"""An alert storm end to end, on a real ``gong serve`` process: Alertmanager posts a 40-alert
group, then resolves it; the group's members read it in Gong and in the DingTalk group the robot
relays to (a fake DingTalk on a real port).

What is checked is what a user sees: one compact message with every alert and the counts, times
on the group's clock, the owner from the ``owner`` label @-mentioned here and upstream, then the
same message resolved in place and one short resolved line — and every upstream message under
DingTalk's 20 000 bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gong.protocol.limits import MAX_BODY_BYTES
from tests.fakes import FakeDingTalk
from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
OK = {"errcode": 0, "errmsg": "ok"}
STARTED = dt.datetime(2026, 12, 5, 6, 0, 0, tzinfo=dt.UTC)  # 14:00 in Shanghai


def _alert(n: int, status: str) -> dict[str, Any]:
    ended = STARTED + dt.timedelta(minutes=25)
    return {
        "status": status,
        "labels": {
            "alertname": "DiskFull",
            "severity": "critical",
            "instance": f"db-{n:02d}:9100",
            "owner": "13800000001",
        },
        "annotations": {
            "summary": "Disk almost full",
            "description": "Free space below 5% on *all* data volumes",
        },
        "startsAt": STARTED.isoformat().replace("+00:00", "Z"),
        "endsAt": ended.isoformat().replace("+00:00", "Z")
        if status == "resolved"
        else "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus.example.com/graph?g0.expr=disk{n}",
        "fingerprint": f"{n:016x}",
    }


def _notification(status: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status,
        "receiver": "gong",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "severity": "critical", "owner": "13800000001"},
        "commonAnnotations": alerts[0]["annotations"],
        "externalURL": "http://alertmanager.example.com",
        "alerts": alerts,
    }


def _messages(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    page = client.get(f"{url}/api/groups/1/messages?limit=50", headers=ADMIN).json()
    return list(reversed(page["messages"]))


def _wait(predicate: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_an_alert_storm_reads_well_here_and_upstream(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upstream = FakeDingTalk().start()
    env = {
        "GONG_DATA_DIR": str(data),
        "GONG_OUTGOING_ALLOW_PRIVATE": "1",
        "GONG_PUBLIC_URL": "https://gong.example.com",
    }
    gong_cli(["group", "create", "ops", "--json"], env)
    gong_cli(["group", "update", "1", "--timezone", "Asia/Shanghai", "--json"], env)
    gong_cli(["member", "add", "1", "--name", "张三", "--mobile", "13800000001", "--json"], env)
    robot = json.loads(
        gong_cli(
            [
                "robot",
                "create",
                "1",
                "--name",
                "alertmanager",
                "--kind",
                "alertmanager",
                "--mention-label",
                "owner",
                "--upstream",
                upstream.url,
                "--json",
            ],
            env,
        ).stdout
    )
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        hook = f"{server.url}/robot/send?access_token={robot['access_token']}"
        with httpx.Client(timeout=15) as client:
            firing = _notification("firing", [_alert(n, "firing") for n in range(40)])
            assert client.post(hook, json=firing).json() == OK
            (shown,) = _messages(client, server.url)
            text = shown["content"]["actionCard"]["text"]
            # Every alert, once each; what they share, once.
            assert all(f"db-{n:02d}:9100" in text for n in range(40))
            assert text.count("Disk almost full") == 1
            assert "\\*all\\*" in text  # the annotation's * is text, not italics
            assert "14:00:00 CST" in text and "06:00:00" not in text  # the group's clock
            assert len(json.dumps(shown["content"], ensure_ascii=False).encode()) < 15_000
            assert shown["alert"] == {
                "state": "firing",
                "resolved_at": None,
                "firing": 40,
                "resolved": 0,
                "fired_at": int(STARTED.timestamp() * 1000),
            }
            assert [m["value"] for m in shown["mentions"]] == ["13800000001"]

            resolved = _notification("resolved", [_alert(n, "resolved") for n in range(40)])
            assert client.post(hook, json=resolved).json() == OK
            original, line = _messages(client, server.url)
            assert original["id"] == shown["id"]
            assert original["alert"]["state"] == "resolved"
            assert original["alert"]["resolved"] == 40
            assert line["msgtype"] == "markdown"
            line_text = line["content"]["markdown"]["text"]
            assert "after 25 min" in line_text and "14:25:00 CST" in line_text
            assert f"https://gong.example.com/groups/1?at={shown['id']}" in line_text
            assert len(line_text) < 1_000

        # Upstream: the group (under DingTalk's limit, with the owner @-mentioned), then the line.
        _wait(lambda: len(upstream.delivered) >= 2)
        first, second = upstream.delivered[:2]
        for body in upstream.delivered:
            size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
            assert size < MAX_BODY_BYTES
        assert first["at"]["atMobiles"] == ["13800000001"]
        assert "db-39:9100" in json.dumps(first, ensure_ascii=False)
        assert second["msgtype"] == "markdown" and "Resolved" in second["markdown"]["text"]
    finally:
        server.stop()
        upstream.stop()
