"""A person posts a message into a group: the one way every kind of posting goes.

:meth:`Posting.post` admits the post (:func:`~gong.domain.admission.admit_person`), stores and
publishes it through the :class:`~gong.domain.service.Hub` (mentions resolved against the
group's members), marks it read for its author, and starts, in the background, the callbacks of
the group's robots whose ``@name`` the text mentions. The web composer, the messages API and
``gong post`` all come here. :func:`person_message` holds the rules for what people may post.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from gong.clock import Clock
from gong.domain.admission import admit_person
from gong.domain.errors import Invalid
from gong.domain.markdown import plain_title
from gong.domain.models import Group, Member, OutgoingCall, Robot
from gong.domain.ports import GroupStore, RobotStore
from gong.domain.service import Hub
from gong.domain.users import User
from gong.i18n import core
from gong.protocol.errors import Dialect, RobotError
from gong.protocol.limits import MAX_BODY_BYTES
from gong.protocol.messages import Message, parse_message

__all__ = [
    "PEOPLE_TYPES",
    "CallbackStarter",
    "PersonPost",
    "Posted",
    "Posting",
    "ReadMarks",
    "compose",
    "mentioned_robots",
    "person_message",
]

#: The message types people post (robots post every type).
PEOPLE_TYPES = frozenset({"text", "markdown"})


def compose(text: str, members: list[Member], *, markdown: bool = False) -> dict[str, Any]:
    """A person's message as the web composer builds it: ``@name`` of a member becomes
    ``@<userId or mobile>`` plus ``at.atUserIds``/``atMobiles``; ``@all`` sets ``isAtAll``."""
    at: dict[str, Any] = {"atMobiles": [], "atUserIds": [], "isAtAll": False}
    content = text
    for member in sorted(members, key=lambda m: len(m.name), reverse=True):
        label = f"@{member.name}"
        target = member.user_id or member.mobile
        if not target or label not in content:
            continue
        content = content.replace(label, f"@{target}")
        if member.user_id:
            at["atUserIds"].append(member.user_id)
        else:
            at["atMobiles"].append(member.mobile)
    if "@all" in text:
        at["isAtAll"] = True
    message: dict[str, Any] = (
        {"msgtype": "markdown", "markdown": {"title": plain_title(text), "text": content}}
        if markdown
        else {"msgtype": "text", "text": {"content": content}}
    )
    if at["isAtAll"] or at["atMobiles"] or at["atUserIds"]:
        message["at"] = at
    return message


def person_message(raw: bytes) -> Message:
    """A person's message from its JSON body, in DingTalk's shape (with ``at``).

    Raises:
        Invalid: too large, not JSON, not ``text`` or ``markdown``, or not a valid message.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise Invalid(core.lazy("a message is at most %(most)s bytes", most=MAX_BODY_BYTES))
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid(core.lazy("the body is not JSON")) from None
    if not isinstance(body, dict) or body.get("msgtype") not in PEOPLE_TYPES:
        raise Invalid(core.lazy('people post "text" or "markdown" messages'))
    _title_markdown(body)
    try:
        return parse_message(body)
    except RobotError as exc:
        raise Invalid(exc.errmsg(Dialect.MODERN)) from None


def _title_markdown(body: dict[str, Any]) -> None:
    """A person's markdown without a title (the web composer sends none) gets its first line's
    words as the title (:func:`~gong.domain.markdown.plain_title`), which the list shows."""
    markdown = body.get("markdown")
    if body.get("msgtype") != "markdown" or not isinstance(markdown, dict):
        return
    title, text = markdown.get("title"), markdown.get("text")
    if (title is None or (isinstance(title, str) and not title.strip())) and isinstance(text, str):
        body["markdown"] = {**markdown, "title": plain_title(text)}


def mentioned_robots(text: str, robots: list[Robot]) -> list[Robot]:
    """The robots whose ``@name`` appears in ``text``; where names overlap at one ``@`` (``@deploy``
    and ``@deploy-bot``), the longest name is the one mentioned there."""
    winners: dict[int, Robot] = {}
    for robot in robots:
        needle = f"@{robot.name}"
        start = text.find(needle)
        while start >= 0:
            current = winners.get(start)
            if current is None or len(robot.name) > len(current.name):
                winners[start] = robot
            start = text.find(needle, start + 1)
    found = {r.id for r in winners.values()}
    return [r for r in robots if r.id in found]


@dataclass(frozen=True, slots=True)
class PersonPost:
    """A person's stored message, as the callbacks need it."""

    message_id: int
    created_at: int
    group: Group
    user: User
    member: Member | None
    message: Message
    members: list[Member] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Posted:
    message_id: int
    group_id: int
    #: The group's robots whose ``@name`` appears in the message.
    robots: list[Robot] = field(default_factory=list)
    #: The outgoing callbacks started for it, running in the background.
    callbacks: list[asyncio.Task[OutgoingCall | None]] = field(default_factory=list)


class ReadMarks(Protocol):
    async def mark_read(self, user_id: int, group_id: int, message_id: int) -> None:
        """Everything up to ``message_id`` is read by the account; never moves backwards."""
        ...


class CallbackStarter(Protocol):
    def start(
        self, post: PersonPost, robots: list[Robot]
    ) -> list[asyncio.Task[OutgoingCall | None]]:
        """Call back, in the background, each robot that is enabled and has an outgoing URL."""
        ...


@dataclass(slots=True)
class Posting:
    hub: Hub
    groups: GroupStore
    robots: RobotStore
    read_marks: ReadMarks
    callbacks: CallbackStarter
    clock: Clock

    async def post(
        self, *, user: User, group: Group, member: Member | None, message: Message
    ) -> Posted:
        """Store and publish ``message`` from ``user`` (shown as their member's name in the
        group), then start the callbacks of the outgoing robots it @-mentions.

        Raises:
            Invalid: the group is dissolved.
        """
        admit_person(group)
        members = await self.groups.list_members(group.id)
        created_at = self.clock.now_ms()
        result = await self.hub.post_as_user(
            group_id=group.id,
            user_id=user.id,
            name=member.name if member is not None else user.username,
            message=message,
            members=members,
            created_at=created_at,
        )
        if result.message_id is None:  # pragma: no cover - people's messages carry no msgUuid
            raise Invalid(core.lazy("the message was not stored"))
        await self.read_marks.mark_read(user.id, group.id, result.message_id)
        robots = mentioned_robots(message.body_text(), await self.robots.list_robots(group.id))
        post = PersonPost(
            message_id=result.message_id,
            created_at=created_at,
            group=group,
            user=user,
            member=member,
            message=message,
            members=members,
        )
        callbacks = self.callbacks.start(post, robots)
        return Posted(
            message_id=result.message_id, group_id=group.id, robots=robots, callbacks=callbacks
        )
