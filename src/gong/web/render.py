"""Messages as the web app shows them: DingTalk's look, built only from escaped or sanitised parts.

:func:`message_view` turns a stored message (or the live event of one) into a
:class:`MessageView` whose every HTML piece is either escaped here (text, titles, URLs go through
Jinja's autoescape) or produced by :func:`gong.domain.markdown.render_markdown`. The same
template renders the page, the history pages and the live events, so what a message looks like
never depends on how it arrived.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from gong import i18n
from gong.domain.alerts import AlertState
from gong.domain.markdown import render_markdown, safe_image, safe_link
from gong.domain.mentions import mask_mobile
from gong.domain.models import StoredMessage
from gong.domain.search import MAX_QUERY
from gong.domain.timetext import duration
from gong.i18n import web as _
from gong.protocol import limits
from gong.schemas.records import MessageOut

__all__ = [
    "RECALLED_PREVIEW",
    "STATIC",
    "AlertBadge",
    "Button",
    "FeedItem",
    "MessageStatus",
    "MessageView",
    "environment",
    "markup",
    "message_status",
    "message_view",
    "messages_script",
    "preview",
    "text_html",
]

STATIC = Path(__file__).parent / "static"
_URL_CHARS = "[^\\s<>\"'\u3000-\u303f\uff01-\uff5e"
#: An http(s) URL in plain text; trailing punctuation is left outside the link.
_URL = re.compile(f"https?://{_URL_CHARS}]*{_URL_CHARS}.,;:!?)\\]}}]")
_PREVIEW_MAX = 80
#: The conversation list's line for a recalled message (in the reader's language when shown).
RECALLED_PREVIEW = _.lazy("[Message recalled]")


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class FeedItem:
    title: str
    url: str | None
    picture: str | None


def _utc(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class AlertBadge:
    """An alert message's state as its badge shows it."""

    state: str
    firing: int
    resolved: int
    #: Unix ms when its last firing alert resolved; None while any fires (or posted resolved).
    resolved_at: int | None
    #: How long it fired (``12 min``): from its first alert's start when the state says it
    #: (``fired_at``), else from the message's time; empty when that is not known.
    after: str = ""
    #: Unix ms the alerts started firing, when the state says (``fired_at``).
    fired_at: int | None = None

    @property
    def label(self) -> str:
        return _("Resolved") if self.state == "resolved" else _("Firing")

    @property
    def counts(self) -> str:
        """Both counts while the group is partly resolved (``3 firing · 2 resolved``)."""
        if self.firing and self.resolved:
            return _(
                "%(firing)s firing · %(resolved)s resolved",
                firing=self.firing,
                resolved=self.resolved,
            )
        return ""

    @property
    def resolved_iso(self) -> str:
        return _utc(self.resolved_at or 0).isoformat(timespec="seconds")

    @property
    def resolved_clock(self) -> str:
        return _utc(self.resolved_at or 0).strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """What ``_message_status.html`` shows beside a message's time: its alert state and how
    many times the quiet window counted it. Rendered alone for a live ``message_update``."""

    message_id: int
    alert: AlertBadge | None = None
    #: How many times it was posted (more than 1: the quiet window counted repeats).
    repeat: int = 1

    @property
    def shown(self) -> bool:
        return self.alert is not None or self.repeat > 1


def message_status(
    message_id: int, alert: dict[str, Any] | None, repeat: Any, created_at: int | None = None
) -> MessageStatus:
    """The status of a message from its ``alert`` JSON (``AlertState.to_json()``) and repeat
    count, as stored or as a live event carries them.

    The "after 12 min" of a resolved alert counts from ``fired_at`` in the state when it is
    there, else from ``created_at`` (the message's time, unix ms); the page's script writes it
    in any case (a live update does not carry the message's time).
    """
    badge = None
    state = None
    if isinstance(alert, dict):
        with contextlib.suppress(TypeError, ValueError):  # not the hub's JSON: no badge
            state = AlertState.from_json(alert)
    if state is not None:
        resolved_at = state.resolved_at if isinstance(state.resolved_at, int) else None
        if resolved_at is not None and created_at is not None and resolved_at <= created_at:
            resolved_at = None  # posted already resolved (a resolved line): nothing to add
        fired = alert.get("fired_at") if isinstance(alert, dict) else None
        fired_at = fired if isinstance(fired, int) and not isinstance(fired, bool) else None
        since = fired_at if fired_at is not None else created_at
        after = ""
        if resolved_at is not None and since is not None and resolved_at >= since:
            after = duration((resolved_at - since) / 1000)
        badge = AlertBadge(state.state, state.firing, state.resolved, resolved_at, after, fired_at)
    try:
        count = max(1, int(repeat))
    except (TypeError, ValueError):
        count = 1
    return MessageStatus(message_id, badge, count)


@dataclass(slots=True)
class MessageView:
    """Everything ``_message.html`` needs; ``body`` is already safe HTML."""

    id: int
    group_id: int
    msgtype: str
    sender_type: str
    sender_name: str
    sender_user_id: int | None
    robot_id: int | None
    created_at: int
    mentions: list[int]
    at_all: bool
    body: Markup = field(default_factory=Markup)
    title: str = ""
    text: str = ""
    url: str | None = None
    picture: str | None = None
    buttons: list[Button] = field(default_factory=list)
    vertical: bool = True
    hide_avatar: bool = False
    items: list[FeedItem] = field(default_factory=list)
    #: Only one account sees this message (a note about its own post).
    private: bool = False
    #: Its alert state and repeat count (updated live by ``message_update`` events).
    status: MessageStatus = field(default_factory=lambda: MessageStatus(0))
    #: Recalled: shown as a placeholder (sender and time stay, the content is gone).
    recalled: bool = False
    #: Whether the reader may recall it (set per reader by the page, from
    #: :func:`gong.domain.history.can_recall`; live frames, shared by every reader, leave it
    #: False).
    recallable: bool = False

    @property
    def iso_time(self) -> str:
        return _utc(self.created_at).isoformat(timespec="seconds")

    @property
    def clock_time(self) -> str:
        return _utc(self.created_at).strftime("%H:%M")

    @property
    def avatar(self) -> str | None:
        if self.sender_type == "robot" and self.robot_id is not None:
            return f"/robots/{self.robot_id}/avatar"
        return None

    @property
    def initial(self) -> str:
        return (self.sender_name.strip()[:1] or "?").upper()

    @property
    def hue(self) -> int:
        """A stable colour for a person's initial avatar."""
        return hashlib.sha256(self.sender_name.encode()).digest()[0] % 12


#: How ``@all`` is written in a message's text (the composer writes ``@all``; DingTalk's
#: clients write ``@所有人``).
AT_ALL_WORDS = ("@all", "@所有人")


def text_html(
    content: str,
    mentions: list[dict[str, Any]],
    unresolved: list[str],
    *,
    at_all: bool = False,
) -> Markup:
    """A text message: escaped, ``@mobile``/``@userId`` of members shown as a highlighted
    ``@name``, ``@all`` highlighted when the message @-mentions everyone, non-members' numbers
    masked, and http(s) URLs made links."""
    marks: dict[str, Markup] = {}
    if at_all:
        for word in AT_ALL_WORDS:
            marks[word] = Markup('<span class="at at-all">{}</span>').format(word)
    for mention in mentions:
        if mention.get("in_text"):
            marks["@" + str(mention["value"])] = Markup(
                '<span class="at" data-member-id="{}">@{}</span>'
            ).format(int(mention["member_id"]), mention["name"])
    for mobile in unresolved:
        marks.setdefault(
            "@" + mobile, Markup('<span class="at-masked">@{}</span>').format(mask_mobile(mobile))
        )
    keys = sorted(marks, key=len, reverse=True)
    alternatives = [re.escape(k) + r"(?![0-9A-Za-z_\-])" for k in keys]
    pattern = re.compile("|".join([*alternatives, _URL.pattern]))
    out: list[str] = []
    position = 0
    for match in pattern.finditer(content):
        out.append(escape(content[position : match.start()]))
        found = match.group(0)
        if found in marks:
            out.append(marks[found])
        else:
            url = safe_link(found)
            out.append(
                Markup(
                    '<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>'
                ).format(url, found)
                if url
                else escape(found)
            )
        position = match.end()
    out.append(escape(content[position:]))
    return Markup("").join(out)


def _markdown(text: str, unresolved: list[str]) -> Markup:
    masks = [("@" + m, "@" + mask_mobile(m)) for m in unresolved]
    # Safe by construction: restricted markdown-it, then nh3 (see gong.domain.markdown).
    return Markup(render_markdown(text, mask=masks))  # noqa: S704


def _flag(value: Any) -> bool:
    return str(value) == "1"


def message_view(message: StoredMessage | dict[str, Any]) -> MessageView:
    """The view of a stored message, or of the live event the hub published for it."""
    data = MessageOut.of(message).model_dump() if isinstance(message, StoredMessage) else message
    sender = data.get("sender") or {}
    content: dict[str, Any] = data.get("content") or {}
    msgtype = str(data.get("msgtype") or content.get("msgtype") or "")
    mentions: list[dict[str, Any]] = list(data.get("mentions") or [])
    unresolved = [str(u) for u in data.get("unresolved") or []]
    view = MessageView(
        id=int(data["id"]),
        group_id=int(data["group_id"]),
        msgtype=msgtype,
        sender_type=str(sender.get("type") or "robot"),
        sender_name=str(sender.get("name") or ""),
        sender_user_id=sender.get("user_id"),
        robot_id=data.get("robot_id"),
        created_at=int(data.get("created_at") or 0),
        mentions=[int(m["member_id"]) for m in mentions if "member_id" in m],
        at_all=bool(data.get("at_all")),
        private=(
            message.visible_to_user_id is not None
            if isinstance(message, StoredMessage)
            else data.get("visible_to_user_id") is not None
        ),
    )
    if isinstance(message, StoredMessage):
        alert, repeat = message.alert, message.repeat
    else:
        alert, repeat = data.get("alert"), data.get("repeat", 1)
    view.status = message_status(view.id, alert, repeat, view.created_at)
    if data.get("recalled"):
        view.recalled = True
        view.mentions, view.at_all = [], False
        view.status = MessageStatus(view.id)
        return view
    body: dict[str, Any] = content.get(msgtype) or {}
    if msgtype == "text":
        view.body = text_html(
            str(body.get("content", "")), mentions, unresolved, at_all=view.at_all
        )
    elif msgtype == "markdown":
        view.title = str(body.get("title", ""))
        view.body = _markdown(str(body.get("text", "")), unresolved)
    elif msgtype == "link":
        view.title = str(body.get("title", ""))
        view.text = str(body.get("text", ""))
        view.url = safe_link(body.get("messageUrl") or body.get("messageURL"))
        view.picture = safe_image(body.get("picUrl") or body.get("picURL"))
    elif msgtype == "actionCard":
        view.title = str(body.get("title", ""))
        view.body = _markdown(str(body.get("text", "")), unresolved)
        if body.get("singleTitle") and body.get("singleURL"):
            view.buttons = [Button(str(body["singleTitle"]), safe_link(body["singleURL"]))]
        else:
            view.buttons = [
                Button(str(b.get("title", "")), safe_link(b.get("actionURL")))
                for b in body.get("btns") or []
                if isinstance(b, dict)
            ]
        view.vertical = not _flag(body.get("btnOrientation"))
        view.hide_avatar = _flag(body.get("hideAvatar"))
    elif msgtype == "feedCard":
        view.items = [
            FeedItem(
                str(link.get("title", "")),
                safe_link(link.get("messageURL") or link.get("messageUrl")),
                safe_image(link.get("picURL") or link.get("picUrl")),
            )
            for link in body.get("links") or []
            if isinstance(link, dict)
        ]
    elif msgtype == "image":
        view.picture = safe_image(body.get("picURL") or body.get("picUrl"))
    return view


def preview(message: StoredMessage | dict[str, Any] | None) -> str:
    """The conversation list's line for a message, as DingTalk shows it: the text of a text
    message (mentions as names), else the title (the first one of a feedCard);
    :data:`RECALLED_PREVIEW` once it is recalled. In the language in effect."""
    if message is None:
        return ""
    data = MessageOut.of(message).model_dump() if isinstance(message, StoredMessage) else message
    if data.get("recalled"):
        return RECALLED_PREVIEW.translated()
    content: dict[str, Any] = data.get("content") or {}
    msgtype = str(data.get("msgtype") or "")
    body: dict[str, Any] = content.get(msgtype) or {}
    if msgtype == "text":
        line = _mention_names(str(body.get("content", "")), data)
    elif msgtype in ("markdown", "actionCard", "link"):
        line = str(body.get("title", ""))
        if msgtype == "markdown":  # a person's title is their first line: mentions as names
            line = _mention_names(line, data)
    elif msgtype == "feedCard":
        links = body.get("links") or [{}]
        line = str(links[0].get("title", "")) if isinstance(links[0], dict) else ""
    elif msgtype == "image":
        line = _("[Picture]")
    else:
        line = ""
    line = " ".join(line.split())
    return line if len(line) <= _PREVIEW_MAX else line[: _PREVIEW_MAX - 1] + "…"


def _mention_names(line: str, data: dict[str, Any]) -> str:
    """``line`` with members' ``@mobile``/``@userId`` as ``@name`` and other numbers masked."""
    for mention in data.get("mentions") or []:
        line = line.replace("@" + str(mention.get("value")), "@" + str(mention.get("name")))
    for mobile in data.get("unresolved") or []:
        line = line.replace("@" + str(mobile), "@" + mask_mobile(str(mobile)))
    return line


def _static_versions() -> dict[str, str]:
    versions = {}
    for path in STATIC.rglob("*"):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            versions[path.relative_to(STATIC).as_posix()] = digest
    return versions


def markup(text: str, **params: Any) -> Markup:
    """A translated text that holds markup, its parameters escaped (``Markup`` formatting)."""
    trusted = Markup(text)  # noqa: S704 - the text is a catalogue's, never a person's
    return trusted % params if params else trusted


@cache
def messages_script(language: str) -> tuple[bytes, str]:
    """``(script, version)``: ``window.GONG_MESSAGES = {…}`` for ``language``; the version
    changes with the catalogue, so the script can be cached for good."""
    body = b"window.GONG_MESSAGES=" + orjson.dumps(i18n.js_messages(language)) + b";\n"
    return body, hashlib.sha256(body).hexdigest()[:10]


def environment() -> Environment:
    """The Jinja2 environment of the web app: autoescaping on, undefined names are errors."""
    env = Environment(
        loader=PackageLoader("gong.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = _static_versions()

    def static(path: str) -> str:
        return f"/static/{path}?v={versions.get(path, '0')}"

    env.globals["static"] = static
    # Translations: ``{{ _("Sign in") }}``, ``{{ ngettext("%(n)s member", "%(n)s members", n) }}``;
    # both read the language in effect (gong.i18n), set per request.
    env.globals["_"] = i18n.web
    env.globals["ngettext"] = i18n.web.plural
    env.globals["current_language"] = i18n.current
    env.globals["languages"] = i18n.LANGUAGES
    # A translation that holds markup: ``{{ _("Only in <strong>%(name)s</strong>")|markup(
    # name=group.name) }}``: the catalogue's text is trusted, every parameter is escaped.
    env.filters["markup"] = markup

    def messages_url() -> str:
        language = i18n.current()
        return f"/i18n/{language}.js?v={messages_script(language)[1]}"

    env.globals["messages_script"] = messages_url
    env.globals["preview"] = preview
    env.globals["limits"] = limits
    env.globals["max_query"] = MAX_QUERY
    return env
