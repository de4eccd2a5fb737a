"""The errcode catalogue of DingTalk's custom robot API, as Gong answers it.

Every answer of ``/robot/send`` is HTTP 200 with a compact JSON body whose first key is ``errcode``
(a JSON number). The table below is the contract; each row is one :class:`ErrorCode` entry and
handlers raise :class:`RobotError` with it. One place (:func:`render`) turns an error into bytes.

======================================  =================  =========================================
case                                    errcode            errmsg (modern; legacy where it differs)
======================================  =================  =========================================
success                                 0                  ``ok``
system busy (storage unavailable)       -1                 ``系统繁忙``
not POST                                43002              ``需要POST请求``
access_token missing or empty           40035              ``缺少参数 access_token``
unknown token                           300005 (300001)    ``token is not exist``
robot disabled                          400102             ``机器人已停用``
group dissolved                         400013             ``群已被解散``
bad Content-Type                        43004              ``无效的HTTP HEADER Content-Type``
body not JSON, empty, not an object     40035              ``缺少参数 json``
body not sent within GONG_BODY_TIMEOUT  40035              ``缺少参数 json`` (connection closed)
msgtype missing                         300001             ``msgtype is null``
msgtype unknown                         400105             ``不支持的消息类型``
required field missing or malformed     400402             ``错误描述:参数 X --》 Y 缺失，…``
field Gong cannot store (see below)     400402             ``错误描述:参数 X 格式不正确，…``
message the database refused            400402             ``错误描述:消息无法保存，…``
body larger than 20000 bytes            460101             ``description: body 大小不合法;…``
keyword missing                         310000             ``description:关键词不匹配;…``
timestamp invalid or off by > 1 h       310000             ``description:timestamp 无效;…``
signature wrong or missing              310000             ``description:机器人发送签名不匹配;…``
caller IP not allowed                   310000             ``description:ip 不在白名单中;…``
over the rate limit, or blocked         410100 (130101)    ``发送速度太快而限流``
session webhook unknown or expired      300001             ``session 不存在``
======================================  =================  =========================================

A field Gong cannot store is refused before anything is written, the same way on every database
(:func:`field_invalid`): a ``msgUuid`` longer than its column or holding U+0000 (PostgreSQL text
cannot hold it), and any string with a lone UTF-16 surrogate (not Unicode text; no database
driver can encode it). A message the database still refuses (a constraint, a value no check
foresaw) is answered ``message_unstorable``; neither is ``-1``, which tells clients to retry a
message that would fail the same way forever. Both use DingTalk's "参数格式不正确" code 400402 in
both dialects; the legacy dialect words them after old DingTalk's ``param error``.

A body that does not arrive within ``GONG_BODY_TIMEOUT`` seconds is answered like a missing
body, which every DingTalk client already handles, but under its own name ``body_timeout`` (in
logs, metrics and a robot's refused calls); the connection is then closed, since the rest of the
body was never read.

Gong-only answers for integration robots use the same envelope with codes DingTalk never sends
(``400401`` payload not what the robot's kind expects; ``310001`` source signature wrong), and an
event an integration robot does not show is answered ``errcode`` 0 with an ``errmsg`` that says
why (:func:`render_ignored`). Integration robots answer refusals with a 4xx HTTP status, because
their senders (GitHub, GitLab, …) count only non-2xx answers as failed deliveries.

:class:`DingTalkOnly` lists the codes real DingTalk sends that Gong never answers (newer throttle
and quota codes, content moderation, server errors); clients of both (the SDK, the relay) need
them to classify answers.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Dialect",
    "DingTalkOnly",
    "ErrorCode",
    "Errors",
    "FieldProblem",
    "RobotError",
    "field_invalid",
    "field_missing",
    "ip_not_allowed",
    "render",
    "render_ignored",
    "render_ok",
]


class Dialect(enum.StrEnum):
    """Which generation of DingTalk's wording the robot API speaks."""

    MODERN = "modern"
    LEGACY = "legacy"


_SIGN_LINK = (
    "link:请参考本接口对应文档获得具体要求，"
    "或者在https://open.dingtalk.com/document/  搜索相关文档;"
)
_FIELD_SOLUTION = (
    " 解决方案:请填充上对应参数;参考链接:请参考本接口对应文档查看参数获取方式，"
    "或者在https://open.dingtalk.com/document/  搜索对应文档;"
)


_FIELD_FIX = (
    " 解决方案:请修正对应参数;参考链接:请参考本接口对应文档查看参数要求，"
    "或者在https://open.dingtalk.com/document/  搜索对应文档;"
)


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One row of the catalogue: a stable name, the code and message in each dialect."""

    name: str
    code: int
    message: str
    legacy_code: int | None = None
    legacy_message: str | None = None
    description: str = ""

    def code_for(self, dialect: Dialect) -> int:
        if dialect is Dialect.LEGACY and self.legacy_code is not None:
            return self.legacy_code
        return self.code

    def message_for(self, dialect: Dialect) -> str:
        if dialect is Dialect.LEGACY and self.legacy_message is not None:
            return self.legacy_message
        return self.message


class Errors:
    """The catalogue. Attribute names are the stable names used in logs and metrics."""

    OK = ErrorCode("ok", 0, "ok", description="accepted and stored")
    SYSTEM_BUSY = ErrorCode(
        "system_busy", -1, "系统繁忙", description="storage unavailable; retry later"
    )
    NOT_POST = ErrorCode("not_post", 43002, "需要POST请求", description="the method is not POST")
    TOKEN_MISSING = ErrorCode(
        "token_missing", 40035, "缺少参数 access_token", description="no access_token"
    )
    TOKEN_UNKNOWN = ErrorCode(
        "token_unknown",
        300005,
        "token is not exist",
        legacy_code=300001,
        description="no robot has this access_token",
    )
    ROBOT_DISABLED = ErrorCode(
        "robot_disabled", 400102, "机器人已停用", description="the robot is disabled"
    )
    GROUP_DISSOLVED = ErrorCode(
        "group_dissolved", 400013, "群已被解散", description="the robot's group was dissolved"
    )
    BAD_CONTENT_TYPE = ErrorCode(
        "bad_content_type",
        43004,
        "无效的HTTP HEADER Content-Type",
        description="Content-Type is not application/json",
    )
    JSON_MISSING = ErrorCode(
        "json_missing",
        40035,
        "缺少参数 json",
        description="the body is empty, not UTF-8 JSON, or not a JSON object",
    )
    BODY_TIMEOUT = ErrorCode(
        "body_timeout",
        40035,
        "缺少参数 json",
        description="the body did not arrive within GONG_BODY_TIMEOUT; the connection is closed",
    )
    MSGTYPE_MISSING = ErrorCode(
        "msgtype_missing", 300001, "msgtype is null", description="no msgtype in the body"
    )
    MSGTYPE_UNKNOWN = ErrorCode(
        "msgtype_unknown", 400105, "不支持的消息类型", description="msgtype is not supported"
    )
    FIELD_MISSING = ErrorCode(
        "field_missing",
        400402,
        "错误描述:参数 {field} 缺失，或者参数格式不正确;" + _FIELD_SOLUTION,
        description="a required field is missing or has the wrong type",
    )
    FIELD_INVALID = ErrorCode(
        "field_invalid",
        400402,
        "错误描述:参数 {field} 格式不正确，{detail};" + _FIELD_FIX,
        legacy_message="param error: {field} {reason}",
        description="a field Gong cannot store: msgUuid too long or with U+0000, a lone surrogate",
    )
    MESSAGE_UNSTORABLE = ErrorCode(
        "message_unstorable",
        400402,
        "错误描述:消息无法保存，参数格式不正确;" + _FIELD_FIX,
        legacy_message="param error: the message cannot be stored",
        description="the database refused to store the message; resending it cannot succeed",
    )
    TOO_LARGE = ErrorCode(
        "too_large",
        460101,
        "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;",
        legacy_message="message too long, exceed 20000 bytes",
        description="the body is larger than 20000 bytes",
    )
    KEYWORD = ErrorCode(
        "keyword",
        310000,
        "description:关键词不匹配;solution:请联系群管理员查看此机器人的关键词，并在发送的信息中包含此关键词;",
        legacy_message="keywords not in content",
        description="the message contains none of the robot's keywords",
    )
    TIMESTAMP = ErrorCode(
        "timestamp",
        310000,
        "description:timestamp 无效;"
        "solution:请确认timestamp是毫秒级时间戳，且与当前时间相差不超过1小时;",
        legacy_message="invalid timestamp",
        description="timestamp is not a number of milliseconds",
    )
    TIMESTAMP_EXPIRED = ErrorCode(
        "timestamp_expired",
        310000,
        # As real DingTalk sends it, with "timestampms" left unfilled.
        "description:机器人发送签名过期;solution:签名生成时间和发送时间请保持在 timestampms 以内;",
        legacy_message="invalid timestamp",
        description="timestamp is more than one hour before or after the server's clock",
    )
    SIGN = ErrorCode(
        "sign",
        310000,
        "description:机器人发送签名不匹配;solution:请确认签名和生成签名的时间戳必须都放在调用的网址中，"
        "请确认机器人的密钥加密和填写正确;" + _SIGN_LINK,
        legacy_message="sign not match",
        description="the signature is missing or wrong",
    )
    IP = ErrorCode(
        "ip",
        310000,
        "description:ip 不在白名单中;solution:请联系对应群的管理员，设置机器人安全ip地址段;",
        legacy_message="ip {ip} not in whitelist",
        description="the caller's IP address is not in the robot's allow list",
    )
    RATE_LIMITED = ErrorCode(
        "rate_limited",
        410100,
        "发送速度太快而限流",
        legacy_code=130101,
        legacy_message="send too fast, exceed 20 times per minute",
        description="more than the robot's limit in its window, or blocked",
    )
    SESSION_UNKNOWN = ErrorCode(
        "session_unknown",
        300001,
        "session 不存在",
        description="the sessionWebhook is unknown or expired",
    )
    # Gong's own codes, for integration robots.
    PAYLOAD_INVALID = ErrorCode(
        "payload_invalid",
        400401,
        "错误描述:{detail};解决方案:请确认此机器人的类型与发送方一致;",
        description="the body is not what the robot's kind expects",
    )
    SOURCE_SIGNATURE = ErrorCode(
        "source_signature",
        310001,
        "description:{detail};solution:请确认发送方配置的密钥与机器人的来源密钥一致;",
        description="the source's own signature or token is missing or wrong",
    )

    @classmethod
    def all(cls) -> list[ErrorCode]:
        return [v for v in vars(cls).values() if isinstance(v, ErrorCode)]


class DingTalkOnly:
    """Answers of real DingTalk that Gong itself never gives, as seen on the wire."""

    THROTTLED = ErrorCode(
        "throttled",
        660026,
        "sending too many messages per minute",
        description="rate limited (newer wording)",
    )
    QUOTA = ErrorCode(
        "quota", 90030, "webhook over limit", description="the webhook's call quota is used up"
    )
    SERVER_ERROR = ErrorCode(
        "server_error",
        500100,
        "description:系统异常，请稍后再试;",
        description="transient server error",
    )
    TOKEN_NOT_FOUND = ErrorCode(
        "token_not_found", 400101, "access_token不存在", description="documented unknown token"
    )
    ROBOT_NOT_FOUND = ErrorCode(
        "robot_not_found", 400106, "机器人不存在", description="the robot is not in the group"
    )
    TOO_LONG_OLD = ErrorCode(
        "too_long_old", 101002, "message is too long", description="body too large (old code)"
    )
    UNSAFE_LINK = ErrorCode("unsafe_link", 430101, "含有不安全的外链")
    UNSAFE_TEXT = ErrorCode("unsafe_text", 430102, "含有不合适的文本")
    UNSAFE_IMAGE = ErrorCode("unsafe_image", 430103, "含有不合适的图片")
    UNSAFE_CONTENT = ErrorCode("unsafe_content", 430104, "含有不合适的内容")

    @classmethod
    def all(cls) -> list[ErrorCode]:
        return [v for v in vars(cls).values() if isinstance(v, ErrorCode)]


class RateLimitAnswer(enum.StrEnum):
    """How a rate-limited call is answered (``GONG_RATE_LIMIT_ANSWER``)."""

    #: ``410100 发送速度太快而限流``, as documented (``130101`` in the legacy dialect).
    DOCUMENTED = "410100"
    #: ``130101 send too fast, exceed 20 times per minute``, as DingTalk sent it until 2022.
    LEGACY = "130101"
    #: ``660026 sending too many messages per minute``, as DingTalk was seen sending in 2026.
    OBSERVED = "660026"


_RATE_LIMITED_LEGACY = ErrorCode(
    "rate_limited",
    130101,
    "send too fast, exceed 20 times per minute",
    description="more than the robot's limit in its window, or blocked (legacy answer)",
)
_RATE_LIMITED_OBSERVED = ErrorCode(
    "rate_limited",
    660026,
    "sending too many messages per minute",
    description="more than the robot's limit in its window, or blocked (as observed in 2026)",
)


def rate_limited(answer: RateLimitAnswer) -> ErrorCode:
    """The refusal a rate-limited call gets; its name is ``rate_limited`` whatever the answer."""
    if answer is RateLimitAnswer.LEGACY:
        return _RATE_LIMITED_LEGACY
    if answer is RateLimitAnswer.OBSERVED:
        return _RATE_LIMITED_OBSERVED
    return Errors.RATE_LIMITED


class RobotError(Exception):
    """A refusal of the robot API: an entry of the catalogue plus its filled-in details."""

    def __init__(self, error: ErrorCode, **params: str) -> None:
        super().__init__(error.name)
        self.error = error
        self.params = params
        #: HTTP status of the answer: 200 as on DingTalk; 4xx for integration senders.
        self.status = 200

    def errcode(self, dialect: Dialect) -> int:
        return self.error.code_for(dialect)

    def errmsg(self, dialect: Dialect) -> str:
        message = self.error.message_for(dialect)
        return message.format(**self.params) if self.params else message


def field_missing(*path: str | int) -> RobotError:
    """The 400402 refusal naming a field: ``("markdown", "title")`` → ``markdown --》 title``."""
    return RobotError(Errors.FIELD_MISSING, field=_field_name(path))


def _field_name(path: tuple[str | int, ...]) -> str:
    """DingTalk's way of naming a field: ``feedCard --》 links[0].messageURL``."""
    head, *rest = [str(p) for p in path] or ["body"]
    if not rest:
        return head
    tail = ""
    for part in rest:
        tail += f"[{part}]" if part.isdigit() else (f".{part}" if tail else part)
    return f"{head} --》 {tail}"


#: What can be wrong with a field Gong stores (see :func:`field_invalid`).
FieldProblem = Literal["too_long", "nul", "surrogate"]

#: Each problem's (modern detail, legacy reason), ``{limit}`` filled in.
_FIELD_PROBLEMS: dict[FieldProblem, tuple[str, str]] = {
    "too_long": ("长度不能超过 {limit} 个字符", "is longer than {limit} characters"),
    "nul": ("不能包含 NUL 字符(U+0000)", "contains a NUL character (U+0000)"),
    "surrogate": (
        "不能包含不成对的代理字符(U+D800-U+DFFF)",
        "contains a lone surrogate (U+D800-U+DFFF)",
    ),
}


def field_invalid(problem: FieldProblem, *path: str | int, limit: int = 0) -> RobotError:
    """The 400402 refusal of a field Gong cannot store, naming the field and what is wrong.

    ``field_invalid("too_long", "msgUuid", limit=200)`` →
    ``错误描述:参数 msgUuid 格式不正确，长度不能超过 200 个字符;…``.
    """
    detail, reason = _FIELD_PROBLEMS[problem]
    return RobotError(
        Errors.FIELD_INVALID,
        field=_field_name(path),
        detail=detail.format(limit=limit),
        reason=reason.format(limit=limit),
    )


def ip_not_allowed(ip: str) -> RobotError:
    return RobotError(Errors.IP, ip=ip)


def _encode(errcode: int, errmsg: str) -> bytes:
    # Hand-built so the key order and compactness are exactly DingTalk's; errmsg is JSON-escaped.
    return b'{"errcode":%d,"errmsg":%s}' % (
        errcode,
        json.dumps(errmsg, ensure_ascii=False, separators=(",", ":")).encode(),
    )


def render(error: RobotError, dialect: Dialect) -> bytes:
    """The exact response body for a refusal."""
    return _encode(error.errcode(dialect), error.errmsg(dialect))


_OK = _encode(0, "ok")


def render_ok() -> bytes:
    """``{"errcode":0,"errmsg":"ok"}``, byte for byte."""
    return _OK


def render_ignored(reason: str) -> bytes:
    """``{"errcode":0,"errmsg":"ignored: <reason>"}``: acknowledged, nothing posted."""
    return _encode(0, f"ignored: {reason}")
