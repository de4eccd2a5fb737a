"""The ``gong`` command line: server, groups, members, robots, messages (search, recall,
export, retention), signatures, accounts, sending.

Every management command works directly on the configured database (``GONG_DATABASE_URL`` or
SQLite in ``GONG_DATA_DIR``) and takes ``--json`` for machine-readable output. ``gong send``
needs no database and nothing of the server: installed without the ``server`` extra, the
command line offers only it.
"""

from __future__ import annotations

import typer

from gong.cli.send import send_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="gong",
    help="Gong: self-hosted group robots, wire-compatible with DingTalk's custom robot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _add_server_commands() -> None:
    from gong.cli.archive import message_app, messages_app, prune_command
    from gong.cli.config import config_app
    from gong.cli.groups import group_app, member_app
    from gong.cli.history import refusals_command
    from gong.cli.post import outgoing_command, post_command
    from gong.cli.relay import deliveries_command
    from gong.cli.robots import robot_app
    from gong.cli.search import search_command
    from gong.cli.serve import admin_app, init_command, serve_command, sign_command
    from gong.cli.templates import template_app
    from gong.cli.users import user_app

    app.command("serve")(serve_command)
    app.command("init")(init_command)
    app.command("sign")(sign_command)
    app.command("search")(search_command)
    app.command("prune")(prune_command)
    app.command("refusals")(refusals_command)
    app.command("deliveries")(deliveries_command)
    app.command("post")(post_command)
    app.command("outgoing")(outgoing_command)
    app.add_typer(messages_app, name="messages")
    app.add_typer(message_app, name="message")
    app.add_typer(group_app, name="group")
    app.add_typer(member_app, name="member")
    app.add_typer(robot_app, name="robot")
    app.add_typer(admin_app, name="admin")
    app.add_typer(config_app, name="config")
    app.add_typer(template_app, name="template")
    app.add_typer(user_app, name="user")


try:
    _add_server_commands()
except ModuleNotFoundError as missing:  # installed without the server extra
    if missing.name is None or missing.name.startswith("gong"):
        raise
app.add_typer(send_app, name="send")


def main() -> None:
    app()
