"""A custom robot's message through the checks of ``/robot/send``, and the robot page's test
message, which goes the same way.

:func:`send_custom` is what ``/robot/send`` does with a custom robot's parsed message: check the
robot's security (IP allow list, signature, keywords, in DingTalk's order), then rate-limit, store
and publish it through the :class:`~gong.domain.service.Hub`. :func:`send_test` composes a test
message (:func:`compose_test_message`: with the robot's first keyword when it has keywords),
signs it with the robot's secret, and sends it through :func:`send_custom` from the address of
the person who asked, so an allow list that leaves them out refuses it, as it would refuse their
own call. The answer is DingTalk's: ``errcode`` and ``errmsg``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from gong.domain.admission import admit
from gong.domain.models import RobotView
from gong.domain.ports import StoreResult
from gong.domain.service import Hub
from gong.protocol.errors import RobotError
from gong.protocol.messages import Message, parse_message
from gong.protocol.security import check
from gong.protocol.signing import sign

__all__ = ["Answer", "compose_test_message", "send_custom", "send_test"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What ``/robot/send`` answered: ``errcode`` 0 and ``ok``, or a refusal."""

    errcode: int
    errmsg: str

    @property
    def ok(self) -> bool:
        return self.errcode == 0


async def send_custom(
    hub: Hub,
    view: RobotView,
    message: Message,
    payload: str,
    *,
    ip: str,
    timestamp: str | None,
    signature: str | None,
) -> StoreResult:
    """Check a custom robot's message against its security settings, then accept it.

    Raises:
        RobotError: 310000 (IP, signature or keyword), 410100 past the rate limit.
    """
    check(
        view.security,
        message,
        ip=ip,
        timestamp=timestamp,
        sign=signature,
        now_ms=hub.clock.now_ms(),
    )
    return await hub.accept_from_robot(view, message, payload)


def compose_test_message(keywords: Sequence[str], text: str) -> Message:
    """A text message saying ``text``, led by the robot's first keyword when it has keywords
    and ``text`` holds none of them (so the keyword check passes, as a sender's would)."""
    content = text
    if keywords and not any(keyword in text for keyword in keywords):
        content = f"{keywords[0]} {text}"
    return parse_message({"msgtype": "text", "text": {"content": content}})


async def send_test(hub: Hub, view: RobotView, *, text: str, ip: str) -> Answer:
    """Send a test message as the robot, from ``ip``, signed with the robot's secret when it
    signs; a refusal is recorded like any refused call.

    Returns:
        The answer ``/robot/send`` would give.
    """
    robot = view.robot
    message = compose_test_message(robot.keywords, text)
    payload = orjson.dumps(message.to_wire()).decode()
    timestamp = signature = None
    if robot.secret:
        timestamp = str(hub.clock.now_ms())
        signature = sign(robot.secret, timestamp)
    try:
        admit(view.group, robot)
        await send_custom(
            hub, view, message, payload, ip=ip, timestamp=timestamp, signature=signature
        )
    except RobotError as error:
        hub.refuse(view, error, ip, timestamp=timestamp, sign=signature)
        return Answer(error.errcode(hub.dialect), error.errmsg(hub.dialect))
    return Answer(0, "ok")
