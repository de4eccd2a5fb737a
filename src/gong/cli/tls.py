"""``gong tls init``: a local CA and a certificate for ``oapi.dingtalk.com``, for DingTalk
clients that hard-code the host (``docs/clients.md``)."""

from __future__ import annotations

import json

import typer

from gong.cli.common import settings
from gong.i18n import cli as _

__all__ = ["tls_app"]

tls_app = typer.Typer(
    help=_("A local CA and certificate, so clients that hard-code oapi.dingtalk.com reach Gong."),
    no_args_is_help=True,
)


@tls_app.command(
    "init",
    help=_(
        "Make (once) a local CA and (each time) a certificate for oapi.dingtalk.com, localhost "
        "and every --name, in the data directory; print their paths as JSON."
    ),
)
def tls_init(
    names: list[str] = typer.Option(
        [], "--name", help=_("Another host name or IP address the certificate names (repeat).")
    ),
) -> None:
    from gong.tls import init

    files = init(settings().data_dir, names)
    typer.echo(json.dumps({"ca": str(files.ca), "cert": str(files.cert), "key": str(files.key)}))
