"""The ``gong`` command line: server, groups, members, robots, messages (search, recall,
export, retention), signatures, accounts, sending.

Every management command works directly on the configured database (``GONG_DATABASE_URL`` or
SQLite in ``GONG_DATA_DIR``) and takes ``--json`` for machine-readable output. ``gong send``
needs no database and nothing of the server: installed without the ``server`` extra, the
command line offers only it.

``gong`` speaks Chinese or English (:func:`language`): its results, errors and help. The help
texts are made when the command modules are imported, so they are imported in that language;
each run speaks it too. ``--json`` output is the same in every language.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from gong import i18n
from gong.i18n import cli as _

__all__ = ["app", "language", "main"]


def language() -> str:
    """The language ``gong`` speaks: the environment's (``LANGUAGE``, ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``) when Gong speaks it, else ``GONG_DEFAULT_LANGUAGE`` (from the
    environment, then the ``gong.env`` files), else Chinese."""
    found = i18n.environment_language() or i18n.language_of(os.environ.get("GONG_DEFAULT_LANGUAGE"))
    return found or _configured_language()


def _configured_language() -> str:
    """``GONG_DEFAULT_LANGUAGE`` as the settings files set it; Chinese without the server
    packages, or when the settings are not valid (the command itself then says why)."""
    try:
        from gong.config import Settings

        return Settings.load().default_language
    except Exception:  # the language is never a reason for a command to fail
        return i18n.DEFAULT_LANGUAGE


class _Speaking(TyperGroup):
    """The root command: each run (its help and errors included) speaks :func:`language`."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with i18n.use(language()):
            return super().main(*args, **kwargs)


def _add_server_commands(app: typer.Typer) -> None:
    from gong.cli.apply import apply_command, export_command
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
    from gong.cli.tls import tls_app
    from gong.cli.users import user_app

    app.command("serve", help=_("Run the Gong server."))(serve_command)
    app.command(
        "init",
        help=_("Create or migrate the database and make the first admin token (printed once)."),
    )(init_command)
    app.command(
        "sign",
        help=_(
            "Compute DingTalk's signature: the timestamp and the URL-encoded sign for a "
            "webhook URL."
        ),
    )(sign_command)
    app.command(
        "search",
        help=_(
            "Search every group's messages, newest first, as the admin API token does.\n\n"
            "--json prints what GET /api/search answers."
        ),
    )(search_command)
    app.command(
        "prune",
        help=_(
            "Enforce every group's retention now (servers also do it on their own).\n\n"
            "Deletes the messages older than a group's retention_days and beyond its newest "
            "retention_count, with their mentions, search text and relay records, %(batch)s at "
            "a time. Nothing else is cleaned: refusals, relay history and the rest of the "
            "servers' housekeeping stay as they are.",
            batch=format(_prune_batch(), ","),
        ),
    )(prune_command)
    app.command(
        "refusals", help=_("A robot's recent refused calls, newest first, with the reason.")
    )(refusals_command)
    app.command(
        "deliveries",
        help=_(
            "A relayed robot's delivery records, newest first: pending, sent, digested, or failed."
        ),
    )(deliveries_command)
    app.command(
        "post",
        help=_(
            "Post as a person; waits for the callbacks of the outgoing robots it @-mentions.\n\n"
            "The message is stored on the database directly; a running server shows it live "
            "(with Redis through the shared broker, without Redis through its change feed)."
        ),
    )(post_command)
    app.command(
        "outgoing",
        help=_(
            "A robot's outgoing callbacks, newest first: answered, no answer, or failed and why."
        ),
    )(outgoing_command)
    app.command(
        "apply",
        help=_(
            "Create and update groups, members, robots and accounts from a YAML file (config "
            "as code).\n\n"
            "Field names are the management API's; secrets are written as ${VARIABLE} and read "
            "from the environment. A second run changes nothing. --dry-run prints the changes "
            "only; --prune also deletes what the file does not name, after asking. The "
            "webhooks and secrets of the robots it creates are printed once."
        ),
    )(apply_command)
    app.command(
        "export",
        help=_(
            "Write the groups, members, robots and accounts as a file for gong apply (printed "
            "without FILE), secrets as ${VARIABLE} references."
        ),
    )(export_command)
    app.add_typer(messages_app, name="messages")
    app.add_typer(message_app, name="message")
    app.add_typer(group_app, name="group")
    app.add_typer(member_app, name="member")
    app.add_typer(robot_app, name="robot")
    app.add_typer(admin_app, name="admin")
    app.add_typer(config_app, name="config")
    app.add_typer(template_app, name="template")
    app.add_typer(user_app, name="user")
    app.add_typer(tls_app, name="tls")


def _prune_batch() -> int:
    from gong.domain.history import PRUNE_BATCH

    return PRUNE_BATCH


def _build() -> typer.Typer:
    """The command tree, its help texts in the language in effect."""
    from gong.cli.send import send_app

    app = typer.Typer(
        name="gong",
        cls=_Speaking,
        help=_("Gong: self-hosted group robots, wire-compatible with DingTalk's custom robot."),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    try:
        _add_server_commands(app)
    except ModuleNotFoundError as missing:  # installed without the server extra
        if missing.name is None or missing.name.startswith("gong"):
            raise
    app.add_typer(send_app, name="send")
    return app


with i18n.use(language()):
    app = _build()


def main() -> None:
    app()
