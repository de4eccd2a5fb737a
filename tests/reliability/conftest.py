from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _pg_reset
from tests.helpers import free_port, need, port_open, run_sync


@pytest.fixture
def shared_env(pg_database: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    """Settings for several Gong instances sharing one PostgreSQL database and one Redis."""
    run_sync(_pg_reset(pg_database))
    return {
        "GONG_DATABASE_URL": pg_database,
        "GONG_REDIS_URL": redis_url,
        "GONG_REDIS_PREFIX": redis_prefix,
    }


@dataclass
class RedisProcess:
    """A private redis-server on a free port, which a test may stop and start again."""

    port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    need("redis-server", shutil.which("redis-server") is not None, "redis-server is not installed")
    redis = RedisProcess(free_port(), tmp_path)
    redis.start()
    yield redis
    redis.stop()
