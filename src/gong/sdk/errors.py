"""What can go wrong when sending to a robot webhook, one exception class per cause.

DingTalk answers almost every failure with HTTP 200 and a non-zero ``errcode``; the SDK turns
each answer into the exception of its family, carrying ``errcode`` and ``errmsg`` (and the raw
body), so callers never mistake an HTTP 200 for success::

    RobotSendError                 base: .errcode (int | None), .errmsg, .raw, .retryable
    ├── TransportError             no DingTalk answer was received
    │   ├── NetworkError           connection failed or timed out (retried)
    │   └── HTTPStatusError        HTTP status other than 200 without a DingTalk body
    │                              (retried when 5xx)
    └── APIError                   the server answered errcode ≠ 0
        ├── SystemBusyError        -1 系统繁忙, 500100 (retried)
        ├── RateLimitedError       410100, 130101, 660026, 90030: over the limit, blocked
        │   └── PacerFullError     the client-side pacer refused (mode "raise"); errcode None
        ├── SecurityError          310000
        │   ├── SignatureError     signature wrong or missing, timestamp invalid or stale
        │   ├── KeywordError       no keyword of the robot in the message
        │   └── IPNotAllowedError  the caller's IP is not in the allow list
        ├── TokenError             40035 access_token missing, 300005 / 300001 / 400101 unknown
        ├── RobotUnavailableError  400102 disabled, 400013 group dissolved, 400106 not in group
        ├── InvalidMessageError    300001 msgtype, 400105, 400402, 40035 json, 43004, 43002
        │   └── MessageTooLargeError  460101, 101002; also raised before sending
        └── ContentRejectedError   430101–430104: content moderation

The codes come from :mod:`gong.protocol.errors`; :func:`error_for` is the one mapping.
"""

from __future__ import annotations

from gong.protocol.errors import DingTalkOnly, ErrorCode, Errors
from gong.protocol.messages import Message

__all__ = [
    "APIError",
    "ContentRejectedError",
    "HTTPStatusError",
    "IPNotAllowedError",
    "InvalidMessageError",
    "KeywordError",
    "MessageTooLargeError",
    "NetworkError",
    "PacerFullError",
    "RateLimitedError",
    "RobotSendError",
    "RobotUnavailableError",
    "SecurityError",
    "SignatureError",
    "SystemBusyError",
    "TokenError",
    "TransportError",
    "error_for",
]


class RobotSendError(Exception):
    """A send did not succeed; ``errcode``/``errmsg`` say why (``errcode`` None: no answer)."""

    #: Whether sending the same message again (same msgUuid) may succeed.
    retryable = False

    def __init__(self, errmsg: str, errcode: int | None = None, raw: str = "") -> None:
        super().__init__(f"{errcode}: {errmsg}" if errcode is not None else errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.raw = raw
        #: Messages a pacer held that this failed send carried and will not retry.
        self.unsent: tuple[Message, ...] = ()


class TransportError(RobotSendError):
    """The request got no DingTalk answer."""


class NetworkError(TransportError):
    """Connecting, sending or reading failed, or timed out."""

    retryable = True


class HTTPStatusError(TransportError):
    """An HTTP status other than 200 with a body that is not DingTalk's JSON answer."""

    def __init__(self, status: int, raw: str = "") -> None:
        super().__init__(f"HTTP {status}", None, raw)
        self.status = status
        self.retryable = status >= 500


class APIError(RobotSendError):
    """The server answered with a non-zero errcode."""

    errcode: int | None


class SystemBusyError(APIError):
    retryable = True


class RateLimitedError(APIError):
    """Over the robot's limit (20 a minute on DingTalk); DingTalk then blocks it for 10 minutes."""


class PacerFullError(RateLimitedError):
    """The client-side pacer has no free slot; ``retry_after`` seconds until one frees."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"client-side limit reached; a slot frees in {retry_after:.1f} s")
        self.retry_after = retry_after


class SecurityError(APIError):
    """One of the robot's security settings refused the call (errcode 310000)."""


class SignatureError(SecurityError):
    pass


class KeywordError(SecurityError):
    pass


class IPNotAllowedError(SecurityError):
    pass


class TokenError(APIError):
    """The access_token is missing or names no robot (a full URL pasted as token, a typo)."""


class RobotUnavailableError(APIError):
    pass


class InvalidMessageError(APIError):
    pass


class MessageTooLargeError(InvalidMessageError):
    pass


class ContentRejectedError(APIError):
    pass


_FAMILIES: tuple[tuple[type[APIError], tuple[ErrorCode, ...]], ...] = (
    (SystemBusyError, (Errors.SYSTEM_BUSY, DingTalkOnly.SERVER_ERROR)),
    (RateLimitedError, (Errors.RATE_LIMITED, DingTalkOnly.THROTTLED, DingTalkOnly.QUOTA)),
    (TokenError, (Errors.TOKEN_UNKNOWN, DingTalkOnly.TOKEN_NOT_FOUND)),
    (
        RobotUnavailableError,
        (Errors.ROBOT_DISABLED, Errors.GROUP_DISSOLVED, DingTalkOnly.ROBOT_NOT_FOUND),
    ),
    (
        InvalidMessageError,
        (
            Errors.NOT_POST,
            Errors.BAD_CONTENT_TYPE,
            Errors.MSGTYPE_UNKNOWN,
            Errors.FIELD_MISSING,
            Errors.PAYLOAD_INVALID,
        ),
    ),
    (SignatureError, (Errors.SOURCE_SIGNATURE,)),
    (MessageTooLargeError, (Errors.TOO_LARGE, DingTalkOnly.TOO_LONG_OLD)),
    (
        ContentRejectedError,
        (
            DingTalkOnly.UNSAFE_LINK,
            DingTalkOnly.UNSAFE_TEXT,
            DingTalkOnly.UNSAFE_IMAGE,
            DingTalkOnly.UNSAFE_CONTENT,
        ),
    ),
)

#: Codes that several causes share; the errmsg tells them apart.
_SECURITY = Errors.SIGN.code
_MISSING_PARAM = Errors.TOKEN_MISSING.code
_PARAM_ERROR = Errors.MSGTYPE_MISSING.code


def _by_code() -> dict[int, type[APIError]]:
    table: dict[int, type[APIError]] = {}
    for family, entries in _FAMILIES:
        for entry in entries:
            for code in (entry.code, entry.legacy_code):
                if code is not None and code not in (_SECURITY, _MISSING_PARAM, _PARAM_ERROR):
                    table[code] = family
    return table


_BY_CODE = _by_code()


def _security_family(errmsg: str) -> type[APIError]:
    lowered = errmsg.lower()
    if "关键词" in errmsg or "keyword" in lowered:
        return KeywordError
    if (
        "白名单" in errmsg
        or "whitelist" in lowered
        or lowered.startswith(("ip ", "description:ip"))
    ):
        return IPNotAllowedError
    return SignatureError


def error_for(errcode: int, errmsg: str, raw: str = "") -> APIError:
    """The exception for a non-zero answer: by errcode, and by errmsg where codes are shared."""
    family: type[APIError]
    if errcode == _SECURITY:
        family = _security_family(errmsg)
    elif errcode == _MISSING_PARAM:
        family = TokenError if "access_token" in errmsg else InvalidMessageError
    elif errcode == _PARAM_ERROR:
        lowered = errmsg.lower()
        family = TokenError if "token" in lowered or "session" in lowered else InvalidMessageError
    else:
        family = _BY_CODE.get(errcode, APIError)
    return family(errmsg, errcode, raw)
