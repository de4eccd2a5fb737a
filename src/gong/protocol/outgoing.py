"""DingTalk's Outgoing callback (被@时回调): the JSON Gong posts to a robot's service when a
person @-mentions it, the headers that prove it comes from Gong, and the answer it accepts.

Pure and I/O-free. Ids in the callback are opaque, stable values derived from Gong's ids with a
key (:class:`OpaqueIds`), shaped like DingTalk's (``cid…``, ``$:LWCP_v1:$…``, ``msg…``), so a
bot can use them as keys without learning Gong's row ids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson

from gong.protocol.errors import Dialect, RobotError
from gong.protocol.messages import Message, parse_message
from gong.protocol.signing import sign

__all__ = [
    "ANSWER_TYPES",
    "SESSION_TTL_MS",
    "AnswerInvalid",
    "OpaqueIds",
    "callback_body",
    "callback_headers",
    "parse_answer",
    "strip_mention",
]

#: How long a sessionWebhook accepts answers: 90 minutes, as DingTalk's samples show.
SESSION_TTL_MS = 90 * 60 * 1000
#: What a callback's HTTP answer may be (DingTalk: text, markdown, both actionCards, feedCard).
ANSWER_TYPES = frozenset({"text", "markdown", "actionCard", "feedCard"})


class AnswerInvalid(Exception):
    """The robot's service answered something that is not a message Gong can post."""


@dataclass(frozen=True, slots=True)
class OpaqueIds:
    """Stable ids for the callback, derived from Gong's ids with a secret ``key``."""

    key: bytes

    def _digest(self, kind: str, value: int, size: int) -> str:
        mac = hmac.digest(self.key, f"{kind}:{value}".encode(), hashlib.sha256)
        return base64.b64encode(mac[:size]).decode("ascii")

    def conversation(self, group_id: int) -> str:
        return "cid" + self._digest("group", group_id, 16)

    def user(self, user_id: int) -> str:
        return "$:LWCP_v1:$" + self._digest("user", user_id, 24)

    def member(self, member_id: int) -> str:
        return "$:LWCP_v1:$" + self._digest("member", member_id, 24)

    def robot(self, robot_id: int) -> str:
        return "$:LWCP_v1:$" + self._digest("robot", robot_id, 24)

    def message(self, message_id: int) -> str:
        return "msg" + self._digest("message", message_id, 16)


def strip_mention(text: str, robot_name: str) -> str:
    """The text without the first ``@robot_name``, as DingTalk sends it: ``"@bot ping"`` gives
    ``" ping"`` (the space after the mention stays)."""
    return text.replace(f"@{robot_name}", "", 1)


def callback_body(
    *,
    content: str,
    msg_id: str,
    create_at: int,
    conversation_id: str,
    conversation_title: str,
    sender_id: str,
    sender_nick: str,
    sender_staff_id: str,
    chatbot_user_id: str,
    at_users: list[dict[str, str]],
    is_admin: bool,
    session_webhook: str,
    session_expires_at: int,
) -> dict[str, Any]:
    """The callback JSON of a group message (``conversationType`` ``"2"``), keys in the order of
    DingTalk's own samples."""
    return {
        "conversationId": conversation_id,
        "atUsers": at_users,
        "chatbotUserId": chatbot_user_id,
        "msgId": msg_id,
        "senderNick": sender_nick,
        "isAdmin": is_admin,
        "senderStaffId": sender_staff_id,
        "sessionWebhookExpiredTime": session_expires_at,
        "createAt": create_at,
        "conversationType": "2",
        "senderId": sender_id,
        "conversationTitle": conversation_title,
        "isInAtList": True,
        "sessionWebhook": session_webhook,
        "text": {"content": content},
        "msgtype": "text",
    }


def callback_headers(token: str, secret: str | None, timestamp_ms: int) -> dict[str, str]:
    """``token`` always; with a signing secret also ``timestamp`` and ``sign`` (Base64 of
    HMAC-SHA256 over ``timestamp + "\\n" + secret``, not URL-encoded — DingTalk's app-robot
    scheme)."""
    headers = {"Content-Type": "application/json; charset=utf-8", "token": token}
    if secret:
        headers["timestamp"] = str(timestamp_ms)
        headers["sign"] = sign(secret, timestamp_ms)
    return headers


def parse_answer(raw: bytes) -> tuple[Message | None, str]:
    """The message a callback's answer asks Gong to post, and its JSON text.

    An empty body or ``{"msgtype":"empty"}`` posts nothing (None).

    Raises:
        AnswerInvalid: not JSON, not an object, a type that cannot answer, or a message
            DingTalk would refuse (its errmsg is in the text).
    """
    if not raw.strip():
        return None, ""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AnswerInvalid("the answer is not JSON") from None
    if not isinstance(body, dict):
        raise AnswerInvalid("the answer is not a JSON object")
    msgtype = body.get("msgtype")
    if msgtype == "empty":
        return None, ""
    if isinstance(msgtype, str) and msgtype and msgtype not in ANSWER_TYPES:
        raise AnswerInvalid(
            f"msgtype {msgtype[:40]!r} cannot answer a callback "
            "(text, markdown, actionCard, feedCard or empty)"
        )
    try:
        message = parse_message(body)
    except RobotError as exc:
        raise AnswerInvalid(
            f"the answer is not a valid message: {exc.errmsg(Dialect.MODERN)}"
        ) from None
    return message, raw.decode("utf-8", "replace")
