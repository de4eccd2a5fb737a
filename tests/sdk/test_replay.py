"""The SDK against DingTalk's exact answers, replayed through an httpx transport.

The bodies are the verbatim answers recorded in PROTOCOL.md (§2.4, §4); each must become the
exception of its family with errcode and errmsg intact, and only busy answers and network errors
are retried.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gong.clock import ManualClock
from gong.protocol.signing import sign
from gong.sdk import (
    AsyncRobot,
    ContentRejectedError,
    HTTPStatusError,
    InvalidMessageError,
    IPNotAllowedError,
    KeywordError,
    MarkdownMessage,
    MessageTooLargeError,
    NetworkError,
    RateLimitedError,
    Robot,
    RobotSendError,
    RobotUnavailableError,
    SendResult,
    SignatureError,
    SystemBusyError,
    TokenError,
    TransportError,
)

WEBHOOK = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

ANSWERS: list[tuple[str, type[RobotSendError]]] = [
    ('{"errcode":310000,"errmsg":"sign not match"}', SignatureError),
    (
        '{"errcode":310000,"errmsg":"sign not match, more: '
        '[https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}',
        SignatureError,
    ),
    (
        '{"errcode":310000,"errmsg":"description:机器人发送签名不匹配;solution:请确认签名和生成签名的'
        "时间戳必须都放在调用的网址中，请确认机器人的密钥加密和填写正确;link:请参考本接口对应文档获得具体"
        '要求，或者在https://open.dingtalk.com/document/  搜索相关文档;"}',
        SignatureError,
    ),
    ('{"errcode":310000,"errmsg":"invalid timestamp"}', SignatureError),
    (
        '{"errcode":310000,"errmsg":"description:机器人发送签名过期;solution:签名生成时间和发送时间请'
        '保持在 timestampms 以内;"}',
        SignatureError,
    ),
    ('{"errcode":310000,"errmsg":"keywords not in content"}', KeywordError),
    (
        '{"errcode":310000,"errmsg":"description:关键词不匹配;solution:请联系群管理员查看此机器人的'
        '关键词，并在发送的信息中包含此关键词;"}',
        KeywordError,
    ),
    (
        '{"errcode":310000,"errmsg":"错误描述:关键词不匹配;解决方案:请联系群管理员查看此机器人的'
        '关键词，并在发送的信息中包含此关键词;"}',
        KeywordError,
    ),
    ('{"errcode":310000,"errmsg":"ip 203.0.113.9 not in whitelist"}', IPNotAllowedError),
    (
        '{"errcode":310000,"errmsg":"description:ip 不在白名单中;solution:请联系对应群的管理员，'
        '设置机器人安全ip地址段"}',
        IPNotAllowedError,
    ),
    ('{"errcode":300005,"errmsg":"token is not exist"}', TokenError),
    ('{"errmsg":"token is not exist","errcode":300001}', TokenError),
    ('{"errcode":40035,"errmsg":"缺少参数 access_token"}', TokenError),
    ('{"errcode":300001,"errmsg":"session 不存在"}', TokenError),
    ('{"errcode":400101,"errmsg":"access_token不存在"}', TokenError),
    ('{"errmsg": "缺少参数 json", "errcode": 40035}', InvalidMessageError),
    ('{"errcode":43002,"errmsg":"需要POST请求"}', InvalidMessageError),
    ('{"errcode":43004,"errmsg":"无效的HTTP HEADER Content-Type"}', InvalidMessageError),
    ('{"errcode":300001,"errmsg":"msgtype is null"}', InvalidMessageError),
    ('{"errcode":400105,"errmsg":"不支持的消息类型"}', InvalidMessageError),
    (
        '{"errcode": 400402, "errmsg": "错误描述:参数 markdown --》 title 缺失，'
        "或者参数格式不正确; "
        "解决方案:请填充上对应参数;参考链接:请参考本接口对应文档查看参数获取方式，或者在"
        'https://open.dingtalk.com/document/  搜索对应文档;"}',
        InvalidMessageError,
    ),
    ('{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}', MessageTooLargeError),
    (
        '{"errcode":460101,"errmsg":"description: body 大小不合法;solution:请保持大小在 20000bytes '
        '以内;"}',
        MessageTooLargeError,
    ),
    ('{"errcode":410100,"errmsg":"发送速度太快而限流"}', RateLimitedError),
    ('{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}', RateLimitedError),
    ('{"errcode":660026,"errmsg":"sending too many messages per minute"}', RateLimitedError),
    ('{"errcode":90030,"errmsg":"webhook over limit"}', RateLimitedError),
    ('{"errcode":400102,"errmsg":"机器人已停用"}', RobotUnavailableError),
    ('{"errcode":400013,"errmsg":"群已被解散"}', RobotUnavailableError),
    ('{"errcode":430101,"errmsg":"含有不安全的外链"}', ContentRejectedError),
]


class Replay:
    """A transport answering from a script, recording every request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests]


def dingtalk(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=body.encode(), headers={"content-type": "application/json"}
    )


OK = '{"errcode":0,"errmsg":"ok"}'


def robot(replay: Replay, **kwargs: object) -> tuple[Robot, list[float]]:
    pauses: list[float] = []
    kwargs.setdefault("clock", ManualClock(1_700_000_000_000))
    made = Robot(
        WEBHOOK,
        transport=httpx.MockTransport(replay),
        sleep=pauses.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return made, pauses


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query)


@pytest.mark.parametrize(("body", "family"), ANSWERS)
def test_each_refusal_raises_its_family(body: str, family: type[RobotSendError]) -> None:
    replay = Replay(dingtalk(body))
    client, pauses = robot(replay)
    with pytest.raises(family) as caught:
        client.send_text("hello")
    assert type(caught.value) is family
    expected = json.loads(body)
    assert caught.value.errcode == expected["errcode"]
    assert caught.value.errmsg == expected["errmsg"]
    assert caught.value.raw == body
    assert len(replay.requests) == 1
    assert pauses == []


def test_success_is_errcode_zero_in_either_key_order() -> None:
    for body in (OK, '{"errmsg":"ok","errcode":0}', '{"errcode":"0","errmsg":"ok"}'):
        client, _ = robot(Replay(dingtalk(body)), auto_uuid=False)
        assert client.send_text("hi") == SendResult(0, "ok", None, body)


def test_system_busy_is_retried_with_backoff_and_the_same_msg_uuid() -> None:
    busy = '{"errcode":-1,"errmsg":"系统繁忙"}'
    clock = ManualClock(1_700_000_000_000)
    replay = Replay(dingtalk(busy), dingtalk(busy), dingtalk(OK))
    client, pauses = robot(replay, clock=clock)
    result = client.send_text("hello")
    assert result.ok
    assert pauses == [0.5, 1.0]
    uuids = {b["msgUuid"] for b in replay.bodies()}
    assert len(uuids) == 1
    assert result.msg_uuid in uuids


def test_busy_after_the_last_retry_raises() -> None:
    replay = Replay(dingtalk('{"errcode":-1,"errmsg":"系统繁忙"}'))
    client, pauses = robot(replay, retries=1)
    with pytest.raises(SystemBusyError):
        client.send_text("hello")
    assert len(replay.requests) == 2
    assert pauses == [0.5]


def test_network_errors_and_5xx_are_retried_4xx_is_not() -> None:
    replay = Replay(
        httpx.ConnectError("refused"), dingtalk("<html>bad gateway</html>", 502), dingtalk(OK)
    )
    client, pauses = robot(replay)
    assert client.send_text("hello").ok
    assert pauses == [0.5, 1.0]

    replay = Replay(dingtalk("<html>not found</html>", 404))
    client, pauses = robot(replay)
    with pytest.raises(HTTPStatusError) as caught:
        client.send_text("hello")
    assert caught.value.status == 404
    assert pauses == []

    replay = Replay(httpx.ReadTimeout("slow"))
    client, pauses = robot(replay, retries=0)
    with pytest.raises(NetworkError):
        client.send_text("hello")


def test_rate_limit_and_security_answers_are_not_retried() -> None:
    for body in (
        '{"errcode":410100,"errmsg":"发送速度太快而限流"}',
        '{"errcode":310000,"errmsg":"sign not match"}',
    ):
        replay = Replay(dingtalk(body))
        client, pauses = robot(replay)
        with pytest.raises(RobotSendError):
            client.send_text("hello")
        assert len(replay.requests) == 1
        assert pauses == []


def test_a_200_that_is_not_a_robot_answer_is_a_transport_error() -> None:
    client, _ = robot(Replay(dingtalk("<html>captive portal</html>")))
    with pytest.raises(TransportError):
        client.send_text("hello")


def test_body_is_compact_utf8_json_with_json_content_type() -> None:
    replay = Replay(dingtalk(OK))
    client, _ = robot(replay, auto_uuid=False)
    client.send_markdown("标题", "## 你好\n> quote")
    request = replay.requests[0]
    assert request.content == (
        '{"msgtype":"markdown","markdown":{"title":"标题","text":"## 你好\\n> quote"}}'.encode()
    )
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.method == "POST"


def test_every_message_type_on_the_wire() -> None:
    replay = Replay(dingtalk(OK))
    client, _ = robot(replay, auto_uuid=False)
    client.send_text("hi")
    client.send_link("T", "body", "https://example.com/a", "https://example.com/p.png")
    client.send_action_card("C", "card", [("Open", "https://example.com/1")], hide_avatar=True)
    client.send_action_card(
        "C",
        "card",
        [("Yes", "https://example.com/y"), ("No", "https://example.com/n")],
        btn_orientation="1",
    )
    client.send_feed_card(
        [
            ("A", "https://example.com/a", "https://example.com/a.png"),
            ("B", "https://example.com/b"),
        ]
    )
    assert replay.bodies() == [
        {"msgtype": "text", "text": {"content": "hi"}},
        {
            "msgtype": "link",
            "link": {
                "title": "T",
                "text": "body",
                "messageUrl": "https://example.com/a",
                "picUrl": "https://example.com/p.png",
            },
        },
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "C",
                "text": "card",
                "singleTitle": "Open",
                "singleURL": "https://example.com/1",
                "btnOrientation": "0",
                "hideAvatar": "1",
            },
        },
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "C",
                "text": "card",
                "btnOrientation": "1",
                "hideAvatar": "0",
                "btns": [
                    {"title": "Yes", "actionURL": "https://example.com/y"},
                    {"title": "No", "actionURL": "https://example.com/n"},
                ],
            },
        },
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {
                        "title": "A",
                        "messageURL": "https://example.com/a",
                        "picURL": "https://example.com/a.png",
                    },
                    {"title": "B", "messageURL": "https://example.com/b", "picURL": ""},
                ]
            },
        },
    ]


def test_mentions_are_written_into_the_text_when_missing() -> None:
    replay = Replay(dingtalk(OK))
    client, _ = robot(replay, auto_uuid=False)
    client.send_text("deploy done", at_mobiles=["13800000001"], at_user_ids=["lisi"])
    client.send_text("@13800000001 look", at_mobiles=["13800000001"])
    client.send_markdown("T", "# build failed", at_mobiles=["13800000002"])
    client.send(
        MarkdownMessage.model_validate(
            {"markdown": {"title": "T", "text": "x"}, "at": {"atUserIds": ["u1"]}}
        )
    )
    bodies = replay.bodies()
    assert bodies[0]["text"] == {"content": "deploy done\n@13800000001 @lisi"}
    assert bodies[0]["at"] == {
        "atMobiles": ["13800000001"],
        "atUserIds": ["lisi"],
        "isAtAll": False,
    }
    assert bodies[1]["text"] == {"content": "@13800000001 look"}
    assert bodies[2]["markdown"] == {"title": "T", "text": "# build failed\n\n@13800000002"}
    assert bodies[3]["markdown"] == {"title": "T", "text": "x\n\n@u1"}

    replay = Replay(dingtalk(OK))
    client, _ = robot(replay, auto_uuid=False, auto_at=False)
    client.send_text("deploy done", at_mobiles=["13800000001"])
    assert replay.bodies()[0]["text"] == {"content": "deploy done"}


def test_too_large_is_refused_before_sending() -> None:
    replay = Replay(dingtalk(OK))
    client, _ = robot(replay)
    with pytest.raises(MessageTooLargeError) as caught:
        client.send_text("长" * 6_700)  # 20 100 bytes of UTF-8
    assert caught.value.errcode == 460101
    assert replay.requests == []
    # Unescaped UTF-8 keeps 6 000 Chinese characters (18 000 bytes) under the limit.
    assert client.send_text("长" * 6_000).ok
    assert len(replay.requests[0].content) < 20_000


KNOWN_VECTORS = [
    (
        1577262236757,
        "this is a secret",
        "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA%3D",
        "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=",
    ),
    (
        1700000000000,
        SECRET,
        "bTgY2yDbep%2BwesS7jKiNj%2BsrsHoADES4%2BC4f8LCHFtU%3D",
        "bTgY2yDbep+wesS7jKiNj+srsHoADES4+C4f8LCHFtU=",
    ),
]


@pytest.mark.parametrize(("timestamp", "secret", "encoded", "raw"), KNOWN_VECTORS)
def test_signature_matches_the_known_vectors(
    timestamp: int, secret: str, encoded: str, raw: str
) -> None:
    assert sign(secret, timestamp) == raw
    replay = Replay(dingtalk(OK))
    client, _ = robot(replay, clock=ManualClock(timestamp), secret=secret)
    client.send_text("hi")
    url = str(replay.requests[0].url)
    assert url == f"{WEBHOOK}&timestamp={timestamp}&sign={encoded}"
    assert query(replay.requests[0])["sign"] == [raw]  # decodes once to the raw Base64


def test_each_request_is_signed_afresh_and_stale_parameters_are_dropped() -> None:
    clock = ManualClock(1_700_000_000_000)
    replay = Replay(dingtalk(OK))
    stale = f"{WEBHOOK}&timestamp=1600000000000&sign=old%3D"
    client = Robot(stale, SECRET, transport=httpx.MockTransport(replay), clock=clock)
    client.send_text("one")
    clock.advance(2 * 3_600_000)
    client.send_text("two")
    stamps = [query(r)["timestamp"] for r in replay.requests]
    assert stamps == [["1700000000000"], ["1700007200000"]]
    for request, stamp in zip(replay.requests, (1_700_000_000_000, 1_700_007_200_000), strict=True):
        assert query(request)["sign"] == [sign(SECRET, stamp)]
    assert client.webhook == WEBHOOK


def test_a_webhook_must_be_http() -> None:
    with pytest.raises(ValueError, match="webhook"):
        Robot("oapi.dingtalk.com/robot/send?access_token=x")


async def test_async_robot_speaks_the_same() -> None:
    busy = '{"errcode":-1,"errmsg":"系统繁忙"}'
    replay = Replay(
        dingtalk(busy),
        dingtalk(OK),
        dingtalk('{"errcode":310000,"errmsg":"keywords not in content"}'),
    )
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    async with AsyncRobot(
        WEBHOOK,
        SECRET,
        transport=httpx.MockTransport(replay),
        clock=ManualClock(1_700_000_000_000),
        sleep=sleep,
    ) as client:
        assert (await client.send_text("hello", at_mobiles=["13800000001"])).ok
        with pytest.raises(KeywordError):
            await client.send_link("t", "x", "https://example.com")
    assert pauses == [0.5]
    assert replay.bodies()[0]["text"] == {"content": "hello\n@13800000001"}
    assert str(replay.requests[0].url).endswith(
        "&timestamp=1700000000000&sign=bTgY2yDbep%2BwesS7jKiNj%2BsrsHoADES4%2BC4f8LCHFtU%3D"
    )
