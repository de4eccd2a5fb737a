"""Trello webhooks: cards created, moved, renamed, archived, commented, labelled, assigned, ….

The event is the body's ``action.type``; card updates are named by what changed
(``updateCard.moved``, ``updateCard.renamed``, …). With a source secret (the Trello application
secret), ``X-Trello-Webhook`` must be base64 HMAC-SHA1 of the raw body followed by the callback
URL exactly as registered: the robot's webhook URL, or ``trello_callback_url`` when Trello reaches
Gong through another address. Trello's ``HEAD`` check at registration is answered by the web
handler without a body. Due dates are written on the robot's group's clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
from typing import Any

from pydantic import Field

from gong.domain.models import RobotKind
from gong.integrations.source import (
    Builder,
    Delivery,
    Event,
    IntegrationConfig,
    Named,
    Payload,
    Source,
    Zoned,
    bad_signature,
    dispatch,
    in_zone,
    invalid,
    parse,
    same,
)
from gong.integrations.text import (
    action_card,
    escape,
    format_local,
    link,
    quote,
    timestamp,
)
from gong.protocol.messages import Message

__all__ = ["Trello", "trello_signature"]


def trello_signature(secret: str, body: bytes, callback_url: str) -> str:
    """What Trello puts in ``X-Trello-Webhook`` for this body and callback URL."""
    digest = hmac.new(secret.encode(), body + callback_url.encode(), "sha1").digest()
    return base64.b64encode(digest).decode()


class Card(Payload):
    name: str = ""
    short_link: str | None = Field(default=None, alias="shortLink")
    id_short: int | None = Field(default=None, alias="idShort")
    closed: bool | None = None
    due: str | None = None
    desc: str | None = None

    @property
    def url(self) -> str | None:
        return f"https://trello.com/c/{self.short_link}" if self.short_link else None


class TrelloList(Payload):
    name: str = ""


class Board(Payload):
    name: str = ""
    short_link: str | None = Field(default=None, alias="shortLink")


class Label(Payload):
    name: str | None = ""
    color: str | None = None


class CheckItem(Payload):
    name: str = ""
    state: str | None = None


class Attachment(Payload):
    name: str = ""
    url: str | None = None


class Data(Payload):
    card: Card | None = None
    list: TrelloList | None = None
    board: Board | None = None
    list_before: TrelloList | None = Field(default=None, alias="listBefore")
    list_after: TrelloList | None = Field(default=None, alias="listAfter")
    old: dict[str, Any] = Field(default_factory=dict)
    text: str | None = None
    label: Label | None = None
    check_item: CheckItem | None = Field(default=None, alias="checkItem")
    attachment: Attachment | None = None


class Action(Payload):
    type: str
    member_creator: Named | None = Field(default=None, alias="memberCreator")
    member: Named | None = None
    data: Data = Field(default_factory=Data)


class Model(Payload):
    name: str = ""
    short_url: str | None = Field(default=None, alias="shortUrl")


class TrelloEvent(Payload):
    action: Action
    model: Model | None = None

    @property
    def who(self) -> str:
        return self.action.member_creator.shown if self.action.member_creator else "someone"

    @property
    def board(self) -> tuple[str, str | None]:
        board = self.action.data.board
        if board is not None and board.name:
            url = f"https://trello.com/b/{board.short_link}" if board.short_link else None
            return board.name, url or (self.model.short_url if self.model else None)
        if self.model is not None:
            return self.model.name or "Trello", self.model.short_url
        return "Trello", None

    def card(self) -> Card:
        if self.action.data.card is None:
            raise invalid(f"Trello {self.action.type}: field action.data.card is missing")
        return self.action.data.card


def _message(event: TrelloEvent, summary: str, text: str, body: str | None = None) -> Message:
    name, url = event.board
    parts = [f"**{escape(event.who)}** {text} on board {link(name, url)}"]
    quoted = quote(body)
    if quoted:
        parts.append(quoted)
    card = event.action.data.card
    title = f"[{name}] {event.who} {summary}"
    if card is not None and card.url:
        return action_card(title, "\n\n".join(parts), "View card", card.url)
    return action_card(title, "\n\n".join(parts), "View board", url)


def _card_link(card: Card) -> str:
    return link(card.name or f"#{card.id_short}", card.url)


def create_card(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello createCard")
    card = event.card()
    where = event.action.data.list
    in_list = f" in list **{escape(where.name)}**" if where and where.name else ""
    return _message(event, f"created card {card.name}", f"created card {_card_link(card)}{in_list}")


def card_moved(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello updateCard")
    card = event.card()
    data = event.action.data
    before = data.list_before.name if data.list_before else "?"
    after = data.list_after.name if data.list_after else "?"
    text = f"moved card {_card_link(card)} from **{escape(before)}** to **{escape(after)}**"
    return _message(event, f"moved card {card.name} to {after}", text)


def card_renamed(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello updateCard")
    card = event.card()
    old = event.action.data.old.get("name")
    was = f" (was **{escape(old)}**)" if isinstance(old, str) and old else ""
    return _message(event, f"renamed card {card.name}", f"renamed card {_card_link(card)}{was}")


def card_archived(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello updateCard")
    card = event.card()
    if card.closed:
        return _message(event, f"archived card {card.name}", f"archived card {_card_link(card)}")
    text = f"sent card {_card_link(card)} back to the board"
    return _message(event, f"restored card {card.name}", text)


def card_due(document: dict[str, Any], tz: dt.tzinfo) -> Message:
    event = parse(TrelloEvent, document, "Trello updateCard")
    card = event.card()
    due = timestamp(card.due)
    if due is None:
        text = f"removed the due date of card {_card_link(card)}"
    else:
        when = format_local(int(due.timestamp() * 1000), tz)
        text = f"set the due date of card {_card_link(card)} to **{when}**"
    return _message(event, f"changed the due date of {card.name}", text)


def card_description(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello updateCard")
    card = event.card()
    text = f"changed the description of card {_card_link(card)}"
    return _message(event, f"changed the description of {card.name}", text, card.desc)


def comment_card(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello commentCard")
    card = event.card()
    text = f"commented on card {_card_link(card)}"
    return _message(event, f"commented on {card.name}", text, event.action.data.text)


def _member(event: TrelloEvent) -> str:
    return event.action.member.shown if event.action.member else "someone"


def add_member(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello addMemberToCard")
    card = event.card()
    member = _member(event)
    if member == event.who:
        return _message(event, f"joined card {card.name}", f"joined card {_card_link(card)}")
    text = f"added **{escape(member)}** to card {_card_link(card)}"
    return _message(event, f"added {member} to {card.name}", text)


def remove_member(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello removeMemberFromCard")
    card = event.card()
    member = _member(event)
    if member == event.who:
        return _message(event, f"left card {card.name}", f"left card {_card_link(card)}")
    text = f"removed **{escape(member)}** from card {_card_link(card)}"
    return _message(event, f"removed {member} from {card.name}", text)


def _label(event: TrelloEvent) -> str:
    data = event.action.data
    name = (data.label.name if data.label else None) or data.text or ""
    color = data.label.color if data.label else None
    shown = f"**{escape(name)}**" if name else "a"
    return (
        f"{shown} ({escape(color)})"
        if color and name
        else (f"a {escape(color)}" if color else shown)
    )


def add_label(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello addLabelToCard")
    card = event.card()
    text = f"added label {_label(event)} to card {_card_link(card)}"
    return _message(event, f"labelled {card.name}", text)


def remove_label(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello removeLabelFromCard")
    card = event.card()
    text = f"removed label {_label(event)} from card {_card_link(card)}"
    return _message(event, f"unlabelled {card.name}", text)


def add_attachment(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello addAttachmentToCard")
    card = event.card()
    found = event.action.data.attachment
    what = link(found.name or "a file", found.url) if found else "a file"
    text = f"attached {what} to card {_card_link(card)}"
    return _message(event, f"attached a file to {card.name}", text)


def check_item(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello updateCheckItemStateOnCard")
    card = event.card()
    item = event.action.data.check_item
    name = escape(item.name) if item else "an item"
    done = item is not None and item.state == "complete"
    verb = "completed" if done else "marked as incomplete"
    text = f"{verb} **{name}** on card {_card_link(card)}"
    return _message(event, f"{verb} an item on {card.name}", text)


def delete_card(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello deleteCard")
    card = event.card()
    where = event.action.data.list
    in_list = f" from list **{escape(where.name)}**" if where and where.name else ""
    text = f"deleted card **#{card.id_short or '?'}**{in_list}"
    return _message(event, f"deleted card #{card.id_short or '?'}", text)


def create_list(document: dict[str, Any]) -> Message:
    event = parse(TrelloEvent, document, "Trello createList")
    where = event.action.data.list
    name = where.name if where else "?"
    return _message(event, f"created list {name}", f"created list **{escape(name)}**")


BUILDERS: dict[str, Builder] = {
    "createCard": create_card,
    "updateCard.moved": card_moved,
    "updateCard.renamed": card_renamed,
    "updateCard.archived": card_archived,
    "updateCard.unarchived": card_archived,
    "updateCard.description": card_description,
    "commentCard": comment_card,
    "addMemberToCard": add_member,
    "removeMemberFromCard": remove_member,
    "addLabelToCard": add_label,
    "removeLabelFromCard": remove_label,
    "addAttachmentToCard": add_attachment,
    "updateCheckItemStateOnCard": check_item,
    "deleteCard": delete_card,
    "createList": create_list,
}

#: Builders that write times, given the group's zone.
ZONED_BUILDERS: dict[str, Zoned] = {"updateCard.due": card_due}

#: A key of ``action.data.old`` in a card update → the event's name.
_UPDATES = {"idList": "moved", "name": "renamed", "due": "due", "desc": "description"}


def event_name(action: dict[str, Any]) -> str:
    kind = action.get("type")
    if not isinstance(kind, str) or not kind:
        raise invalid("Trello: field action.type is missing or not a string")
    if kind != "updateCard":
        return kind
    data = action.get("data")
    old = data.get("old") if isinstance(data, dict) else None
    if not isinstance(old, dict):
        return "updateCard.other"
    for key, name in _UPDATES.items():
        if key in old:
            return f"updateCard.{name}"
    if "closed" in old:
        return "updateCard.unarchived" if old["closed"] else "updateCard.archived"
    return "updateCard." + ("_".join(sorted(old)) or "other")


class Trello(Source):
    kind = RobotKind.TRELLO
    label = "Trello"

    def verify(self, delivery: Delivery, secret: str, config: IntegrationConfig) -> None:
        given = delivery.header("X-Trello-Webhook")
        if not given:
            raise bad_signature("X-Trello-Webhook is missing: Trello signs every webhook")
        callback = config.trello_callback_url or delivery.callback_url
        if not same(given, trello_signature(secret, delivery.body, callback)):
            raise bad_signature(
                "X-Trello-Webhook does not match the body, the callback URL and the source secret"
            )

    def event(
        self, delivery: Delivery, document: dict[str, Any], config: IntegrationConfig
    ) -> Event:
        action = document.get("action")
        if not isinstance(action, dict):
            raise invalid("no action object in the body: this is not a Trello webhook payload")
        builders = {**BUILDERS, **in_zone(ZONED_BUILDERS, delivery.tz)}
        return dispatch(event_name(action), document, builders)
