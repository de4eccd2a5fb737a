"""A person posts a message into a group — the one step every way of posting goes through.

:func:`person_posts` stores and publishes the message (mentions resolved against the group's
members), marks it read for its author, and calls back, in the background, the group's robots
whose ``@name`` the text mentions and that have an outgoing URL (``gong.outgoing.callbacks``).
The web composer, the messages API and ``gong post`` all come here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gong.domain.errors import Invalid
from gong.domain.models import Group, Member, OutgoingCall, Robot
from gong.domain.users import User
from gong.outgoing.callbacks import PersonPost
from gong.protocol.messages import Message
from gong.runtime import Runtime
from gong.storage.inbox import Inbox

__all__ = ["Posted", "compose", "mentioned_robots", "person_posts"]


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
        {"msgtype": "markdown", "markdown": {"title": text[:40], "text": content}}
        if markdown
        else {"msgtype": "text", "text": {"content": content}}
    )
    if at["isAtAll"] or at["atMobiles"] or at["atUserIds"]:
        message["at"] = at
    return message


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
class Posted:
    message_id: int
    group_id: int
    #: The group's robots whose ``@name`` appears in the message.
    robots: list[Robot] = field(default_factory=list)
    #: The outgoing callbacks started for it, running in the background.
    callbacks: list[asyncio.Task[OutgoingCall | None]] = field(default_factory=list)


async def person_posts(
    runtime: Runtime,
    inbox: Inbox,
    *,
    user: User,
    group: Group,
    member: Member | None,
    message: Message,
) -> Posted:
    """Store and publish ``message`` from ``user`` (shown as their member's name in the group),
    then start the callbacks of the outgoing robots it @-mentions.

    Raises:
        Invalid: the group is dissolved.
    """
    if group.dissolved:
        raise Invalid(f"group {group.id} is dissolved; nobody can post in it")
    members = await runtime.repository.list_members(group.id)
    created_at = runtime.clock.now_ms()
    result = await runtime.hub.post_as_user(
        group_id=group.id,
        user_id=user.id,
        name=member.name if member is not None else user.username,
        message=message,
        members=members,
        created_at=created_at,
    )
    if result.message_id is None:  # pragma: no cover - people's messages carry no msgUuid
        raise Invalid("the message was not stored")
    await inbox.mark_read(user.id, group.id, result.message_id)
    text = message.body_text()
    robots = mentioned_robots(text, await runtime.repository.list_robots(group.id))
    post = PersonPost(
        message_id=result.message_id,
        created_at=created_at,
        group=group,
        user=user,
        member=member,
        message=message,
        members=members,
    )
    callbacks = runtime.callbacks.start(post, robots)
    return Posted(
        message_id=result.message_id, group_id=group.id, robots=robots, callbacks=callbacks
    )
