"""``gong serve``, ``gong init``, ``gong admin`` and ``gong sign``."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import typer
from rich.text import Text as Styled

from gong.cli.common import (
    JsonOpt,
    emit,
    err,
    fail,
    fail_all,
    label_width,
    open_admin,
    out,
    padded,
    settings,
)
from gong.clock import SystemClock
from gong.config import Settings
from gong.i18n import cli as _
from gong.logs import configure_logging
from gong.protocol.signing import sign as make_sign

if TYPE_CHECKING:
    from gong.bootstrap import Demo

__all__ = ["admin_app", "init_command", "serve_command", "sign_command"]

admin_app = typer.Typer(help=_("Admin API tokens."), no_args_is_help=True)


async def _prepare(
    config: Settings, demo: bool
) -> tuple[str | None, Demo | None, str | None, bool]:
    """The admin token and, with ``demo``, the demo robot and web admin (new ones only)."""
    from gong.bootstrap import ensure_demo, ensure_web_admin
    from gong.clock import SystemClock
    from gong.storage.accounts import Accounts

    async with open_admin(config) as admin:
        accounts = Accounts(admin.engine, SystemClock())
        token = await admin.tokens.first()
        made = await ensure_demo(admin.groups, admin.robots) if demo else None
        password = await ensure_web_admin(accounts, admin.groups, made) if demo else None
        has_accounts = await accounts.user_count() > 0
        return token, made, password, has_accounts


def _banner(
    config: Settings,
    token: str | None,
    demo: Demo | None,
    password: str | None = None,
    has_accounts: bool = True,
) -> None:
    from gong.bootstrap import WEB_ADMIN, curl_command

    base = config.base_url
    login = f"{base}/login"
    web, docs, admin, robot = _("Web app:"), _("API docs:"), _("Admin token:"), _("Demo robot:")
    width = label_width(web, docs, admin, robot)
    indent = " " * (2 + width)  # under the values

    def line(label: str, *value: str | tuple[str, str]) -> None:
        out.print(Styled.assemble("  ", padded(label, width), *value))

    out.print()
    out.print(
        Styled.assemble(
            *_parts(
                _("%(gong)s is starting at %(url)s"),
                gong=("Gong", "bold"),
                url=(base, f"link {base}"),
            )
        )
    )
    if password:
        line(web, _("%(url)s  — the admin login (shown once):", url=login))
        out.print(
            Styled.assemble(
                indent,
                *_parts(
                    _("username %(username)s  password %(password)s"),
                    username=(WEB_ADMIN, "bold"),
                    password=(password, "bold"),
                ),
            )
        )
    elif has_accounts:
        line(web, login)
    else:
        line(
            web,
            _(
                "%(url)s  (no accounts yet: gong user create NAME --admin --password-stdin)",
                url=login,
            ),
        )
    line(docs, f"{base}/api/docs")
    if token:
        line(admin, *_parts(_("%(token)s  (shown once; keep it)"), token=(token, "bold")))
    else:
        line(admin, _("shown at first start; `gong admin token` makes a new one"))
    if demo is not None:
        line(robot, config.webhook_url(demo.robot.access_token))
        out.print(
            indent + _("secret %(secret)s, keyword “烟火”", secret=demo.robot.secret), markup=False
        )
        out.print("  " + _("Try it (signed now, valid for an hour):"), markup=False)
        out.print("    " + curl_command(config, demo.robot, SystemClock()), markup=False)
    out.print()


def _parts(message: str, **styled: tuple[str, str]) -> list[str | tuple[str, str]]:
    """A translated message with its ``%(name)s`` placeholders as styled pieces, for
    :meth:`rich.text.Text.assemble` (the values never read as markup)."""
    pieces: list[str | tuple[str, str]] = []
    for index, chunk in enumerate(re.split(r"%\((\w+)\)s", message)):
        if index % 2:
            pieces.append(styled[chunk])
        elif chunk:
            pieces.append(chunk)
    return pieces


def serve_command(
    host: str | None = typer.Option(None, "--host", help=_("Address to bind (default 127.0.0.1).")),
    port: int | None = typer.Option(None, "--port", help=_("Port (default 8000).")),
    workers: int | None = typer.Option(None, "--workers", min=1, help=_("Worker processes.")),
    tls_port: int | None = typer.Option(
        None,
        "--tls-port",
        min=0,
        max=65535,
        help=_("Also serve HTTPS on this port, with the certificate of gong tls init."),
    ),
    demo: bool = typer.Option(False, "--demo", help=_("Create a demo group and robot if empty.")),
) -> None:
    import uvicorn

    given: dict[str, Any] = {
        name: value
        for name, value in (
            ("host", host),
            ("port", port),
            ("workers", workers),
            ("tls_port", tls_port),
        )
        if value is not None
    }
    config = settings(**given)
    # Everything that would stop the server, before the banner and the curl are printed.
    from gong.cli.preflight import older_data_dir, problems

    found = problems(config)
    if found:
        fail_all(found)
    notice = older_data_dir(config)
    if notice is not None:
        err.print(notice.translated(), soft_wrap=True, markup=False)
    if config.workers > 1 and not config.redis_url:
        fail(
            _.lazy(
                "--workers %(workers)s needs Redis: without it each worker would keep its own "
                "rate limits and live events. Set GONG_REDIS_URL, or run one worker.",
                workers=config.workers,
            )
        )
    configure_logging(config)
    token, made, password, has_accounts = asyncio.run(_prepare(config, demo or config.demo))
    _banner(config, token, made, password, has_accounts)
    # Worker processes read their settings from the environment, the command's options included.
    os.environ.update({f"GONG_{name.upper()}": str(value) for name, value in given.items()})
    if config.workers > 1:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir(config))
    options: dict[str, Any] = {
        # Never uvicorn's access log: it writes query strings (access_token, sign). Gong logs
        # requests itself, path only (GONG_ACCESS_LOG); see gong.logs.
        "access_log": False,
        # Gong serves no WebSockets; uvicorn's WebSocket protocols log each handshake's path
        # with its query string, and their headers at DEBUG.
        "ws": "none",
        "log_level": config.log_level.lower(),
        "timeout_graceful_shutdown": 15,
        "server_header": False,
        # Gong reads X-Forwarded-For itself, only from GONG_TRUSTED_PROXIES.
        "proxy_headers": False,
        # Logging is configured by Gong (text or JSON, with request ids), not by uvicorn.
        "log_config": None,
    }
    if config.tls_port:
        _serve_with_tls(config, options)
        return
    uvicorn.run(
        "gong.web.factory:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers if config.workers > 1 else None,
        lifespan="on",
        **options,
    )


def _serve_with_tls(config: Settings, options: dict[str, Any]) -> None:
    """HTTP on ``port`` and HTTPS on ``tls_port``, one app in one process (the HTTPS server
    starts once the app has started)."""
    import uvicorn

    from gong.tls import tls_files
    from gong.web.factory import app_from_env

    files = tls_files(config.data_dir)
    app = app_from_env()
    plain = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, lifespan="on", **options)
    )
    secure = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.tls_port,
            lifespan="off",
            ssl_certfile=str(files.cert),
            ssl_keyfile=str(files.key),
            **options,
        )
    )

    async def both() -> None:
        first = asyncio.ensure_future(plain.serve())
        while not plain.started and not first.done():  # noqa: ASYNC110 - uvicorn sets a flag
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(secure.serve())
        await asyncio.wait([first, second], return_when=asyncio.FIRST_COMPLETED)
        plain.should_exit = secure.should_exit = True
        await asyncio.gather(first, second, return_exceptions=True)

    try:
        import uvloop

        loop_factory: Any = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(both())


def _metrics_dir(config: Settings) -> Path:
    """A fresh directory where worker processes share their metrics (one per server start)."""
    directory = config.data_dir.resolve() / "metrics" / str(os.getpid())
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def init_command(
    demo: bool = typer.Option(False, "--demo", help=_("Also create the demo group and robot.")),
    as_json: bool = JsonOpt,
) -> None:
    from gong.bootstrap import WEB_ADMIN

    config = settings()
    token, made, password, _has_accounts = asyncio.run(_prepare(config, demo))
    data: dict[str, Any] = {
        "database": config.sqlalchemy_url.split("@")[-1],
        "admin_token": token,
    }
    if password:
        data["web_login"] = {
            "url": f"{config.base_url}/login",
            "username": WEB_ADMIN,
            "password": password,
        }
    if made is not None:
        data["demo"] = {
            "group_id": made.group_id,
            "robot_id": made.robot.id,
            "webhook": config.webhook_url(made.robot.access_token),
            "secret": made.robot.secret,
        }

    def human() -> None:
        out.print(_("database ready: %(database)s", database=data["database"]), markup=False)
        if token:
            out.print(_("admin token (shown once): %(token)s", token=token), markup=False)
        if password:
            out.print(
                _(
                    "web app login (shown once): %(username)s / %(password)s",
                    username=WEB_ADMIN,
                    password=password,
                ),
                markup=False,
            )

    emit(data, as_json=as_json, human=human)


@admin_app.command(
    "token", help=_("Make a new admin API token (printed once; only its hash is stored).")
)
def admin_token(
    revoke_others: bool = typer.Option(
        False, "--revoke-others", help=_("Invalidate every earlier admin token.")
    ),
    as_json: bool = JsonOpt,
) -> None:

    async def action() -> str:
        async with open_admin() as admin:
            if revoke_others:
                await admin.tokens.revoke_all()
            return await admin.tokens.create("cli")

    token = asyncio.run(action())
    emit({"admin_token": token}, as_json=as_json, human=lambda: out.print(token))


def sign_command(
    secret: str = typer.Option(..., "--secret", help=_("The robot's SEC… secret.")),
    timestamp: int | None = typer.Option(
        None, "--timestamp", help=_("Milliseconds; default: now.")
    ),
    as_json: bool = JsonOpt,
) -> None:
    ts = timestamp if timestamp is not None else SystemClock().now_ms()
    raw = make_sign(secret, ts)
    data = {
        "timestamp": ts,
        "sign": quote_plus(raw),
        "sign_base64": raw,
        "query": f"timestamp={ts}&sign={quote_plus(raw)}",
    }
    emit(data, as_json=as_json, human=lambda: out.print(data["query"], markup=False))
