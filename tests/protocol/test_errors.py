from __future__ import annotations

import json

import pytest

from gong.protocol.errors import (
    Dialect,
    Errors,
    FieldProblem,
    RobotError,
    field_invalid,
    field_missing,
    ip_not_allowed,
    render,
    render_ok,
)


def test_ok_is_byte_exact() -> None:
    assert render_ok() == b'{"errcode":0,"errmsg":"ok"}'


# (entry, modern body, legacy body) — the contract of DESIGN.md §4, compared byte for byte.
TABLE = [
    (Errors.NOT_POST, '{"errcode":43002,"errmsg":"需要POST请求"}', None),
    (Errors.TOKEN_MISSING, '{"errcode":40035,"errmsg":"缺少参数 access_token"}', None),
    (
        Errors.TOKEN_UNKNOWN,
        '{"errcode":300005,"errmsg":"token is not exist"}',
        '{"errcode":300001,"errmsg":"token is not exist"}',
    ),
    (Errors.ROBOT_DISABLED, '{"errcode":400102,"errmsg":"机器人已停用"}', None),
    (Errors.GROUP_DISSOLVED, '{"errcode":400013,"errmsg":"群已被解散"}', None),
    (Errors.BAD_CONTENT_TYPE, '{"errcode":43004,"errmsg":"无效的HTTP HEADER Content-Type"}', None),
    (Errors.JSON_MISSING, '{"errcode":40035,"errmsg":"缺少参数 json"}', None),
    (Errors.MSGTYPE_MISSING, '{"errcode":300001,"errmsg":"msgtype is null"}', None),
    (Errors.MSGTYPE_UNKNOWN, '{"errcode":400105,"errmsg":"不支持的消息类型"}', None),
    (
        Errors.TOO_LARGE,
        '{"errcode":460101,"errmsg":"description: body 大小不合法;'
        'solution:请保持大小在 20000bytes 以内;"}',
        '{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}',
    ),
    (
        Errors.KEYWORD,
        '{"errcode":310000,"errmsg":"description:关键词不匹配;solution:请联系群管理员查看此机器人'
        '的关键词，并在发送的信息中包含此关键词;"}',
        '{"errcode":310000,"errmsg":"keywords not in content"}',
    ),
    (
        Errors.SIGN,
        '{"errcode":310000,"errmsg":"description:机器人发送签名不匹配;solution:请确认签名和生成'
        "签名的时间戳必须都放在调用的网址中，请确认机器人的密钥加密和填写正确;link:请参考本接口对应"
        '文档获得具体要求，或者在https://open.dingtalk.com/document/  搜索相关文档;"}',
        '{"errcode":310000,"errmsg":"sign not match"}',
    ),
    (
        Errors.TIMESTAMP,
        '{"errcode":310000,"errmsg":"description:timestamp 无效;solution:请确认timestamp是毫秒级'
        '时间戳，且与当前时间相差不超过1小时;"}',
        '{"errcode":310000,"errmsg":"invalid timestamp"}',
    ),
    (
        Errors.TIMESTAMP_EXPIRED,
        # As DingTalk sends it, "timestampms" included.
        '{"errcode":310000,"errmsg":"description:机器人发送签名过期;solution:签名生成时间和发送时间'
        '请保持在 timestampms 以内;"}',
        '{"errcode":310000,"errmsg":"invalid timestamp"}',
    ),
    (
        Errors.RATE_LIMITED,
        '{"errcode":410100,"errmsg":"发送速度太快而限流"}',
        '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}',
    ),
    (Errors.SYSTEM_BUSY, '{"errcode":-1,"errmsg":"系统繁忙"}', None),
    (Errors.SESSION_UNKNOWN, '{"errcode":300001,"errmsg":"session 不存在"}', None),
    (
        Errors.MESSAGE_UNSTORABLE,
        '{"errcode":400402,"errmsg":"错误描述:消息无法保存，参数格式不正确; 解决方案:请修正对应参数;'
        "参考链接:请参考本接口对应文档查看参数要求，或者在https://open.dingtalk.com/document/  "
        '搜索对应文档;"}',
        '{"errcode":400402,"errmsg":"param error: the message cannot be stored"}',
    ),
]


@pytest.mark.parametrize(("entry", "modern", "legacy"), TABLE, ids=[t[0].name for t in TABLE])
def test_catalogue_renders_exactly(entry: object, modern: str, legacy: str | None) -> None:
    error = RobotError(entry)  # type: ignore[arg-type]
    assert render(error, Dialect.MODERN).decode() == modern
    assert render(error, Dialect.LEGACY).decode() == (legacy or modern)


def test_ip_error_names_the_caller_in_legacy_wording() -> None:
    error = ip_not_allowed("198.51.100.4")
    assert render(error, Dialect.LEGACY) == (
        b'{"errcode":310000,"errmsg":"ip 198.51.100.4 not in whitelist"}'
    )
    assert render(error, Dialect.MODERN).decode() == (
        '{"errcode":310000,"errmsg":"description:ip 不在白名单中;solution:请联系对应群的管理员，'
        '设置机器人安全ip地址段;"}'
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("markdown", "title"), "markdown --》 title"),
        (("text",), "text"),
        (("feedCard", "links", 0, "messageURL"), "feedCard --》 links[0].messageURL"),
        (("at", "atMobiles", 3), "at --》 atMobiles[3]"),
    ],
)
def test_field_missing_names_the_field(path: tuple[str | int, ...], field: str) -> None:
    body = json.loads(render(field_missing(*path), Dialect.MODERN))
    assert body["errcode"] == 400402
    assert body["errmsg"] == (
        f"错误描述:参数 {field} 缺失，或者参数格式不正确; 解决方案:请填充上对应参数;"
        "参考链接:请参考本接口对应文档查看参数获取方式，或者在https://open.dingtalk.com/document/  "
        "搜索对应文档;"
    )


def test_the_markdown_title_case_matches_dingtalks_wire_text() -> None:
    # The exact string DingTalk printed for a markdown message without a title.
    assert render(field_missing("markdown", "title"), Dialect.MODERN).decode() == (
        '{"errcode":400402,"errmsg":"错误描述:参数 markdown --》 title 缺失，或者参数格式不正确; '
        "解决方案:请填充上对应参数;参考链接:请参考本接口对应文档查看参数获取方式，或者在"
        'https://open.dingtalk.com/document/  搜索对应文档;"}'
    )


@pytest.mark.parametrize(
    ("problem", "path", "detail", "reason"),
    [
        (
            "too_long",
            ("msgUuid",),
            "长度不能超过 200 个字符",
            "is longer than 200 characters",
        ),
        ("nul", ("msgUuid",), "不能包含 NUL 字符(U+0000)", "contains a NUL character (U+0000)"),
        (
            "surrogate",
            ("actionCard", "btns", 1, "title"),
            "不能包含不成对的代理字符(U+D800-U+DFFF)",
            "contains a lone surrogate (U+D800-U+DFFF)",
        ),
    ],
)
def test_field_invalid_names_the_field_and_the_problem_in_both_dialects(
    problem: FieldProblem, path: tuple[str | int, ...], detail: str, reason: str
) -> None:
    error = field_invalid(problem, *path, limit=200)
    field = "msgUuid" if path == ("msgUuid",) else "actionCard --》 btns[1].title"
    assert json.loads(render(error, Dialect.MODERN)) == {
        "errcode": 400402,
        "errmsg": f"错误描述:参数 {field} 格式不正确，{detail}; 解决方案:请修正对应参数;"
        "参考链接:请参考本接口对应文档查看参数要求，或者在https://open.dingtalk.com/document/  "
        "搜索对应文档;",
    }
    assert json.loads(render(error, Dialect.LEGACY)) == {
        "errcode": 400402,
        "errmsg": f"param error: {field} {reason}",
    }


def test_errmsg_is_json_escaped() -> None:
    error = ip_not_allowed('1.2.3.4"\\')
    assert json.loads(render(error, Dialect.LEGACY))["errmsg"] == 'ip 1.2.3.4"\\ not in whitelist'


def test_every_entry_has_a_unique_name() -> None:
    names = [e.name for e in Errors.all()]
    assert len(names) == len(set(names))
    assert all(e.description for e in Errors.all())
