"""``POST /robot/send``: DingTalk's answers, byte for byte, for every case of the error table."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import RateLimit
from gong.protocol.errors import Dialect, RateLimitAnswer
from gong.protocol.signing import sign, signed_query
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.helpers import create_robot
from tests.web.conftest import MakeRobot

OK = b'{"errcode":0,"errmsg":"ok"}'
TEXT = {"msgtype": "text", "text": {"content": "CI build passed"}}

E_METHOD = '{"errcode":43002,"errmsg":"需要POST请求"}'
E_TOKEN_MISSING = '{"errcode":40035,"errmsg":"缺少参数 access_token"}'
E_TOKEN = '{"errcode":300005,"errmsg":"token is not exist"}'
E_DISABLED = '{"errcode":400102,"errmsg":"机器人已停用"}'
E_DISSOLVED = '{"errcode":400013,"errmsg":"群已被解散"}'
E_CT = '{"errcode":43004,"errmsg":"无效的HTTP HEADER Content-Type"}'
E_JSON = '{"errcode":40035,"errmsg":"缺少参数 json"}'
E_MSGTYPE_NULL = '{"errcode":300001,"errmsg":"msgtype is null"}'
E_MSGTYPE = '{"errcode":400105,"errmsg":"不支持的消息类型"}'
E_SIZE = '{"errcode":460101,"errmsg":"description: body 大小不合法;solution:请保持大小在 20000bytes 以内;"}'
E_KEYWORD = (
    '{"errcode":310000,"errmsg":"description:关键词不匹配;solution:请联系群管理员查看此机器人的'
    '关键词，并在发送的信息中包含此关键词;"}'
)
E_SIGN = (
    '{"errcode":310000,"errmsg":"description:机器人发送签名不匹配;solution:请确认签名和生成签名的'
    "时间戳必须都放在调用的网址中，请确认机器人的密钥加密和填写正确;link:请参考本接口对应文档获得"
    '具体要求，或者在https://open.dingtalk.com/document/  搜索相关文档;"}'
)
E_TIMESTAMP = (
    '{"errcode":310000,"errmsg":"description:timestamp 无效;solution:请确认timestamp是毫秒级'
    '时间戳，且与当前时间相差不超过1小时;"}'
)
E_EXPIRED = (
    '{"errcode":310000,"errmsg":"description:机器人发送签名过期;solution:签名生成时间和发送时间'
    '请保持在 timestampms 以内;"}'
)
E_IP = (
    '{"errcode":310000,"errmsg":"description:ip 不在白名单中;solution:请联系对应群的管理员，'
    '设置机器人安全ip地址段;"}'
)
E_RATE = '{"errcode":410100,"errmsg":"发送速度太快而限流"}'


def field_error(field: str) -> str:
    return (
        f'{{"errcode":400402,"errmsg":"错误描述:参数 {field} 缺失，或者参数格式不正确; '
        "解决方案:请填充上对应参数;参考链接:请参考本接口对应文档查看参数获取方式，或者在"
        'https://open.dingtalk.com/document/  搜索对应文档;"}'
    )


async def post(
    client: httpx.AsyncClient,
    query: str,
    body: Any = TEXT,
    content_type: str | None = "application/json",
    raw: bytes | None = None,
    method: str = "POST",
) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    response = await client.request(
        method, f"/robot/send?{query}", content=content, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response


def assert_body(response: httpx.Response, expected: str | bytes) -> None:
    expected = expected if isinstance(expected, bytes) else expected.encode()
    assert response.content == expected, response.content.decode()


# -- every row of the error table ----------------------------------------------------------------


async def test_success(client: httpx.AsyncClient, make_robot: MakeRobot, app: GongApp) -> None:
    robot = await make_robot(keywords=["CI"])
    assert_body(await post(client, f"access_token={robot.access_token}"), OK)
    [message] = await app.runtime.history.list_messages(robot.group_id)
    assert message.payload == TEXT
    assert message.sender_name == "robot"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_not_post(client: httpx.AsyncClient, make_robot: MakeRobot, method: str) -> None:
    robot = await make_robot(keywords=["CI"])
    assert_body(await post(client, f"access_token={robot.access_token}", method=method), E_METHOD)


@pytest.mark.parametrize(
    "query", ["", "access_token=", "access_token", "token=abc", "ACCESS_TOKEN=x"]
)
async def test_token_missing(client: httpx.AsyncClient, query: str) -> None:
    assert_body(await post(client, query), E_TOKEN_MISSING)


@pytest.mark.parametrize("token", ["0" * 64, "nope", "x" * 1000, "%FF%FE"])
async def test_unknown_token(client: httpx.AsyncClient, token: str) -> None:
    assert_body(await post(client, f"access_token={token}"), E_TOKEN)


async def test_disabled_robot(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["CI"], enabled=False)
    assert_body(await post(client, f"access_token={robot.access_token}"), E_DISABLED)


async def test_dissolved_group(
    client: httpx.AsyncClient, make_robot: MakeRobot, app: GongApp
) -> None:
    robot = await make_robot(keywords=["CI"])
    await app.runtime.groups.update(robot.group_id, dissolved=True)
    assert_body(await post(client, f"access_token={robot.access_token}"), E_DISSOLVED)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/json",
        "application/jsonp",
        "application",
    ],
)
async def test_bad_content_type(
    client: httpx.AsyncClient, make_robot: MakeRobot, content_type: str | None
) -> None:
    robot = await make_robot(keywords=["CI"])
    assert_body(
        await post(client, f"access_token={robot.access_token}", content_type=content_type), E_CT
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
        "application/json ; charset=utf-8",
    ],
)
async def test_content_types_real_clients_send(
    client: httpx.AsyncClient, make_robot: MakeRobot, content_type: str
) -> None:
    robot = await make_robot(keywords=["CI"])
    assert_body(
        await post(client, f"access_token={robot.access_token}", content_type=content_type), OK
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b" ",
        b"{",
        b"nul",
        b'{"msgtype":"text",}',
        b"[]",
        b"[1,2]",
        b"42",
        b'"text"',
        b"null",
        b"\xff\xfe{}",
        b'{"msgtype":"text","text":{"content":"\xc3\x28"}}',
        b"{" * 5000 + b"}" * 5000,
        b'{"a":NaN}',
    ],
)
async def test_body_not_json(client: httpx.AsyncClient, make_robot: MakeRobot, raw: bytes) -> None:
    robot = await make_robot(keywords=["CI"])
    assert_body(await post(client, f"access_token={robot.access_token}", raw=raw), E_JSON)


async def test_msgtype_missing_and_unknown(
    client: httpx.AsyncClient, make_robot: MakeRobot
) -> None:
    robot = await make_robot(keywords=["CI"])
    query = f"access_token={robot.access_token}"
    assert_body(await post(client, query, {"text": {"content": "CI"}}), E_MSGTYPE_NULL)
    assert_body(await post(client, query, {"msgtype": None}), E_MSGTYPE_NULL)
    assert_body(await post(client, query, {"msgtype": "file"}), E_MSGTYPE)
    assert_body(await post(client, query, {"msgtype": 7}), E_MSGTYPE)


async def test_required_field_missing(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["CI"])
    response = await post(
        client,
        f"access_token={robot.access_token}",
        {"msgtype": "markdown", "markdown": {"text": "CI"}},
    )
    assert_body(response, field_error("markdown --》 title"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"msgtype": "text", "text": 1}, "text"),
        ({"msgtype": "text", "text": {"content": 1}}, "text --》 content"),
        ({"msgtype": "text", "text": {"content": None}}, "text --》 content"),
        ({"msgtype": "text", "text": {"content": "CI"}, "at": []}, "at"),
        (
            {"msgtype": "text", "text": {"content": "CI"}, "at": {"atUserIds": {"a": 1}}},
            "at --》 atUserIds",
        ),
        ({"msgtype": "text", "text": {"content": "CI"}, "at": {"isAtAll": [1]}}, "at --》 isAtAll"),
        (
            {"msgtype": "link", "link": {"title": ["CI"], "text": "x", "messageUrl": "u"}},
            "link --》 title",
        ),
        (
            {"msgtype": "link", "link": {"title": "CI", "text": {}, "messageUrl": "u"}},
            "link --》 text",
        ),
        (
            {"msgtype": "link", "link": {"title": "CI", "text": "x", "messageUrl": 5}},
            "link --》 messageUrl",
        ),
        ({"msgtype": "markdown", "markdown": {"title": "CI", "text": False}}, "markdown --》 text"),
        (
            {"msgtype": "actionCard", "actionCard": {"title": "CI", "text": "x", "btns": [1]}},
            "actionCard --》 btns[0]",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {"title": "CI", "text": "x", "singleTitle": 1, "singleURL": "u"},
            },
            "actionCard --》 singleTitle",
        ),
        ({"msgtype": "feedCard", "feedCard": {"links": {"title": "CI"}}}, "feedCard --》 links"),
        (
            {
                "msgtype": "feedCard",
                "feedCard": {"links": [{"title": "CI", "messageURL": "u", "picURL": 1.5}]},
            },
            "feedCard --》 links[0].picURL",
        ),
        ({"msgtype": "image", "image": {"picURL": None}}, "image --》 picURL"),
    ],
)
async def test_wrong_types_in_every_field(
    client: httpx.AsyncClient, make_robot: MakeRobot, body: dict[str, Any], field: str
) -> None:
    robot = await make_robot(keywords=["CI"])
    assert_body(await post(client, f"access_token={robot.access_token}", body), field_error(field))


async def test_body_too_large(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["CI"])
    query = f"access_token={robot.access_token}"
    # 20 000 bytes exactly is fine; one more is not. The raw body is measured (\u escapes count).
    base = json.dumps({"msgtype": "text", "text": {"content": "CI "}}).encode()
    filler = 20_000 - len(base)
    exact = json.dumps({"msgtype": "text", "text": {"content": "CI " + "x" * filler}}).encode()
    assert len(exact) == 20_000
    assert_body(await post(client, query, raw=exact), OK)
    assert_body(await post(client, query, raw=exact[:-2] + b'x"}}'), E_SIZE)
    assert_body(await post(client, query, raw=b"x" * 1_000_000), E_SIZE)
    chinese = json.dumps({"msgtype": "text", "text": {"content": "CI " + "中" * 3400}}).encode()
    assert len(chinese) > 20_000  # ensure_ascii: 6 bytes per character
    assert_body(await post(client, query, raw=chinese), E_SIZE)


async def test_body_too_large_without_content_length(
    client: httpx.AsyncClient, make_robot: MakeRobot
) -> None:
    robot = await make_robot(keywords=["CI"])

    async def chunks() -> Any:
        for _ in range(30):
            yield b"x" * 1000

    response = await client.post(
        f"/robot/send?access_token={robot.access_token}",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert_body(response, E_SIZE)


# -- security settings, alone and combined -----------------------------------------------------


async def test_keyword(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["告警", "CI"])
    query = f"access_token={robot.access_token}"
    assert_body(await post(client, query, {"msgtype": "text", "text": {"content": "磁盘告警"}}), OK)
    assert_body(
        await post(client, query, {"msgtype": "text", "text": {"content": "ci"}}), E_KEYWORD
    )
    assert_body(
        await post(
            client, query, {"msgtype": "markdown", "markdown": {"title": "CI", "text": "x"}}
        ),
        OK,
    )


async def test_signature(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock
) -> None:
    robot = await make_robot(signing=True)
    assert robot.secret
    token = f"access_token={robot.access_token}"
    now = clock.now_ms()
    assert_body(await post(client, f"{token}&{signed_query(robot.secret, now)}"), OK)
    # Any order of the query parameters.
    raw = sign(robot.secret, now)
    from urllib.parse import quote_plus

    assert_body(await post(client, f"sign={quote_plus(raw)}&timestamp={now}&{token}"), OK)
    # Missing, wrong, stale, not a number.
    assert_body(await post(client, token), E_SIGN)
    assert_body(await post(client, f"{token}&sign={quote_plus(raw)}"), E_SIGN)
    assert_body(await post(client, f"{token}&timestamp={now}"), E_SIGN)
    assert_body(
        await post(client, f"{token}&{signed_query(robot.secret, now - 3_600_001)}"), E_EXPIRED
    )
    assert_body(
        await post(client, f"{token}&{signed_query(robot.secret, now + 3_600_001)}"), E_EXPIRED
    )
    assert_body(await post(client, f"{token}&timestamp=abc&sign=x"), E_TIMESTAMP)
    assert_body(await post(client, f"{token}&{signed_query(robot.secret, now - 3_600_000)}"), OK)


async def test_sign_with_raw_plus_or_double_encoding_fails(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock
) -> None:
    from urllib.parse import quote, quote_plus

    robot = await make_robot(signing=True)
    assert robot.secret
    token = f"access_token={robot.access_token}"
    # Find a timestamp whose signature contains '+' (a '+' left unencoded becomes a space).
    now = clock.now_ms()
    while "+" not in sign(robot.secret, now):
        now -= 1
    raw = sign(robot.secret, now)
    assert_body(await post(client, f"{token}&timestamp={now}&sign={raw}"), E_SIGN)
    double = quote(quote_plus(raw), safe="")
    assert "%25" in double
    assert_body(await post(client, f"{token}&timestamp={now}&sign={double}"), E_SIGN)
    assert_body(await post(client, f"{token}&timestamp={now}&sign={quote_plus(raw)}"), OK)


async def test_duplicate_parameters_last_wins(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock
) -> None:
    robot = await make_robot(signing=True)
    assert robot.secret
    token = f"access_token={robot.access_token}"
    stale = signed_query(robot.secret, clock.now_ms() - 7_200_000)
    fresh = signed_query(robot.secret, clock.now_ms())
    # Old DingtalkChatbot appended a fresh timestamp and sign after the stale ones.
    assert_body(await post(client, f"{token}&{stale}&{fresh}"), OK)
    assert_body(await post(client, f"access_token=nope&{token}&{fresh}"), OK)


async def test_ten_thousand_query_parameters(
    client: httpx.AsyncClient, make_robot: MakeRobot
) -> None:
    robot = await make_robot(keywords=["CI"])
    noise = "&".join(f"{i % 10}=" for i in range(10_000))  # 10 000 parameters, 30 kB
    assert_body(await post(client, f"{noise}&access_token={robot.access_token}"), OK)
    assert_body(await post(client, noise), E_TOKEN_MISSING)


async def test_ip_allow_list(app: GongApp, make_robot: MakeRobot) -> None:
    robot = await make_robot(ip_allow=["198.51.100.0/24", "192.0.2.9"])
    query = f"access_token={robot.access_token}"
    for ip, expected in [
        ("198.51.100.77", OK),
        ("192.0.2.9", OK),
        ("192.0.2.10", E_IP),
        ("2001:db8::1", E_IP),
    ]:
        async with make_client(app, ip) as client:
            assert_body(await post(client, query), expected)


async def test_combined_settings_all_must_pass(
    app: GongApp, make_robot: MakeRobot, clock: ManualClock
) -> None:
    robot = await make_robot(keywords=["CI"], signing=True, ip_allow=["192.0.2.0/24"])
    assert robot.secret
    signed = f"access_token={robot.access_token}&{signed_query(robot.secret, clock.now_ms())}"
    unsigned = f"access_token={robot.access_token}"
    other = {"msgtype": "text", "text": {"content": "hello"}}
    async with make_client(app, "192.0.2.1") as inside, make_client(app, "10.1.1.1") as outside:
        assert_body(await post(inside, signed), OK)
        assert_body(await post(outside, signed), E_IP)
        assert_body(await post(inside, unsigned), E_SIGN)
        assert_body(await post(inside, signed, other), E_KEYWORD)
        assert_body(await post(outside, unsigned, other), E_IP)  # IP is checked first


# -- validation order --------------------------------------------------------------------------


async def test_validation_order(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["CI"])
    disabled = await make_robot(keywords=["CI"], enabled=False)
    query = f"access_token={robot.access_token}"
    # Too large beats a wrong Content-Type; a wrong Content-Type beats bad JSON.
    assert_body(await post(client, query, raw=b"x" * 30_000, content_type="text/plain"), E_SIZE)
    assert_body(await post(client, query, raw=b"{", content_type="text/plain"), E_CT)
    # A disabled robot answers so before anything about its body.
    assert_body(
        await post(client, f"access_token={disabled.access_token}", raw=b"x" * 30_000), E_DISABLED
    )
    # Fields before security: a malformed message without the keyword names the field.
    assert_body(
        await post(client, query, {"msgtype": "markdown", "markdown": {"text": "x"}}),
        field_error("markdown --》 title"),
    )


# -- rate limit --------------------------------------------------------------------------------


async def test_rate_limit_window_and_block(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock, app: GongApp
) -> None:
    robot = await make_robot(keywords=["CI"])
    query = f"access_token={robot.access_token}"
    for _ in range(20):
        assert_body(await post(client, query), OK)
        clock.advance(1_000)
    assert_body(await post(client, query), E_RATE)
    # Refused messages (here: a keyword miss) never count; blocked calls don't extend the block.
    clock.advance(599_000)
    assert_body(await post(client, query), E_RATE)
    clock.advance(1_000)
    assert_body(
        await post(client, query, {"msgtype": "text", "text": {"content": "no"}}), E_KEYWORD
    )
    for _ in range(20):
        assert_body(await post(client, query), OK)
    assert_body(await post(client, query), E_RATE)
    assert await app.runtime.history.count_messages(robot.group_id) == 40


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("410100", E_RATE),
        ("130101", '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}'),
        ("660026", '{"errcode":660026,"errmsg":"sending too many messages per minute"}'),
    ],
)
async def test_the_rate_limited_answer_is_a_setting(
    sqlite_settings: Settings, clock: ManualClock, answer: str, expected: str
) -> None:
    settings = sqlite_settings.model_copy(update={"rate_limit_answer": RateLimitAnswer(answer)})
    gong = create_app(settings, clock=clock)
    await gong.startup()
    try:
        robot = await create_robot(
            gong.runtime,
            (await gong.runtime.groups.create("g")).id,
            name="CI",
            keywords=["CI"],
            rate_limit=RateLimit(1, 60, 600),
        )
        async with make_client(gong) as client:
            query = f"access_token={robot.access_token}"
            assert_body(await post(client, query), OK)
            assert_body(await post(client, query), expected)
        refusals = await gong.runtime.history.list_refusals(robot.id)
        assert [r.reason for r in refusals] == ["rate_limited"]
    finally:
        await gong.shutdown()


async def test_refused_calls_do_not_count(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot(keywords=["CI"])
    query = f"access_token={robot.access_token}"
    for _ in range(30):
        assert_body(
            await post(client, query, {"msgtype": "text", "text": {"content": "x"}}), E_KEYWORD
        )
    for _ in range(20):
        assert_body(await post(client, query), OK)


async def test_per_robot_limits(
    client: httpx.AsyncClient, make_robot: MakeRobot, clock: ManualClock
) -> None:
    tight = await make_robot(keywords=["CI"], rate_limit=RateLimit(2, 10, 5))
    free = await make_robot(keywords=["CI"], rate_limit=RateLimit(0, 60, 600))
    for _ in range(2):
        assert_body(await post(client, f"access_token={tight.access_token}"), OK)
    assert_body(await post(client, f"access_token={tight.access_token}"), E_RATE)
    clock.advance(5_000)
    assert_body(await post(client, f"access_token={tight.access_token}"), OK)
    for _ in range(100):
        assert_body(await post(client, f"access_token={free.access_token}"), OK)


# -- msgUuid, mentions, refusals ---------------------------------------------------------------


async def test_msg_uuid_idempotency(
    client: httpx.AsyncClient, make_robot: MakeRobot, app: GongApp
) -> None:
    robot = await make_robot(keywords=["CI"])
    query = f"access_token={robot.access_token}"
    body = {**TEXT, "msgUuid": "deploy-42"}
    for _ in range(3):
        assert_body(await post(client, query, body), OK)
    assert_body(await post(client, query, {**TEXT, "msgUuid": "deploy-43"}), OK)
    stored = await app.runtime.history.list_messages(robot.group_id)
    assert [m.msg_uuid for m in stored] == ["deploy-43", "deploy-42"]


async def test_mentions_are_resolved(
    client: httpx.AsyncClient, make_robot: MakeRobot, app: GongApp
) -> None:
    robot = await make_robot(keywords=["CI"])
    body = {
        "msgtype": "text",
        "text": {"content": "CI failed @13800000001 please look"},
        "at": {
            "atMobiles": ["13800000001", "13999999999"],
            "atUserIds": ["lisi"],
            "isAtAll": False,
        },
    }
    assert_body(await post(client, f"access_token={robot.access_token}", body), OK)
    [message] = await app.runtime.history.list_messages(robot.group_id)
    assert message.mentions == [
        {"member_id": 1, "name": "张三", "via": "mobile", "value": "13800000001", "in_text": True},
        {"member_id": 2, "name": "李四", "via": "userId", "value": "lisi", "in_text": False},
    ]
    assert message.unresolved == ["13999999999"]
    assert not message.at_all


async def test_refusals_are_recorded_with_reason_and_ip(
    app: GongApp, make_robot: MakeRobot, admin_headers: dict[str, str]
) -> None:
    robot = await make_robot(keywords=["CI"])
    async with make_client(app, "192.0.2.55") as client:
        await post(
            client,
            f"access_token={robot.access_token}",
            {"msgtype": "text", "text": {"content": "x"}},
        )
        await post(client, f"access_token={robot.access_token}", raw=b"{")
        await post(client, f"access_token={robot.access_token}")
        response = await client.get(f"/api/robots/{robot.id}/refusals", headers=admin_headers)
    refusals = response.json()
    assert [(r["errcode"], r["reason"], r["ip"]) for r in refusals] == [
        (40035, "json_missing", "192.0.2.55"),
        (310000, "keyword", "192.0.2.55"),
    ]
    assert refusals[1]["errmsg"] == json.loads(E_KEYWORD)["errmsg"]


# -- dialect and proxies -----------------------------------------------------------------------


async def test_legacy_dialect(tmp_path: Any, clock: ManualClock) -> None:
    settings = Settings(data_dir=tmp_path, errmsg_dialect=Dialect.LEGACY)
    app = create_app(settings, clock=clock)
    await app.startup()
    try:
        runtime = app.runtime
        group = await runtime.groups.create("g")
        robot = await create_robot(
            runtime,
            group.id,
            name="r",
            keywords=["CI"],
            ip_allow=["192.0.2.0/24"],
            rate_limit=RateLimit(1, 60, 600),
        )
        async with make_client(app, "192.0.2.1") as client, make_client(app, "10.9.8.7") as outside:
            assert_body(
                await post(client, "access_token=unknown"),
                '{"errcode":300001,"errmsg":"token is not exist"}',
            )
            assert_body(
                await post(
                    client,
                    f"access_token={robot.access_token}",
                    {"msgtype": "text", "text": {"content": "x"}},
                ),
                '{"errcode":310000,"errmsg":"keywords not in content"}',
            )
            assert_body(
                await post(outside, f"access_token={robot.access_token}"),
                '{"errcode":310000,"errmsg":"ip 10.9.8.7 not in whitelist"}',
            )
            assert_body(
                await post(client, f"access_token={robot.access_token}", raw=b"x" * 20_001),
                '{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}',
            )
            assert_body(await post(client, f"access_token={robot.access_token}"), OK)
            assert_body(
                await post(client, f"access_token={robot.access_token}"),
                '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}',
            )
    finally:
        await app.shutdown()


async def test_trusted_proxy_reveals_the_client(tmp_path: Any, clock: ManualClock) -> None:
    settings = Settings(data_dir=tmp_path, trusted_proxies=["127.0.0.1"])
    app = create_app(settings, clock=clock)
    await app.startup()
    try:
        group = await app.runtime.groups.create("g")
        robot = await create_robot(app.runtime, group.id, name="r", ip_allow=["192.0.2.1"])
        query = f"access_token={robot.access_token}"
        async with (
            make_client(app, "127.0.0.1") as proxy,
            make_client(app, "198.51.100.1") as direct,
        ):
            ok = await proxy.post(
                f"/robot/send?{query}",
                json=TEXT,
                headers={"x-forwarded-for": "10.0.0.1, 192.0.2.1"},
            )
            assert_body(ok, OK)
            spoofed = await direct.post(
                f"/robot/send?{query}", json=TEXT, headers={"x-forwarded-for": "192.0.2.1"}
            )
            assert_body(spoofed, E_IP)  # only a trusted proxy's header counts
            real_ip = await proxy.post(
                f"/robot/send?{query}", json=TEXT, headers={"x-real-ip": "192.0.2.1"}
            )
            assert_body(real_ip, OK)
    finally:
        await app.shutdown()
