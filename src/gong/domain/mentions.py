"""Who a message @-mentions, resolved against the group's members as DingTalk does.

``atMobiles`` and ``atUserIds`` name members; a mention is highlighted in a ``text`` message only
when ``@<mobile>`` / ``@<userId>`` also appears in the text. Numbers that are not members'
are kept apart and shown masked (``138****8000``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gong.domain.models import Member, Mention
from gong.protocol.limits import MAX_AT_TARGETS
from gong.protocol.messages import Message

__all__ = ["Resolved", "mask_mobile", "resolve"]


@dataclass(slots=True)
class Resolved:
    mentions: list[Mention] = field(default_factory=list)
    at_all: bool = False
    unresolved: list[str] = field(default_factory=list)


def mask_mobile(mobile: str) -> str:
    """``13812348000`` → ``138****8000``; short values keep only their first character."""
    if len(mobile) >= 7:
        return mobile[:3] + "****" + mobile[-4:]
    return mobile[:1] + "*" * (len(mobile) - 1)


def resolve(
    message: Message,
    members_by_mobile: dict[str, Member],
    members_by_user_id: dict[str, Member],
) -> Resolved:
    """Resolve a message's ``at`` (at most 50 targets are honoured, as on DingTalk)."""
    if message.at is None or not message.can_mention:
        return Resolved()
    at = message.at
    result = Resolved(at_all=at.isAtAll)
    if not (at.atMobiles or at.atUserIds):
        return result
    text = message.body_text()
    seen: set[int] = set()
    targets = [("mobile", v) for v in at.atMobiles] + [("userId", v) for v in at.atUserIds]
    for via, value in targets[:MAX_AT_TARGETS]:
        value = value.strip()
        index = members_by_mobile if via == "mobile" else members_by_user_id
        member = index.get(value)
        if member is None:
            if via == "mobile" and value not in result.unresolved:
                result.unresolved.append(value)
            continue
        if member.id in seen:
            continue
        seen.add(member.id)
        result.mentions.append(
            Mention(
                member_id=member.id,
                name=member.name,
                via=via,
                value=value,
                in_text=f"@{value}" in text,
            )
        )
    return result
