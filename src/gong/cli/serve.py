"""``gong serve``, ``gong init``, ``gong admin`` and ``gong sign``."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import typer

from gong.cli.common import JsonOpt, emit, fail, open_admin, out, settings
from gong.clock import SystemClock
from gong.config import Settings
from gong.logs import configure_logging
from gong.protocol.signing import sign as make_sign

if TYPE_CHECKING:
    from gong.bootstrap import Demo

__all__ = ["admin_app", "init_command", "serve_command", "sign_command"]

admin_app = typer.Typer(help="Admin API tokens.", no_args_is_help=True)


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
    out.print()
    out.print(f"[bold]Gong[/bold] is starting at [link={base}]{base}[/link]", markup=True)
    if password:
        out.print(f"  Web app:      {base}/login  — the admin login (shown once):")
        out.print(
            f"                username [bold]{WEB_ADMIN}[/bold]  password [bold]{password}[/bold]",
            markup=True,
        )
    elif has_accounts:
        out.print(f"  Web app:      {base}/login")
    else:
        out.print(
            f"  Web app:      {base}/login  (no accounts yet: "
            "gong user create NAME --admin --password-stdin)"
        )
    out.print(f"  API docs:     {base}/api/docs")
    if token:
        out.print(f"  Admin token:  [bold]{token}[/bold]  (shown once; keep it)", markup=True)
    else:
        out.print("  Admin token:  shown at first start; `gong admin token` makes a new one")
    if demo is not None:
        out.print(f"  Demo robot:   {config.webhook_url(demo.robot.access_token)}")
        out.print(f"                secret {demo.robot.secret}, keyword “烟火”")
        out.print("  Try it (signed now, valid for an hour):")
        out.print("    " + curl_command(config, demo.robot, SystemClock()), markup=False)
    out.print()


def serve_command(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes."),
    demo: bool = typer.Option(False, "--demo", help="Create a demo group and robot if empty."),
) -> None:
    """Run the Gong server."""
    import uvicorn

    given: dict[str, Any] = {
        name: value
        for name, value in (("host", host), ("port", port), ("workers", workers))
        if value is not None
    }
    config = Settings(**given)
    if config.workers > 1 and not config.redis_url:
        fail(
            f"--workers {config.workers} needs Redis: without it each worker would keep its own "
            "rate limits and live events. Set GONG_REDIS_URL, or run one worker."
        )
    configure_logging(config)
    token, made, password, has_accounts = asyncio.run(_prepare(config, demo or config.demo))
    _banner(config, token, made, password, has_accounts)
    # Worker processes read their settings from the environment, the command's options included.
    os.environ.update({f"GONG_{name.upper()}": str(value) for name, value in given.items()})
    if config.workers > 1:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir(config))
    uvicorn.run(
        "gong.web.factory:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers if config.workers > 1 else None,
        lifespan="on",
        # Never uvicorn's access log: it writes query strings (access_token, sign). Gong logs
        # requests itself, path only (GONG_ACCESS_LOG); see gong.logs.
        access_log=False,
        # Gong serves no WebSockets; uvicorn's WebSocket protocols log each handshake's path
        # with its query string, and their headers at DEBUG.
        ws="none",
        log_level=config.log_level.lower(),
        timeout_graceful_shutdown=15,
        server_header=False,
        # Gong reads X-Forwarded-For itself, only from GONG_TRUSTED_PROXIES.
        proxy_headers=False,
        # Logging is configured by Gong (text or JSON, with request ids), not by uvicorn.
        log_config=None,
    )


def _metrics_dir(config: Settings) -> Path:
    """A fresh directory where worker processes share their metrics (one per server start)."""
    directory = config.data_dir.resolve() / "metrics" / str(os.getpid())
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def init_command(
    demo: bool = typer.Option(False, "--demo", help="Also create the demo group and robot."),
    as_json: bool = JsonOpt,
) -> None:
    """Create or migrate the database and make the first admin token (printed once)."""
    from gong.bootstrap import WEB_ADMIN

    config = settings()
    token, made, password, _ = asyncio.run(_prepare(config, demo))
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
        out.print(f"database ready: {data['database']}")
        if token:
            out.print(f"admin token (shown once): {token}")
        if password:
            out.print(f"web app login (shown once): {WEB_ADMIN} / {password}")

    emit(data, as_json=as_json, human=human)


@admin_app.command("token")
def admin_token(
    revoke_others: bool = typer.Option(
        False, "--revoke-others", help="Invalidate every earlier admin token."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Make a new admin API token (printed once; only its hash is stored)."""

    async def action() -> str:
        async with open_admin() as admin:
            if revoke_others:
                await admin.tokens.revoke_all()
            return await admin.tokens.create("cli")

    token = asyncio.run(action())
    emit({"admin_token": token}, as_json=as_json, human=lambda: out.print(token))


def sign_command(
    secret: str = typer.Option(..., "--secret", help="The robot's SEC… secret."),
    timestamp: int | None = typer.Option(None, "--timestamp", help="Milliseconds; default: now."),
    as_json: bool = JsonOpt,
) -> None:
    """Compute DingTalk's signature: the timestamp and the URL-encoded sign for a webhook URL."""
    ts = timestamp if timestamp is not None else SystemClock().now_ms()
    raw = make_sign(secret, ts)
    data = {
        "timestamp": ts,
        "sign": quote_plus(raw),
        "sign_base64": raw,
        "query": f"timestamp={ts}&sign={quote_plus(raw)}",
    }
    emit(data, as_json=as_json, human=lambda: out.print(data["query"], markup=False))
