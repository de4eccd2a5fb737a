"""Building robot messages: the typed payloads both clients send, from plain arguments.

The ``send_*`` methods of ``Robot`` and ``AsyncRobot`` build their message here, and
:func:`with_mentions` writes missing ``@mobile`` / ``@userId`` into its text (DingTalk notifies
only then).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gong.protocol.limits import MAX_AT_TARGETS
from gong.protocol.messages import (
    ActionCard,
    ActionCardButton,
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

__all__ = ["ButtonSpec", "FeedLinkSpec", "with_mentions"]

ButtonSpec = ActionCardButton | tuple[str, str]
FeedLinkSpec = FeedCardLink | tuple[str, str] | tuple[str, str, str]


# -- building messages ------------------------------------------------------------------------


def _at(mobiles: Sequence[str], user_ids: Sequence[str], at_all: bool) -> At | None:
    if not (mobiles or user_ids or at_all):
        return None
    return At(atMobiles=list(mobiles), atUserIds=list(user_ids), isAtAll=at_all)


def _button(spec: ButtonSpec) -> ActionCardButton:
    if isinstance(spec, ActionCardButton):
        return spec
    title, url = spec
    return ActionCardButton(title=title, actionURL=url)


def _feed_link(spec: FeedLinkSpec) -> FeedCardLink:
    if isinstance(spec, FeedCardLink):
        return spec
    title, url, *pic = spec
    return FeedCardLink(title=title, messageURL=url, picURL=pic[0] if pic else "")


def _action_card(
    title: str,
    text: str,
    buttons: Sequence[ButtonSpec],
    btn_orientation: Literal["0", "1"],
    hide_avatar: bool,
) -> ActionCard:
    made = [_button(b) for b in buttons]
    if not made:
        raise ValueError("an actionCard needs at least one button")
    flags = {"btnOrientation": btn_orientation, "hideAvatar": "1" if hide_avatar else "0"}
    if len(made) == 1:
        return ActionCard.model_validate(
            {
                "title": title,
                "text": text,
                "singleTitle": made[0].title,
                "singleURL": made[0].actionURL,
                **flags,
            }
        )
    return ActionCard.model_validate(
        {"title": title, "text": text, "btns": [b.model_dump() for b in made], **flags}
    )


def with_mentions(message: Message) -> Message:
    """The message with ``@target`` added to its text for every @-target the text lacks."""
    at = message.mentions()
    targets = [*at.atMobiles, *at.atUserIds][:MAX_AT_TARGETS]
    body = message.body_text()
    missing = [t for t in dict.fromkeys(targets) if f"@{t}" not in body]
    if not missing:
        return message
    suffix = " ".join(f"@{t}" for t in missing)
    if isinstance(message, TextMessage):
        return message.model_copy(update={"text": Text(content=f"{body}\n{suffix}")})
    if isinstance(message, MarkdownMessage):
        markdown = Markdown(title=message.markdown.title, text=f"{body}\n\n{suffix}")
        return message.model_copy(update={"markdown": markdown})
    if isinstance(message, ActionCardMessage):
        card = message.actionCard.model_copy(update={"text": f"{body}\n\n{suffix}"})
        return message.model_copy(update={"actionCard": card})
    return message


# -- one message of each type -----------------------------------------------------------------


def _text(
    content: str,
    mobiles: Sequence[str],
    user_ids: Sequence[str],
    at_all: bool,
    msg_uuid: str | None,
) -> TextMessage:
    return TextMessage(
        text=Text(content=content), at=_at(mobiles, user_ids, at_all), msgUuid=msg_uuid
    )


def _link(title: str, text: str, url: str, pic: str, msg_uuid: str | None) -> LinkMessage:
    return LinkMessage(
        link=Link(title=title, text=text, messageUrl=url, picUrl=pic), msgUuid=msg_uuid
    )


def _markdown(
    title: str,
    text: str,
    mobiles: Sequence[str],
    user_ids: Sequence[str],
    at_all: bool,
    msg_uuid: str | None,
) -> MarkdownMessage:
    return MarkdownMessage(
        markdown=Markdown(title=title, text=text),
        at=_at(mobiles, user_ids, at_all),
        msgUuid=msg_uuid,
    )


def _card(
    title: str,
    text: str,
    buttons: Sequence[ButtonSpec],
    orientation: Literal["0", "1"],
    hide_avatar: bool,
    mobiles: Sequence[str],
    user_ids: Sequence[str],
    at_all: bool,
    msg_uuid: str | None,
) -> ActionCardMessage:
    return ActionCardMessage(
        actionCard=_action_card(title, text, buttons, orientation, hide_avatar),
        at=_at(mobiles, user_ids, at_all),
        msgUuid=msg_uuid,
    )


def _feed(links: Sequence[FeedLinkSpec], msg_uuid: str | None) -> FeedCardMessage:
    return FeedCardMessage(
        feedCard=FeedCard(links=[_feed_link(x) for x in links]), msgUuid=msg_uuid
    )
