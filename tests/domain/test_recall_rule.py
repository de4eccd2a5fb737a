"""Who may recall a message, and when: one rule, shared by the API, the pages and the CLI."""

from __future__ import annotations

import dataclasses

import pytest

from gong.domain.errors import Conflict, Forbidden
from gong.domain.history import RECALL_WINDOW_MS, Actor, can_recall, recall_refusal
from gong.domain.models import SenderType, StoredMessage

POSTED = 1_800_000_000_000


def _message(sender_type: SenderType = SenderType.USER, user: int | None = 7) -> StoredMessage:
    return StoredMessage(
        id=1,
        group_id=1,
        robot_id=None if sender_type is SenderType.USER else 3,
        sender_type=sender_type,
        sender_user_id=user,
        sender_name="张三",
        msgtype="text",
        payload={},
        content={"msgtype": "text", "text": {"content": "x"}},
        mentions=[],
        at_all=False,
        unresolved=[],
        msg_uuid=None,
        created_at=POSTED,
    )


AUTHOR = Actor(7, False, "zhang")
OTHER = Actor(8, False, "li")
ADMIN = Actor(9, True, "root")


@pytest.mark.parametrize(
    ("message", "actor", "later", "refused"),
    [
        (_message(), AUTHOR, 0, None),
        (_message(), AUTHOR, RECALL_WINDOW_MS, None),  # the last moment of the window
        (_message(), AUTHOR, RECALL_WINDOW_MS + 1, Forbidden),
        (_message(), OTHER, 0, Forbidden),
        (_message(), ADMIN, 10 * RECALL_WINDOW_MS, None),  # admins: any message, any time
        (_message(SenderType.ROBOT, None), AUTHOR, 0, Forbidden),
        (_message(SenderType.ROBOT, None), ADMIN, 0, None),
        (_message(SenderType.ROBOT, None), Actor.admin("cli"), 0, None),
        (_message(SenderType.SYSTEM, None), Actor(None, False, "?"), 0, Forbidden),
        (dataclasses.replace(_message(), recalled_at=POSTED), ADMIN, 0, Conflict),
    ],
)
def test_recall_rule(
    message: StoredMessage, actor: Actor, later: int, refused: type[Exception] | None
) -> None:
    found = recall_refusal(message, actor, POSTED + later)
    assert (type(found) if found else None) is refused
    assert can_recall(message, actor, POSTED + later) is (refused is None)
