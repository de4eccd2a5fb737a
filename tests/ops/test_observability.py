"""Metrics, request ids and structured logs."""

from __future__ import annotations

import json
import logging
import re

import httpx

from gong.config import Settings
from gong.logs import JsonFormatter, configure_logging, new_request_id, request_id
from gong.web.app import GongApp
from tests.web.conftest import MakeRobot

TEXT = {"msgtype": "text", "text": {"content": "CI"}}


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
        if got == want:
            return float(m.group(3))
    return 0.0


async def test_metrics_count_calls_refusals_kinds_and_commits(
    app: GongApp, client: httpx.AsyncClient, make_robot: MakeRobot, admin_headers: dict[str, str]
) -> None:
    robot = await make_robot(keywords=["CI"])
    url = f"/robot/send?access_token={robot.access_token}"
    for _ in range(3):
        assert (await client.post(url, json=TEXT)).json()["errcode"] == 0
    await client.post(url, json={"msgtype": "text", "text": {"content": "no"}})
    await client.post("/robot/send?access_token=nope", json=TEXT)
    await client.get("/api/groups", headers=admin_headers)
    text = (await client.get("/metrics")).text
    assert sample(text, "gong_robot_calls_total", errcode="0", reason="ok") == 3
    assert sample(text, "gong_robot_calls_total", errcode="310000", reason="keyword") == 1
    assert sample(text, "gong_robot_calls_total", errcode="300005", reason="token_unknown") == 1
    assert sample(text, "gong_messages_accepted_total", kind="custom") == 3
    assert sample(text, "gong_robots", kind="custom") == 1
    assert sample(text, "gong_request_duration_seconds_count", route="robot_send") == 5
    assert sample(text, "gong_request_duration_seconds_count", route="api") >= 1
    assert sample(text, "gong_writer_batch_size_count") >= 1
    assert sample(text, "gong_writer_batch_size_sum") >= 3
    assert sample(text, "gong_relay_deliveries", state="pending") == 0
    assert sample(text, "gong_live_connections") == 0


async def test_request_ids(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["CI"])
    url = f"/robot/send?access_token={robot.access_token}"
    fresh = await client.post(url, json=TEXT)
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["x-request-id"])
    echoed = await client.post(url, json=TEXT, headers={"X-Request-ID": "deploy-42.a"})
    assert echoed.headers["x-request-id"] == "deploy-42.a"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "a b<script>"})
    assert re.fullmatch(r"[0-9a-f]{16}", hostile.headers["x-request-id"])
    assert (await client.get("/healthz", headers={"X-Request-ID": "x" * 65})).headers[
        "x-request-id"
    ] != "x" * 65


def test_new_request_id_accepts_only_plain_short_ids() -> None:
    assert new_request_id(b"abc-123") == "abc-123"
    assert new_request_id(b"") != ""
    assert new_request_id(b"\xff") != "\xff"


def test_json_log_lines_carry_the_request_id(tmp_path: object) -> None:
    record = logging.makeLogRecord(
        {
            "name": "gong.test",
            "levelname": "WARNING",
            "levelno": 30,
            "msg": "hello %s",
            "args": ("世界",),
            "request_id": "r-1",
            "robot_id": 7,
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello 世界"
    assert line["level"] == "WARNING"
    assert line["logger"] == "gong.test"
    assert line["request_id"] == "r-1"
    assert line["robot_id"] == 7
    assert line["time"].endswith("Z")


def test_configure_logging_routes_everything_through_one_handler(capsys: object) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(Settings(log_format="json", log_level="INFO"))
        token = request_id.set("req-9")
        try:
            logging.getLogger("uvicorn.error").info("started")
        finally:
            request_id.reset(token)
        err = capsys.readouterr().err  # type: ignore[attr-defined]
        line = json.loads(err.strip().splitlines()[-1])
        assert line["request_id"] == "req-9"
        assert line["logger"] == "uvicorn.error"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
