"""The logging layers, in process: the one handler redacts, uvicorn's access logger stays silent,
chatty libraries log warnings only, and Gong's access log covers the robot API, path only."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn

from gong.clock import ManualClock
from gong.config import Settings
from gong.logs import QUIET_LOGGERS, configure_logging, request_id
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.helpers import create_robot
from tests.web.conftest import MakeRobot

TOKEN = "0123456789abcdef" * 4
SECRET = "SEC" + "cd" * 32
TEXT = {"msgtype": "text", "text": {"content": "CI"}}


@pytest.fixture
def logging_state() -> Iterator[None]:
    """Put back what configure_logging changes in this process."""
    root = logging.getLogger()
    names = ["uvicorn", "uvicorn.error", "uvicorn.access", *QUIET_LOGGERS]
    saved = {name: vars(logging.getLogger(name)).copy() for name in names}
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, state in saved.items():
            logger = logging.getLogger(name)
            logger.__dict__.clear()
            logger.__dict__.update(state)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_handler_redacts_messages_exceptions_and_fields(
    logging_state: None, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    configure_logging(Settings(log_format=log_format, log_level="DEBUG"))
    log = logging.getLogger("gong.test")
    log.info("POST /robot/send?access_token=%s&sign=abc%%2Bdef%%3D", TOKEN)
    try:
        raise ValueError(f"upstream https://up.example/robot/send?access_token={TOKEN} failed")
    except ValueError:
        log.exception(
            "relay failed", extra={"secret": SECRET, "headers": {"token": "out-12345678"}}
        )
    err = capsys.readouterr().err
    for value in (TOKEN, SECRET, "abc%2Bdef", "out-12345678"):
        assert value not in err
    assert "access_token=…cdef" in err
    if log_format == "json":
        lines = [json.loads(line) for line in err.strip().splitlines()]
        assert lines[-1]["secret"] == "[redacted]"
        assert "ValueError" in lines[-1]["exception"]


def test_uvicorn_access_logger_never_writes(
    logging_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn sets up its loggers first (here even with its access log on), then Gong: in
    # `gong serve` and in each worker of --workers N (gong.web.factory.app_from_env).
    uvicorn.Config("gong.web.factory:app_from_env", log_config=None, access_log=True)
    configure_logging(Settings(log_level="DEBUG"))
    access = logging.getLogger("uvicorn.access")
    assert not access.hasHandlers()  # what uvicorn's protocols ask before logging
    access.info('127.0.0.1:1 - "POST /robot/send?access_token=%s HTTP/1.1" 200', TOKEN)
    assert capsys.readouterr().err == ""


def test_chatty_libraries_log_warnings_only(logging_state: None) -> None:
    configure_logging(Settings(log_level="DEBUG"))
    for name in ("httpx", "httpcore", "sqlalchemy.engine.Engine", "aiosqlite", "websockets"):
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO), name
        assert logger.isEnabledFor(logging.WARNING), name
    assert logging.getLogger("gong.relay.worker").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("uvicorn.error").isEnabledFor(logging.DEBUG)


@pytest.fixture
async def logged_app(sqlite_settings: Settings, clock: ManualClock) -> AsyncIterator[GongApp]:
    gong = create_app(sqlite_settings.model_copy(update={"access_log": True}), clock=clock)
    await gong.startup()
    try:
        yield gong
    finally:
        await gong.shutdown()


class _Lines(logging.Handler):
    """Keeps each record's message, path and the request id it was logged under."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), vars(record)["path"], request_id.get()))


async def test_the_access_log_covers_the_robot_api_path_only(logged_app: GongApp) -> None:
    runtime = logged_app.runtime
    group = await runtime.groups.create("ops")
    robot = await create_robot(runtime, group.id, name="ci", keywords=["CI"])
    lines = _Lines()
    access = logging.getLogger("gong.access")
    access.addHandler(lines)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        async with make_client(logged_app) as client:
            sent = await client.post(f"/robot/send?access_token={robot.access_token}", json=TEXT)
            session = await client.post("/robot/sendBySession?session=" + "ab" * 16, json=TEXT)
            api = await client.get("/api/groups?secret=x", headers={"Authorization": "Bearer no"})
    finally:
        access.removeHandler(lines)
        access.setLevel(level)
    assert sent.json() == {"errcode": 0, "errmsg": "ok"}
    assert session.json()["errcode"] != 0
    assert [(m.rsplit(" ", 2)[0], path) for m, path, _ in lines.lines] == [
        ("POST /robot/send 200", "/robot/send"),
        ("POST /robot/sendBySession 200", "/robot/sendBySession"),
        ("GET /api/groups 401", "/api/groups"),
    ]
    assert lines.lines[0][2] == sent.headers["x-request-id"]
    assert lines.lines[2][2] == api.headers["x-request-id"]


async def test_no_access_log_by_default(
    client: httpx.AsyncClient, make_robot: MakeRobot, caplog: pytest.LogCaptureFixture
) -> None:
    robot = await make_robot(keywords=["CI"])
    caplog.set_level(logging.DEBUG)
    await client.post(f"/robot/send?access_token={robot.access_token}", json=TEXT)
    await client.get("/api/groups")
    assert not [r for r in caplog.records if r.name == "gong.access"]
    server_side = [r.getMessage() for r in caplog.records if r.name.startswith("gong")]
    assert not [m for m in server_side if robot.access_token in m]
