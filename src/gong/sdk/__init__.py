"""Gong's Python SDK: a correct client for DingTalk custom robots and Gong robots alike.

Needs only httpx and :mod:`gong.protocol`; imports nothing of the server::

    from gong.sdk import Robot

    with Robot("https://oapi.dingtalk.com/robot/send?access_token=…", secret="SEC…") as robot:
        robot.send_text("deploy done @13800000001", at_mobiles=["13800000001"])
"""

from gong.protocol.messages import (
    ActionCardButton,
    ActionCardMessage,
    At,
    FeedCardLink,
    FeedCardMessage,
    LinkMessage,
    MarkdownMessage,
    Message,
    TextMessage,
)
from gong.sdk.aio import AsyncRobot
from gong.sdk.base import SendResult
from gong.sdk.errors import (
    APIError,
    ContentRejectedError,
    HTTPStatusError,
    InvalidMessageError,
    IPNotAllowedError,
    KeywordError,
    MessageTooLargeError,
    NetworkError,
    PacerFullError,
    RateLimitedError,
    RobotSendError,
    RobotUnavailableError,
    SecurityError,
    SignatureError,
    SystemBusyError,
    TokenError,
    TransportError,
    error_for,
)
from gong.sdk.messages import with_mentions
from gong.sdk.pacer import Pacer
from gong.sdk.sync import Robot

__all__ = [
    "APIError",
    "ActionCardButton",
    "ActionCardMessage",
    "AsyncRobot",
    "At",
    "ContentRejectedError",
    "FeedCardLink",
    "FeedCardMessage",
    "HTTPStatusError",
    "IPNotAllowedError",
    "InvalidMessageError",
    "KeywordError",
    "LinkMessage",
    "MarkdownMessage",
    "Message",
    "MessageTooLargeError",
    "NetworkError",
    "Pacer",
    "PacerFullError",
    "RateLimitedError",
    "Robot",
    "RobotSendError",
    "RobotUnavailableError",
    "SecurityError",
    "SendResult",
    "SignatureError",
    "SystemBusyError",
    "TextMessage",
    "TokenError",
    "TransportError",
    "error_for",
    "with_mentions",
]
