"""``gong send …``: post one message to any robot webhook (Gong's or DingTalk's) with the SDK.

Needs no database and nothing of the server. Prints the robot API's answer as received and exits
with status 0 only when ``errcode`` is 0 (1: refused, 2: no answer).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import typer
from pydantic import ValidationError

from gong.i18n import cli as _
from gong.protocol.messages import (
    ActionCardMessage,
    At,
    FeedCard,
    FeedCardLink,
    FeedCardMessage,
    Link,
    LinkMessage,
    Markdown,
    MarkdownMessage,
    Message,
    Text,
    TextMessage,
)
from gong.sdk.client import Robot, SendResult
from gong.sdk.errors import APIError, RobotSendError

__all__ = ["send_app"]

send_app = typer.Typer(
    help=_("Send a message to a robot webhook (Gong or DingTalk); no database needed."),
    no_args_is_help=True,
)

WebhookOpt = typer.Option(
    ...,
    "--webhook",
    envvar="GONG_WEBHOOK",
    help=_("The robot's webhook URL (or $GONG_WEBHOOK)."),
)
SecretOpt = typer.Option(
    None,
    "--secret",
    envvar="GONG_WEBHOOK_SECRET",
    help=_("The robot's SEC… signing secret (or $GONG_WEBHOOK_SECRET, kept out of `ps`)."),
)
AtOpt = typer.Option([], "--at", help=_("@ a member by mobile (repeat); added to the text."))
AtUserOpt = typer.Option([], "--at-user", help=_("@ a member by userId (repeat)."))
AtAllOpt = typer.Option(False, "--at-all", help=_("@ everyone."))
FileOpt = typer.Option(None, "--file", help=_("Read the text from this file ('-': stdin)."))
UuidOpt = typer.Option(None, "--msg-uuid", help=_("Idempotency key (default: a random one)."))
TimeoutOpt = typer.Option(10.0, "--timeout", min=0.1, help=_("Seconds per HTTP request."))
RetriesOpt = typer.Option(2, "--retries", min=0, help=_("Retries on system busy / network errors."))
JsonOpt = typer.Option(False, "--json", help=_("Print {errcode, errmsg, msgUuid} as JSON."))


def _read(text: str | None, file: Path | None) -> str:
    if file is not None:
        return sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    if text == "-":
        return sys.stdin.read()
    if text is None:
        raise typer.BadParameter(_("give the text as an argument, '-' for stdin, or --file"))
    return text


def _at(mobiles: list[str], user_ids: list[str], at_all: bool) -> At | None:
    if not (mobiles or user_ids or at_all):
        return None
    return At(atMobiles=mobiles, atUserIds=user_ids, isAtAll=at_all)


def _pair(spec: str, option: str) -> tuple[str, str, str]:
    """``TITLE=URL`` or ``TITLE=URL|PICTURE_URL``."""
    title, sep, rest = spec.partition("=")
    if not sep or not title or not rest:
        raise typer.BadParameter(
            _("%(option)s takes TITLE=URL, got %(spec)r", option=option, spec=spec)
        )
    url, bar, pic = rest.rpartition("|")
    if bar and pic.startswith(("http://", "https://")):
        return title, url, pic
    return title, rest, ""


def _build(make: Callable[[], Message]) -> Message:
    """Build the message, turning a field the robot API would refuse into a clear error."""
    try:
        return make()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        model = exc.title[:1].lower() + exc.title[1:]  # Markdown → markdown, as on the wire
        where = ".".join([model, *(str(p) for p in first["loc"])])
        problem = f"{where}: {first['msg']}"
        typer.echo(_("error: %(message)s", message=problem), err=True)
        raise typer.Exit(2) from None


def _deliver(
    message: Message,
    webhook: str,
    secret: str | None,
    timeout: float,
    retries: int,
    as_json: bool,
) -> None:
    try:
        with Robot(webhook, secret, timeout=timeout, retries=retries) as robot:
            result: SendResult = robot.send(message)
    except ValueError as exc:  # a bad webhook URL or message field
        typer.echo(_("error: %(message)s", message=exc), err=True)
        raise typer.Exit(2) from None
    except RobotSendError as exc:
        raw = exc.raw or json.dumps(
            {"errcode": exc.errcode, "errmsg": exc.errmsg}, ensure_ascii=False
        )
        _print(raw, exc.errcode, exc.errmsg, message.msgUuid, as_json)
        raise typer.Exit(
            1 if isinstance(exc, APIError) and exc.errcode is not None else 2
        ) from None
    _print(result.raw, result.errcode, result.errmsg, result.msg_uuid, as_json)


def _print(raw: str, errcode: int | None, errmsg: str, uuid: str | None, as_json: bool) -> None:
    if as_json:
        raw = json.dumps(
            {"errcode": errcode, "errmsg": errmsg, "msgUuid": uuid}, ensure_ascii=False
        )
    typer.echo(raw)


@send_app.command("text", help=_("Send a text message."))
def send_text(
    text: str = typer.Argument(None, help=_("The text ('-': read stdin).")),
    webhook: str = WebhookOpt,
    secret: str = SecretOpt,
    at: list[str] = AtOpt,
    at_user: list[str] = AtUserOpt,
    at_all: bool = AtAllOpt,
    file: Path = FileOpt,
    msg_uuid: str = UuidOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    as_json: bool = JsonOpt,
) -> None:
    content = _read(text, file)
    message = _build(
        lambda: TextMessage(
            text=Text(content=content), at=_at(at, at_user, at_all), msgUuid=msg_uuid
        )
    )
    _deliver(message, webhook, secret, timeout, retries, as_json)


@send_app.command("link", help=_("Send a link message (it cannot @ anyone)."))
def send_link(
    text: str = typer.Argument(None, help=_("The summary text ('-': read stdin).")),
    title: str = typer.Option(..., "--title"),
    url: str = typer.Option(..., "--url", help=_("Where a click leads (messageUrl).")),
    pic: str = typer.Option("", "--pic", help=_("Picture URL.")),
    webhook: str = WebhookOpt,
    secret: str = SecretOpt,
    file: Path = FileOpt,
    msg_uuid: str = UuidOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    as_json: bool = JsonOpt,
) -> None:
    body = _read(text, file)
    message = _build(
        lambda: LinkMessage(
            link=Link(title=title, text=body, messageUrl=url, picUrl=pic), msgUuid=msg_uuid
        )
    )
    _deliver(message, webhook, secret, timeout, retries, as_json)


@send_app.command("markdown", help=_("Send a markdown message."))
def send_markdown(
    text: str = typer.Argument(None, help=_("The markdown ('-': read stdin).")),
    title: str = typer.Option(..., "--title", help=_("Shown in the conversation list.")),
    webhook: str = WebhookOpt,
    secret: str = SecretOpt,
    at: list[str] = AtOpt,
    at_user: list[str] = AtUserOpt,
    at_all: bool = AtAllOpt,
    file: Path = FileOpt,
    msg_uuid: str = UuidOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    as_json: bool = JsonOpt,
) -> None:
    body = _read(text, file)
    message = _build(
        lambda: MarkdownMessage(
            markdown=Markdown(title=title, text=body), at=_at(at, at_user, at_all), msgUuid=msg_uuid
        )
    )
    _deliver(message, webhook, secret, timeout, retries, as_json)


@send_app.command("action-card", help=_("Send an actionCard message."))
def send_action_card(
    text: str = typer.Argument(None, help=_("The card's markdown ('-': read stdin).")),
    title: str = typer.Option(..., "--title"),
    button: list[str] = typer.Option(
        ..., "--button", help=_("TITLE=URL (repeat; one button makes a single-button card).")
    ),
    horizontal: bool = typer.Option(False, "--horizontal", help=_("Buttons side by side.")),
    hide_avatar: bool = typer.Option(False, "--hide-avatar"),
    webhook: str = WebhookOpt,
    secret: str = SecretOpt,
    at: list[str] = AtOpt,
    at_user: list[str] = AtUserOpt,
    at_all: bool = AtAllOpt,
    file: Path = FileOpt,
    msg_uuid: str = UuidOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    as_json: bool = JsonOpt,
) -> None:
    buttons = [_pair(b, "--button")[:2] for b in button]
    orientation: Literal["0", "1"] = "1" if horizontal else "0"
    card: dict[str, object] = {
        "title": title,
        "text": _read(text, file),
        "btnOrientation": orientation,
        "hideAvatar": "1" if hide_avatar else "0",
    }
    if len(buttons) == 1:
        card |= {"singleTitle": buttons[0][0], "singleURL": buttons[0][1]}
    else:
        card["btns"] = [{"title": t, "actionURL": u} for t, u in buttons]
    message = _build(
        lambda: ActionCardMessage.model_validate(
            {"actionCard": card, "at": _at(at, at_user, at_all), "msgUuid": msg_uuid}
        )
    )
    _deliver(message, webhook, secret, timeout, retries, as_json)


@send_app.command("feed-card", help=_("Send a feedCard message (it cannot @ anyone)."))
def send_feed_card(
    link: list[str] = typer.Option(..., "--link", help=_("TITLE=URL or TITLE=URL|PICTURE_URL.")),
    webhook: str = WebhookOpt,
    secret: str = SecretOpt,
    msg_uuid: str = UuidOpt,
    timeout: float = TimeoutOpt,
    retries: int = RetriesOpt,
    as_json: bool = JsonOpt,
) -> None:
    specs = [_pair(x, "--link") for x in link]
    message = _build(
        lambda: FeedCardMessage(
            feedCard=FeedCard(
                links=[FeedCardLink(title=t, messageURL=u, picURL=p) for t, u, p in specs]
            ),
            msgUuid=msg_uuid,
        )
    )
    _deliver(message, webhook, secret, timeout, retries, as_json)
