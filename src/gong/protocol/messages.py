"""Typed models of the DingTalk robot message types, tolerant of every shape real clients send.

Parsing (:func:`parse_message`) turns a decoded JSON body into one of the message models or raises
:class:`~gong.protocol.errors.RobotError` with DingTalk's errcode; building (``TextMessage(...)``,
``.to_wire()``) gives the canonical JSON that DingTalk documents. Server and SDK share both.

Leniency, as real clients need it: ``"at": {}`` and ``null`` lists; numbers in ``atMobiles``;
``btnOrientation``/``hideAvatar`` as ``0``/``1``, ``"0"``/``"1"``, ``""`` or ``null``;
``messageUrl``/``messageURL`` and ``picUrl``/``picURL`` in either spelling; legacy
``atDingtalkIds`` (treated as user ids) and the legacy ``image`` type. Single-button actionCard
fields win over ``btns`` when both are filled in.

What Gong stores must fit every database it runs on, so :func:`parse_message` also refuses, with
400402 naming the field (:func:`~gong.protocol.errors.field_invalid`), what one of them could not
hold: a ``msgUuid`` longer than :data:`MAX_MSG_UUID` characters (its columns are that wide) or
containing U+0000 (stored as is, and PostgreSQL text cannot hold it), and a lone UTF-16 surrogate
in any string (not Unicode; no driver can encode it). Every other string is stored inside JSON,
where U+0000 is escaped and no column limits its length (the 20 000-byte body does), so it is
kept whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gong.protocol.errors import Errors, RobotError, field_invalid, field_missing
from gong.protocol.limits import MAX_MSG_UUID

__all__ = [
    "MAX_MSG_UUID",
    "MESSAGE_TYPES",
    "ActionCard",
    "ActionCardButton",
    "ActionCardMessage",
    "At",
    "FeedCard",
    "FeedCardLink",
    "FeedCardMessage",
    "Image",
    "ImageMessage",
    "Link",
    "LinkMessage",
    "Markdown",
    "MarkdownMessage",
    "Message",
    "Text",
    "TextMessage",
    "encode",
    "parse_message",
]

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _unicode(value: str) -> str:
    """Refuse a lone UTF-16 surrogate: it is not Unicode text and no database driver encodes it.

    JSON parsers such as orjson already refuse ``"\\ud800"``; this guards every other way in.
    """
    if not value.isascii() and _SURROGATE.search(value):
        raise PydanticCustomError("gong_surrogate", "lone surrogate")
    return value


#: A string Gong can store: no lone surrogate.
Unicode = Annotated[str, AfterValidator(_unicode)]
#: A required string. pydantic-core reads a length-constrained string as UTF-8, so it refuses a
#: lone surrogate itself (``string_unicode``) at no extra cost; a test holds it to that.
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


def _str_list(value: Any) -> Any:
    """``null`` → ``[]``; numbers in the list → strings (clients send mobiles as numbers)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _flag(value: Any) -> Any:
    """``0``/``1``/``"0"``/``"1"``/``""``/``null``/booleans → ``"0"`` or ``"1"``."""
    if value is None or value == "":
        return "0"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) and value in (0, 1):
        return str(value)
    return value


def _bool(value: Any) -> Any:
    return False if value is None or value == "" else value


def _optional_str(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


StrList = Annotated[list[Unicode], BeforeValidator(_str_list)]
Flag = Annotated[Literal["0", "1"], BeforeValidator(_flag)]
LenientBool = Annotated[bool, BeforeValidator(_bool)]
OptionalStr = Annotated[Unicode, BeforeValidator(_optional_str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=False)


class At(_Model):
    """Who a message notifies. ``atDingtalkIds`` is the legacy name of ``atUserIds``."""

    atMobiles: StrList = Field(default_factory=list)
    atUserIds: StrList = Field(default_factory=list)
    isAtAll: LenientBool = False
    atDingtalkIds: StrList = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _merge_legacy_ids(self) -> At:
        if self.atDingtalkIds:
            self.atUserIds = list(dict.fromkeys([*self.atUserIds, *self.atDingtalkIds]))
        return self

    def is_empty(self) -> bool:
        return not (self.atMobiles or self.atUserIds or self.isAtAll)


class Text(_Model):
    content: NonEmpty


class Link(_Model):
    title: NonEmpty
    text: NonEmpty
    messageUrl: NonEmpty = Field(validation_alias=AliasChoices("messageUrl", "messageURL"))
    picUrl: OptionalStr = Field(default="", validation_alias=AliasChoices("picUrl", "picURL"))


class Markdown(_Model):
    title: NonEmpty
    text: NonEmpty


class ActionCardButton(_Model):
    title: NonEmpty
    actionURL: NonEmpty = Field(validation_alias=AliasChoices("actionURL", "actionUrl"))


class ActionCard(_Model):
    """One button (``singleTitle`` + ``singleURL``) or several (``btns``); single wins."""

    title: NonEmpty
    text: NonEmpty
    singleTitle: Unicode | None = None
    singleURL: Unicode | None = Field(
        default=None, validation_alias=AliasChoices("singleURL", "singleUrl")
    )
    btns: list[ActionCardButton] | None = None
    btnOrientation: Flag = "0"
    hideAvatar: Flag = "0"

    @model_validator(mode="before")
    @classmethod
    def _single_wins(cls, data: Any) -> Any:
        if isinstance(data, dict):
            single_url = data.get("singleURL", data.get("singleUrl"))
            if _filled(data.get("singleTitle")) and _filled(single_url):
                data = {k: v for k, v in data.items() if k != "btns"}
            elif not _filled(data.get("singleTitle")) and not _filled(single_url):
                data = {k: v for k, v in data.items() if k not in ("singleTitle", "singleURL")}
        return data

    @model_validator(mode="after")
    def _one_kind_of_button(self) -> ActionCard:
        single = bool(self.singleTitle) and bool(self.singleURL)
        if single:
            self.btns = None
            return self
        if self.singleTitle or self.singleURL:
            missing = "singleURL" if self.singleTitle else "singleTitle"
            raise PydanticCustomError("gong_missing", "{field}", {"field": missing})
        if not self.btns:
            raise PydanticCustomError("gong_missing", "{field}", {"field": "btns"})
        self.singleTitle = self.singleURL = None
        return self

    @property
    def buttons(self) -> list[ActionCardButton]:
        """The buttons as a list, one for a single-button card."""
        if self.singleTitle and self.singleURL:
            return [ActionCardButton(title=self.singleTitle, actionURL=self.singleURL)]
        return list(self.btns or [])


def _filled(value: Any) -> bool:
    return isinstance(value, str) and value != ""


class FeedCardLink(_Model):
    title: NonEmpty
    messageURL: NonEmpty = Field(validation_alias=AliasChoices("messageURL", "messageUrl"))
    picURL: OptionalStr = Field(default="", validation_alias=AliasChoices("picURL", "picUrl"))


class FeedCard(_Model):
    links: Annotated[list[FeedCardLink], Field(min_length=1)]


class Image(_Model):
    picURL: NonEmpty = Field(validation_alias=AliasChoices("picURL", "picUrl"))


def _uuid(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class _Message(_Model):
    """Fields every message type shares."""

    msgtype: ClassVar[str]
    #: Whether DingTalk lets this type @ people.
    can_mention: ClassVar[bool] = False
    at: At | None = None
    msgUuid: Annotated[Unicode | None, BeforeValidator(_uuid)] = None

    def to_wire(self) -> dict[str, Any]:
        """The canonical DingTalk JSON object of this message."""
        dumped = self.model_dump(mode="json", exclude_none=True)
        body: dict[str, Any] = {"msgtype": self.msgtype, self.msgtype: dumped[self.msgtype]}
        if self.can_mention and self.at is not None and not self.at.is_empty():
            body["at"] = dumped["at"]
        if self.msgUuid is not None:
            body["msgUuid"] = self.msgUuid
        return body

    def mentions(self) -> At:
        """Who to notify; empty for types DingTalk does not let @."""
        if self.can_mention and self.at is not None:
            return self.at
        return At()

    def searchable(self) -> Iterator[str]:
        """The strings keywords are searched in."""
        return iter(())

    def title(self) -> str:
        """What a conversation list shows for this message."""
        return ""

    def body_text(self) -> str:
        """The text that carries ``@mobile`` / ``@userId`` mentions."""
        return ""


class TextMessage(_Message):
    msgtype: ClassVar[str] = "text"
    can_mention: ClassVar[bool] = True
    text: Text

    def searchable(self) -> Iterator[str]:
        yield self.text.content

    def title(self) -> str:
        return self.text.content

    def body_text(self) -> str:
        return self.text.content


class LinkMessage(_Message):
    msgtype: ClassVar[str] = "link"
    link: Link

    def searchable(self) -> Iterator[str]:
        yield self.link.title
        yield self.link.text

    def title(self) -> str:
        return self.link.title


class MarkdownMessage(_Message):
    msgtype: ClassVar[str] = "markdown"
    can_mention: ClassVar[bool] = True
    markdown: Markdown

    def searchable(self) -> Iterator[str]:
        yield self.markdown.title
        yield self.markdown.text

    def title(self) -> str:
        return self.markdown.title

    def body_text(self) -> str:
        return self.markdown.text


class ActionCardMessage(_Message):
    msgtype: ClassVar[str] = "actionCard"
    can_mention: ClassVar[bool] = True
    actionCard: ActionCard

    def searchable(self) -> Iterator[str]:
        yield self.actionCard.title
        yield self.actionCard.text
        for button in self.actionCard.buttons:
            yield button.title

    def title(self) -> str:
        return self.actionCard.title

    def body_text(self) -> str:
        return self.actionCard.text


class FeedCardMessage(_Message):
    msgtype: ClassVar[str] = "feedCard"
    feedCard: FeedCard

    def searchable(self) -> Iterator[str]:
        for link in self.feedCard.links:
            yield link.title

    def title(self) -> str:
        return self.feedCard.links[0].title


class ImageMessage(_Message):
    """The legacy ``image`` type (``{"image": {"picURL": …}}``)."""

    msgtype: ClassVar[str] = "image"
    image: Image

    def title(self) -> str:
        return "[图片]"


Message = (
    TextMessage | LinkMessage | MarkdownMessage | ActionCardMessage | FeedCardMessage | ImageMessage
)

MESSAGE_TYPES: dict[str, type[_Message]] = {
    cls.msgtype: cls
    for cls in (
        TextMessage,
        LinkMessage,
        MarkdownMessage,
        ActionCardMessage,
        FeedCardMessage,
        ImageMessage,
    )
}


def encode(body: _Message | dict[str, Any]) -> bytes:
    """The request body as senders should put it on the wire: compact JSON, UTF-8, not escaped.

    ``ensure_ascii=False`` matters: escaped Chinese takes six bytes a character against
    DingTalk's 20 000-byte limit instead of three.
    """
    wire = body.to_wire() if isinstance(body, _Message) else body
    return json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_message(body: Any) -> Message:
    """Validate a decoded JSON body as DingTalk does, in DingTalk's order of checks.

    Raises:
        RobotError: ``40035`` when the body is not an object, ``300001`` when ``msgtype`` is
            missing, ``400105`` when it is unknown, ``400402`` naming the first bad field.
    """
    if not isinstance(body, dict):
        raise RobotError(Errors.JSON_MISSING)
    msgtype = body.get("msgtype")
    if msgtype is None or msgtype == "":
        raise RobotError(Errors.MSGTYPE_MISSING)
    if not isinstance(msgtype, str) or msgtype not in MESSAGE_TYPES:
        raise RobotError(Errors.MSGTYPE_UNKNOWN)
    model = MESSAGE_TYPES[msgtype]
    try:
        message = model.model_validate(body)
    except ValidationError as exc:
        raise _field_error(exc) from None
    _check_storable(message)
    return message  # type: ignore[return-value]


def _check_storable(message: _Message) -> None:
    """Refuse a ``msgUuid`` its columns cannot hold (lone surrogates: :func:`_unicode`)."""
    uuid = message.msgUuid
    if uuid is not None:
        if len(uuid) > MAX_MSG_UUID:
            raise field_invalid("too_long", "msgUuid", limit=MAX_MSG_UUID)
        if "\x00" in uuid:
            raise field_invalid("nul", "msgUuid")


def _field_error(exc: ValidationError) -> RobotError:
    error = exc.errors(include_url=False)[0]
    loc: tuple[str | int, ...] = tuple(error["loc"])
    if error["type"] == "gong_missing":
        loc = (*loc, str((error.get("ctx") or {})["field"]))
    elif error["type"] in ("gong_surrogate", "string_unicode"):
        return field_invalid("surrogate", *loc)
    return field_missing(*loc)
