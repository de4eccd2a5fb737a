"""A person posts a message into a group — the one step every way of posting goes through.

:func:`person_posts` stores and publishes the message (mentions resolved against the group's
members), marks it read for its author, and reports which of the group's robots the text
@-mentions by name, so features that act on a person's message (outgoing robot callbacks) extend
this one function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gong.domain.errors import Invalid
from gong.domain.models import Group, Member, Robot
from gong.domain.users import User
from gong.protocol.messages import Message
from gong.runtime import Runtime
from gong.storage.inbox import Inbox

__all__ = ["Posted", "person_posts"]


@dataclass(frozen=True, slots=True)
class Posted:
    message_id: int
    group_id: int
    #: The group's robots whose ``@name`` appears in the message.
    robots: list[Robot] = field(default_factory=list)


async def person_posts(
    runtime: Runtime,
    inbox: Inbox,
    *,
    user: User,
    group: Group,
    member: Member | None,
    message: Message,
) -> Posted:
    """Store and publish ``message`` from ``user`` (shown as their member's name in the group).

    Raises:
        Invalid: the group is dissolved.
    """
    if group.dissolved:
        raise Invalid(f"group {group.id} is dissolved; nobody can post in it")
    members = await runtime.repository.list_members(group.id)
    result = await runtime.hub.post_as_user(
        group_id=group.id,
        user_id=user.id,
        name=member.name if member is not None else user.username,
        message=message,
        members=members,
    )
    if result.message_id is None:  # pragma: no cover - people's messages carry no msgUuid
        raise Invalid("the message was not stored")
    await inbox.mark_read(user.id, group.id, result.message_id)
    text = message.body_text()
    robots = [r for r in await runtime.repository.list_robots(group.id) if f"@{r.name}" in text]
    return Posted(message_id=result.message_id, group_id=group.id, robots=robots)
