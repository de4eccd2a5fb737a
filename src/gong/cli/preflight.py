"""What ``gong serve`` checks before it prints anything: each problem is one line naming the
setting to change, and the command exits non-zero before the banner and the curl.

- a setting that is not valid (``GONG_PORT=abc``): which variable, and why;
- a data directory that cannot be created or written (``GONG_DATA_DIR``);
- a port another program holds (``GONG_PORT`` / ``--port``, ``GONG_HOST`` / ``--host``);
- a database that cannot be reached (``GONG_DATABASE_URL``), with its address but never its
  password;
- a Redis that cannot be reached (``GONG_REDIS_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from gong.config import Settings
from gong.i18n import Text
from gong.i18n import cli as _

__all__ = [
    "CONNECT_TIMEOUT_S",
    "check_data_dir",
    "check_database",
    "check_port",
    "check_redis",
    "problems",
    "setting_errors",
]

#: How long the database and Redis each get to answer.
CONNECT_TIMEOUT_S = 5.0


def _variable(location: Sequence[int | str]) -> str:
    field = str(location[0]) if location else "?"
    return f"GONG_{field.upper()}"


def setting_errors(error: ValidationError) -> list[Text]:
    """One line per setting that is not valid: the variable, what is wrong, what it was."""
    lines = []
    for item in error.errors(include_url=False):
        variable = _variable(item.get("loc", ()))
        value = item.get("input")
        shown = repr(value)[:60] if isinstance(value, str | int | float) else ""
        secret = any(word in variable for word in ("SECRET", "TOKEN", "PASSWORD", "URL"))
        reason = str(item.get("msg", "invalid")).rstrip(".")
        if secret or not shown:
            lines.append(
                _.lazy("%(variable)s is not valid: %(reason)s", variable=variable, reason=reason)
            )
        else:
            lines.append(
                _.lazy(
                    "%(variable)s is not valid: %(reason)s (got %(value)s)",
                    variable=variable,
                    reason=reason,
                    value=shown,
                )
            )
    return lines


def check_data_dir(settings: Settings) -> Text | None:
    """The data directory exists, or can be made, and takes a file."""
    directory = settings.data_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".gong-check-"):
            pass
    except OSError as exc:
        return _.lazy(
            "the data directory %(path)s cannot be used (%(reason)s); set GONG_DATA_DIR to a "
            "directory Gong may write",
            path=str(directory),
            reason=exc.strerror or type(exc).__name__,
        )
    return None


def check_tls(settings: Settings) -> Text | None:
    """``--tls-port`` needs the certificate ``gong tls init`` makes, and serves one worker."""
    from gong.tls import tls_files

    if not tls_files(settings.data_dir).ready():
        return _.lazy(
            "GONG_TLS_PORT (--tls-port) needs a certificate: run gong tls init first (it "
            "writes one to %(path)s)",
            path=str(tls_files(settings.data_dir).cert.parent),
        )
    if settings.workers > 1:
        return _.lazy(
            "GONG_TLS_PORT (--tls-port) serves one worker; set GONG_WORKERS=1, or put a TLS "
            "reverse proxy in front of more"
        )
    if settings.tls_port == settings.port:
        return _.lazy("GONG_TLS_PORT must differ from GONG_PORT")
    return None


def check_port(host: str, port: int, setting: str = "GONG_PORT") -> Text | None:
    """Nothing else listens on ``host:port`` (bound and released at once, as the server will
    bind it)."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return _.lazy(
            "cannot listen on %(host)s: %(reason)s; set GONG_HOST (or --host) to an address "
            "of this machine",
            host=host,
            reason=exc.strerror or str(exc),
        )
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return _.lazy(
                    "port %(port)s on %(host)s is already in use by another program; set "
                    "%(setting)s (or %(option)s) to a free port, e.g. %(setting)s=%(other)s",
                    port=port,
                    host=host,
                    setting=setting,
                    option="--" + setting.removeprefix("GONG_").lower().replace("_", "-"),
                    other=port + 1 if port < 65535 else 8080,
                )
            return _.lazy(
                "cannot listen on %(host)s:%(port)s (%(reason)s); set GONG_HOST and GONG_PORT "
                "(or --host and --port)",
                host=host,
                port=port,
                reason=exc.strerror or str(exc),
            )
    return None


def _address(url: str) -> str:
    """``host:port/database`` of a URL, without user or password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


async def check_database(settings: Settings) -> Text | None:
    """PostgreSQL answers (SQLite needs only the data directory)."""
    if settings.is_sqlite:
        return None
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        settings.sqlalchemy_url,
        hide_parameters=True,
        connect_args={"timeout": CONNECT_TIMEOUT_S},
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S + 1), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect is reported the same way
        return _.lazy(
            "the database at %(address)s cannot be reached (%(reason)s); check GONG_DATABASE_URL",
            address=_address(settings.database_url or ""),
            reason=_reason(exc),
        )
    finally:
        await engine.dispose()
    return None


async def check_redis(settings: Settings) -> Text | None:
    """Redis answers a PING, when one is configured."""
    if not settings.redis_url:
        return None
    try:
        from redis.asyncio import Redis
    except ImportError:
        return _.lazy(
            "GONG_REDIS_URL is set but the Redis client is not installed; install "
            "gong[redis] or unset GONG_REDIS_URL"
        )
    client: Any = Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=CONNECT_TIMEOUT_S,
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S + 1):
            await client.ping()
    except Exception as exc:  # any failure to connect is reported the same way
        return _.lazy(
            "Redis at %(address)s cannot be reached (%(reason)s); check GONG_REDIS_URL",
            address=_address(settings.redis_url),
            reason=_reason(exc),
        )
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return text[:120]


def older_data_dir(settings: Settings, cwd: Path | None = None) -> Text | None:
    """A notice when ``./gong-data`` (where older versions kept the database) holds one and the
    server is about to use another."""
    older = (cwd or Path.cwd()) / "gong-data"
    if (older / "gong.db").is_file() and older.resolve() != settings.data_dir.resolve():
        return _.lazy(
            "%(older)s holds a database from an older Gong; this server uses %(current)s. Set "
            "GONG_DATA_DIR=%(older)s to keep using the older one.",
            older=str(older),
            current=str(settings.data_dir),
        )
    return None


def problems(settings: Settings, *, check_listen: bool = True) -> list[Text]:
    """Every problem that would stop ``gong serve``, in the order they would bite."""
    found = [check_data_dir(settings)]
    if check_listen:
        found.append(check_port(settings.host, settings.port))
    if settings.tls_port:
        found.append(check_tls(settings))
        if check_listen and settings.tls_port != settings.port:
            found.append(check_port(settings.host, settings.tls_port, "GONG_TLS_PORT"))

    async def remote() -> list[Text | None]:
        return list(await asyncio.gather(check_database(settings), check_redis(settings)))

    found.extend(asyncio.run(remote()))
    return [problem for problem in found if problem is not None]
