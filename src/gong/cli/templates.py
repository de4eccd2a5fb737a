"""``gong template preview``: render a saved payload through a template, posting nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

from gong.cli.common import JsonOpt, emit, fail, out, settings
from gong.i18n import cli as _
from gong.integrations import Ignored, IntegrationConfig, TemplateSource, preview
from gong.protocol.errors import Dialect, RobotError

__all__ = ["template_app"]

template_app = typer.Typer(help=_("Template robots' templates."), no_args_is_help=True)


def _read(path: Path, as_json: bool) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(_.lazy("cannot read %(path)s: %(error)s", path=path, error=exc), as_json=as_json)
    raise AssertionError("unreachable")


@template_app.command(
    "preview",
    help=_(
        "Print the message a template robot would post for a payload (nothing is posted).\n\n"
        "Exits 1 with the reason when the template or its output is not valid; an event the "
        "template leaves out prints why."
    ),
)
def template_preview(
    template: Path = typer.Option(..., "--template", help=_("File with the Jinja2 template.")),
    payload: Path = typer.Option(..., "--payload", help=_("File with a JSON payload.")),
    header: list[str] = typer.Option(
        [], "--header", help=_("A request header the template reads, NAME:VALUE (repeat).")
    ),
    as_json: bool = JsonOpt,
) -> None:
    config = settings()
    source_text = _read(template, as_json).decode("utf-8", "replace")
    document = _read(payload, as_json)
    headers: dict[str, str] = {}
    for item in header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            fail(_.lazy("--header %(item)r: write NAME:VALUE", item=item), as_json=as_json)
        headers[name.strip()] = value.strip()
    source = TemplateSource(config.template_time_limit, config.template_max_output)
    try:
        message = preview(source, IntegrationConfig(template=source_text), document, headers)
    except Ignored as ignored:
        reason = ignored.reason
        emit(
            {"message": None, "ignored": reason},
            as_json=as_json,
            human=lambda: out.print(_("ignored: %(reason)s", reason=reason), markup=False),
        )
        return
    except RobotError as error:
        detail = error.params.get("detail") or error.errmsg(Dialect.MODERN)
        fail(detail, code=error.error.name, as_json=as_json)
        return
    wire = message.to_wire()
    size = len(orjson.dumps(wire))
    emit(
        {"message": wire, "ignored": None, "bytes": size},
        as_json=as_json,
        human=lambda: out.print(
            orjson.dumps(wire, option=orjson.OPT_INDENT_2).decode()
            + "\n"
            + _("(%(size)s bytes)", size=size),
            markup=False,
        ),
    )
