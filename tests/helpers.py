"""Test helpers: required services, real server processes, signed URLs."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gong.domain.models import Robot
from gong.domain.specs import RobotPatch, RobotSpec
from gong.protocol.signing import signed_query

PG_ADMIN_URL = os.environ.get("GONG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GONG_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("GONG_TEST_CHROMIUM", "/usr/bin/chromium")
ADMIN_TOKEN = "test-admin-token-0123456789"
#: The headers of the admin API of every server the tests start.
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def services_required() -> bool:
    return os.environ.get("GONG_REQUIRE_SERVICES") == "1"


def need(service: str, available: bool, reason: str) -> None:
    """Skip when a service is missing, or fail when CI says every service must be there."""
    if available:
        return
    if services_required():
        pytest.fail(f"{service} is required (GONG_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{service} not available: {reason}")


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed_url(base: str, token: str, secret: str | None, now_ms: int) -> str:
    url = f"{base}/robot/send?access_token={token}"
    if secret:
        url += "&" + signed_query(secret, now_ms)
    return url


def run_sync(coroutine: Any) -> Any:
    """Run a coroutine to completion from synchronous test code, even where an event loop is
    already running in this thread (Playwright's sync API keeps one): then in a fresh thread."""
    import asyncio
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ServerProcess:
    """A real ``gong serve`` in a child process, on a free port of 127.0.0.1."""

    env: dict[str, str]
    data_dir: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {
            **os.environ,
            **self.env,
            "GONG_DATA_DIR": str(self.data_dir),
            "GONG_PORT": str(self.port),
            "GONG_HOST": "127.0.0.1",
            "GONG_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}-{uuid.uuid4().hex[:6]}.log"
        args = [sys.executable, "-m", "gong", "serve"]
        if self.workers > 1:
            args += ["--workers", str(self.workers)]
        args += self.args
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gong serve exited early:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gong serve did not come up in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def gong_cli(
    args: list[str], env: Mapping[str, str], input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``gong`` CLI as a user would, in a child process."""
    gong = shutil.which("gong", path=str(Path(sys.executable).parent)) or "gong"
    result = subprocess.run(
        [gong, *args],
        env={**os.environ, **env},
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"gong {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    public: bool = True,
    password: str | None = None,
) -> Iterator[ServerProcess]:
    """A started ``gong serve`` on ``data_dir``, stopped on leaving.

    ``public`` makes its own URL its public URL; ``password`` creates the admin user ``root``.
    """
    process = ServerProcess(env=dict(env or {}), data_dir=data_dir)
    if public:
        process.env["GONG_PUBLIC_URL"] = process.url
    process.start()
    try:
        if password is not None:
            gong_cli(
                ["user", "create", "root", "--admin", "--password-stdin"],
                {"GONG_DATA_DIR": str(process.data_dir)},
                input=password + "\n",
            )
        yield process
    finally:
        process.stop()


def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threaded HTTP server on a free 127.0.0.1 port, serving ``handler`` in the background
    (stop it with :func:`stop_server`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


def stop_server(server: ThreadingHTTPServer | None) -> None:
    """Stop a server made by :func:`serve_in_thread` (None is allowed)."""
    if server is not None:
        server.shutdown()
        server.server_close()


async def create_robot(
    runtime: Any, group_id: int, *, check_addresses: bool = True, **kw: Any
) -> Robot:
    """Create a robot through the administration service (``kw`` as :class:`RobotSpec` takes;
    ``settings=None`` is taken as no settings). ``check_addresses=False`` skips the check of
    where an upstream or outgoing URL points (as if private addresses were allowed when it was
    saved), so a test can store a target the call-time guard then refuses."""
    if kw.get("settings") is None:
        kw.pop("settings", None)
    robots = runtime.robots
    if not check_addresses:
        robots = dataclasses.replace(
            robots, check_upstream_address=_anywhere, check_outgoing_address=_anywhere
        )
    return await robots.create(RobotSpec(group_id, **kw))


async def _anywhere(url: str) -> None:
    """No address check."""


async def update_robot(runtime: Any, robot_id: int, **kw: Any) -> Robot:
    """Change a robot through the administration service (``kw`` as :class:`RobotPatch` takes)."""
    return await runtime.robots.update(robot_id, RobotPatch(**kw))
