from __future__ import annotations

from typing import Any

import pytest

from gong.protocol.errors import Dialect, Errors, RobotError, render
from gong.protocol.messages import (
    MAX_MSG_UUID,
    ActionCard,
    ActionCardButton,
    ActionCardMessage,
    At,
    FeedCardMessage,
    ImageMessage,
    LinkMessage,
    Text,
    TextMessage,
    parse_message,
)


def refused(body: Any) -> RobotError:
    with pytest.raises(RobotError) as info:
        parse_message(body)
    return info.value


def field_of(error: RobotError) -> str:
    assert error.error is Errors.FIELD_MISSING
    return error.params["field"]


# -- the five types and the legacy image, canonical output --------------------------------------


def test_text_with_at() -> None:
    m = parse_message(
        {
            "msgtype": "text",
            "text": {"content": "我就是我, @180xxxxxx 是不一样的烟火"},
            "at": {"atMobiles": ["180xxxxxx"], "atUserIds": ["user123"], "isAtAll": False},
        }
    )
    assert m.to_wire() == {
        "msgtype": "text",
        "text": {"content": "我就是我, @180xxxxxx 是不一样的烟火"},
        "at": {"atMobiles": ["180xxxxxx"], "atUserIds": ["user123"], "isAtAll": False},
    }


def test_link_in_both_url_spellings() -> None:
    for key in ("messageUrl", "messageURL"):
        m = parse_message(
            {"msgtype": "link", "link": {"title": "t", "text": "x", key: "https://a.example/"}}
        )
        assert m.to_wire() == {
            "msgtype": "link",
            "link": {"title": "t", "text": "x", "messageUrl": "https://a.example/", "picUrl": ""},
        }


def test_link_drops_at_because_dingtalk_cannot_mention_in_links() -> None:
    m = parse_message(
        {
            "msgtype": "link",
            "link": {"title": "t", "text": "x", "messageUrl": "https://a", "picURL": "https://p"},
            "at": {"atMobiles": ["1"]},
        }
    )
    assert "at" not in m.to_wire()
    assert m.mentions().atMobiles == []
    assert isinstance(m, LinkMessage)
    assert m.link.picUrl == "https://p"


def test_markdown() -> None:
    m = parse_message({"msgtype": "markdown", "markdown": {"title": "T", "text": "# h"}})
    assert m.to_wire() == {"msgtype": "markdown", "markdown": {"title": "T", "text": "# h"}}
    assert m.title() == "T"


def test_action_card_single_button() -> None:
    m = parse_message(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "打造一间咖啡厅",
                "text": "![s](https://x/y.png) \n #### 乔布斯",
                "singleTitle": "阅读全文",
                "btnOrientation": "0",
                "singleURL": "https://www.dingtalk.com/",
            },
        }
    )
    assert m.to_wire() == {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "打造一间咖啡厅",
            "text": "![s](https://x/y.png) \n #### 乔布斯",
            "singleTitle": "阅读全文",
            "singleURL": "https://www.dingtalk.com/",
            "btnOrientation": "0",
            "hideAvatar": "0",
        },
    }


def test_action_card_buttons_and_int_flags() -> None:
    m = parse_message(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "t",
                "text": "x",
                "btnOrientation": 1,
                "hideAvatar": 1,
                "btns": [
                    {"title": "内容不错", "actionURL": "https://a"},
                    {"title": "不感兴趣", "actionURL": "https://b"},
                ],
            },
        }
    )
    assert isinstance(m, ActionCardMessage)
    assert m.to_wire()["actionCard"] == {
        "title": "t",
        "text": "x",
        "btns": [
            {"title": "内容不错", "actionURL": "https://a"},
            {"title": "不感兴趣", "actionURL": "https://b"},
        ],
        "btnOrientation": "1",
        "hideAvatar": "1",
    }
    assert [b.title for b in m.actionCard.buttons] == ["内容不错", "不感兴趣"]


def test_action_card_single_fields_win_over_btns() -> None:
    # CatchZeng serialises every field; the single-button pair, when filled in, wins.
    m = parse_message(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "t",
                "text": "x",
                "singleTitle": "go",
                "singleURL": "https://s",
                "btns": [{"title": "b", "actionURL": "https://b"}],
                "btnOrientation": "",
                "hideAvatar": "",
            },
        }
    )
    card = m.to_wire()["actionCard"]
    assert card["singleURL"] == "https://s"
    assert "btns" not in card
    assert card["btnOrientation"] == "0"


def test_action_card_empty_single_fields_fall_back_to_btns() -> None:
    m = parse_message(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "t",
                "text": "x",
                "singleTitle": "",
                "singleURL": "",
                "btns": [{"title": "b", "actionURL": "https://b"}],
            },
        }
    )
    assert m.to_wire()["actionCard"]["btns"] == [{"title": "b", "actionURL": "https://b"}]


def test_feed_card() -> None:
    m = parse_message(
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {
                        "title": "时代的火车向前开1",
                        "messageURL": "https://a",
                        "picURL": "https://p",
                    },
                    {"title": "2", "messageUrl": "https://b", "picUrl": "https://q"},
                ]
            },
        }
    )
    assert isinstance(m, FeedCardMessage)
    assert m.to_wire()["feedCard"]["links"][1] == {
        "title": "2",
        "messageURL": "https://b",
        "picURL": "https://q",
    }
    assert m.title() == "时代的火车向前开1"


def test_legacy_image() -> None:
    m = parse_message({"msgtype": "image", "image": {"picURL": "https://p/x.gif"}})
    assert isinstance(m, ImageMessage)
    assert m.to_wire() == {"msgtype": "image", "image": {"picURL": "https://p/x.gif"}}


# -- what real clients send --------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        {},
        None,
        {"atMobiles": None, "isAtAll": False},
        {"atMobiles": [], "isAtAll": False},
        {"atMobiles": [], "atUserIds": None, "isAtAll": None},
    ],
)
def test_empty_at_shapes(at: Any) -> None:
    m = parse_message({"msgtype": "text", "text": {"content": "x"}, "at": at})
    assert m.to_wire() == {"msgtype": "text", "text": {"content": "x"}}
    assert m.mentions().is_empty()


def test_numbers_in_at_mobiles_and_string_booleans() -> None:
    m = parse_message(
        {
            "msgtype": "text",
            "text": {"content": "x"},
            "at": {"atMobiles": [13800000001, "13800000002"], "isAtAll": "true"},
        }
    )
    assert m.mentions() == At(atMobiles=["13800000001", "13800000002"], isAtAll=True)


def test_legacy_at_dingtalk_ids_become_user_ids() -> None:
    m = parse_message(
        {
            "msgtype": "markdown",
            "markdown": {"title": "t", "text": "@u1"},
            "at": {"atDingtalkIds": ["u1"], "atUserIds": ["u2", "u1"]},
        }
    )
    assert m.mentions().atUserIds == ["u2", "u1"]
    assert m.to_wire()["at"] == {"atMobiles": [], "atUserIds": ["u2", "u1"], "isAtAll": False}


def test_dingtalk_link_wrapper_urls_are_accepted_as_sent() -> None:
    url = "dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com&pc_slide=false"
    m = parse_message({"msgtype": "link", "link": {"title": "t", "text": "x", "messageUrl": url}})
    assert m.to_wire()["link"]["messageUrl"] == url


def test_unknown_fields_and_other_type_objects_are_ignored() -> None:
    m = parse_message(
        {
            "msgtype": "text",
            "text": {"content": "x", "extra": 1},
            "markdown": {"title": 1},
            "whatever": [1, 2],
        }
    )
    assert m.to_wire() == {"msgtype": "text", "text": {"content": "x"}}


def test_msg_uuid_is_kept_and_numbers_accepted() -> None:
    m = parse_message({"msgtype": "text", "text": {"content": "x"}, "msgUuid": 42})
    assert m.msgUuid == "42"
    m = parse_message({"msgtype": "text", "text": {"content": "x"}, "msgUuid": ""})
    assert m.msgUuid is None


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [[], [1], 1, "text", None, True])
def test_non_object_bodies(body: Any) -> None:
    assert refused(body).error is Errors.JSON_MISSING


@pytest.mark.parametrize(
    "body", [{}, {"msgtype": None}, {"msgtype": ""}, {"text": {"content": "x"}}]
)
def test_missing_msgtype(body: Any) -> None:
    assert refused(body).error is Errors.MSGTYPE_MISSING


@pytest.mark.parametrize("msgtype", ["Text", "TEXT", "file", "empty", 1, ["text"], {"a": 1}, True])
def test_unknown_msgtype(msgtype: Any) -> None:
    assert refused({"msgtype": msgtype}).error is Errors.MSGTYPE_UNKNOWN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"msgtype": "text"}, "text"),
        ({"msgtype": "text", "text": None}, "text"),
        ({"msgtype": "text", "text": "hello"}, "text"),
        ({"msgtype": "text", "text": {}}, "text --》 content"),
        ({"msgtype": "text", "text": {"content": ""}}, "text --》 content"),
        ({"msgtype": "text", "text": {"content": 5}}, "text --》 content"),
        ({"msgtype": "text", "text": {"content": ["a"]}}, "text --》 content"),
        ({"msgtype": "text", "text": {"content": "x"}, "at": "13800000000"}, "at"),
        (
            {"msgtype": "text", "text": {"content": "x"}, "at": {"atMobiles": "138"}},
            "at --》 atMobiles",
        ),
        (
            {"msgtype": "text", "text": {"content": "x"}, "at": {"atMobiles": [{}]}},
            "at --》 atMobiles[0]",
        ),
        (
            {"msgtype": "text", "text": {"content": "x"}, "at": {"isAtAll": "maybe"}},
            "at --》 isAtAll",
        ),
        ({"msgtype": "text", "text": {"content": "x"}, "msgUuid": {"a": 1}}, "msgUuid"),
        ({"msgtype": "markdown", "markdown": {"text": "x"}}, "markdown --》 title"),
        ({"msgtype": "markdown", "markdown": {"title": "t"}}, "markdown --》 text"),
        ({"msgtype": "markdown", "markdown": {"title": 1, "text": "x"}}, "markdown --》 title"),
        ({"msgtype": "link", "link": {"text": "x", "messageUrl": "u"}}, "link --》 title"),
        ({"msgtype": "link", "link": {"title": "t", "messageUrl": "u"}}, "link --》 text"),
        ({"msgtype": "link", "link": {"title": "t", "text": "x"}}, "link --》 messageUrl"),
        (
            {
                "msgtype": "link",
                "link": {"title": "t", "text": "x", "messageUrl": "u", "picUrl": 3.5},
            },
            "link --》 picUrl",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {"text": "x", "singleTitle": "a", "singleURL": "u"},
            },
            "actionCard --》 title",
        ),
        (
            {"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x"}},
            "actionCard --》 btns",
        ),
        (
            {"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x", "btns": []}},
            "actionCard --》 btns",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {"title": "t", "text": "x", "singleTitle": "a"},
            },
            "actionCard --》 singleURL",
        ),
        (
            {"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x", "singleURL": "u"}},
            "actionCard --》 singleTitle",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {"title": "t", "text": "x", "btns": [{"title": "b"}]},
            },
            "actionCard --》 btns[0].actionURL",
        ),
        (
            {"msgtype": "actionCard", "actionCard": {"title": "t", "text": "x", "btns": "b"}},
            "actionCard --》 btns",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": "t",
                    "text": "x",
                    "singleTitle": "a",
                    "singleURL": "u",
                    "btnOrientation": 2,
                },
            },
            "actionCard --》 btnOrientation",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": "t",
                    "text": "x",
                    "singleTitle": "a",
                    "singleURL": "u",
                    "hideAvatar": [],
                },
            },
            "actionCard --》 hideAvatar",
        ),
        ({"msgtype": "feedCard", "feedCard": {}}, "feedCard --》 links"),
        ({"msgtype": "feedCard", "feedCard": {"links": []}}, "feedCard --》 links"),
        ({"msgtype": "feedCard", "feedCard": {"links": None}}, "feedCard --》 links"),
        (
            {"msgtype": "feedCard", "feedCard": {"links": [{"title": "t"}]}},
            "feedCard --》 links[0].messageURL",
        ),
        (
            {"msgtype": "feedCard", "feedCard": {"links": [{"messageURL": "u"}]}},
            "feedCard --》 links[0].title",
        ),
        ({"msgtype": "image", "image": {}}, "image --》 picURL"),
        # Apprise before 2.2 sent msgtype text with a markdown object.
        ({"msgtype": "text", "markdown": {"title": "t", "text": "x"}}, "text"),
    ],
)
def test_field_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    assert field_of(refused(body)) == field


# -- building, as the SDK does -----------------------------------------------------------------


def test_models_build_canonical_messages() -> None:
    m = TextMessage(text=Text(content="hi @138"), at=At(atMobiles=["138"]))
    assert m.to_wire() == {
        "msgtype": "text",
        "text": {"content": "hi @138"},
        "at": {"atMobiles": ["138"], "atUserIds": [], "isAtAll": False},
    }
    card = ActionCardMessage(
        actionCard=ActionCard(
            title="t",
            text="x",
            btns=[ActionCardButton(title="a", actionURL="https://a")],
            btnOrientation="1",
        )
    )
    assert card.to_wire()["actionCard"]["btnOrientation"] == "1"
    assert parse_message(card.to_wire()).to_wire() == card.to_wire()


def test_searchable_text_covers_the_documented_fields() -> None:
    card = parse_message(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "T",
                "text": "X",
                "btns": [{"title": "B1", "actionURL": "u"}, {"title": "B2", "actionURL": "v"}],
            },
        }
    )
    assert list(card.searchable()) == ["T", "X", "B1", "B2"]


# -- what storage could not hold: refused alike on every backend (400402 field_invalid) ---------

TEXT: dict[str, Any] = {"msgtype": "text", "text": {"content": "x"}}


def invalid(body: Any) -> tuple[str, str]:
    """The field and the legacy reason of a field_invalid refusal."""
    error = refused(body)
    assert error.error is Errors.FIELD_INVALID
    assert error.errcode(Dialect.MODERN) == error.errcode(Dialect.LEGACY) == 400402
    return error.params["field"], error.params["reason"]


def test_msg_uuid_up_to_the_column_width_is_kept() -> None:
    uuid = "界" * MAX_MSG_UUID  # characters, not bytes: the columns count characters
    assert parse_message({**TEXT, "msgUuid": uuid}).msgUuid == uuid


def test_msg_uuid_longer_than_the_column_is_refused() -> None:
    assert invalid({**TEXT, "msgUuid": "u" * (MAX_MSG_UUID + 1)}) == (
        "msgUuid",
        f"is longer than {MAX_MSG_UUID} characters",
    )
    error = refused({**TEXT, "msgUuid": "u" * 201})
    assert render(error, Dialect.MODERN).decode() == (
        '{"errcode":400402,"errmsg":"错误描述:参数 msgUuid 格式不正确，长度不能超过 200 个字符; '
        "解决方案:请修正对应参数;参考链接:请参考本接口对应文档查看参数要求，或者在"
        'https://open.dingtalk.com/document/  搜索对应文档;"}'
    )
    assert render(error, Dialect.LEGACY).decode() == (
        '{"errcode":400402,"errmsg":"param error: msgUuid is longer than 200 characters"}'
    )


def test_a_long_numeric_msg_uuid_counts_its_digits() -> None:
    assert invalid({**TEXT, "msgUuid": 10**201})[0] == "msgUuid"


@pytest.mark.parametrize("uuid", ["\x00", "a\x00b", "deploy-42\x00"])
def test_nul_in_msg_uuid_is_refused(uuid: str) -> None:
    assert invalid({**TEXT, "msgUuid": uuid}) == ("msgUuid", "contains a NUL character (U+0000)")


_LONE = "\ud800"  # a high surrogate with no low one after it
_CARD = {"title": "t", "text": "x"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TEXT, "msgUuid": "a" + _LONE}, "msgUuid"),
        ({"msgtype": "text", "text": {"content": "告警" + _LONE}}, "text --》 content"),
        ({**TEXT, "at": {"atMobiles": ["138", "\udc00"]}}, "at --》 atMobiles[1]"),
        ({**TEXT, "at": {"atUserIds": [_LONE]}}, "at --》 atUserIds[0]"),
        ({**TEXT, "at": {"atDingtalkIds": [_LONE]}}, "at --》 atDingtalkIds[0]"),
        ({"msgtype": "markdown", "markdown": {"title": _LONE, "text": "x"}}, "markdown --》 title"),
        ({"msgtype": "markdown", "markdown": {"title": "t", "text": _LONE}}, "markdown --》 text"),
        (
            {"msgtype": "link", "link": {"title": _LONE, "text": "x", "messageUrl": "u"}},
            "link --》 title",
        ),
        (
            {"msgtype": "link", "link": {"title": "t", "text": _LONE, "messageUrl": "u"}},
            "link --》 text",
        ),
        (
            {"msgtype": "link", "link": {"title": "t", "text": "x", "messageUrl": _LONE}},
            "link --》 messageUrl",
        ),
        (
            {
                "msgtype": "link",
                "link": {"title": "t", "text": "x", "messageUrl": "u", "picUrl": _LONE},
            },
            "link --》 picUrl",
        ),
        (
            {"msgtype": "actionCard", "actionCard": {**_CARD, "title": _LONE, "btns": []}},
            "actionCard --》 title",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {**_CARD, "singleTitle": _LONE, "singleURL": "u"},
            },
            "actionCard --》 singleTitle",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {**_CARD, "singleTitle": "a", "singleURL": _LONE},
            },
            "actionCard --》 singleURL",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {**_CARD, "btns": [{"title": _LONE, "actionURL": "u"}]},
            },
            "actionCard --》 btns[0].title",
        ),
        (
            {
                "msgtype": "actionCard",
                "actionCard": {**_CARD, "btns": [{"title": "a", "actionURL": _LONE}]},
            },
            "actionCard --》 btns[0].actionURL",
        ),
        (
            {"msgtype": "feedCard", "feedCard": {"links": [{"title": _LONE, "messageURL": "u"}]}},
            "feedCard --》 links[0].title",
        ),
        (
            {"msgtype": "feedCard", "feedCard": {"links": [{"title": "t", "messageURL": _LONE}]}},
            "feedCard --》 links[0].messageURL",
        ),
        (
            {
                "msgtype": "feedCard",
                "feedCard": {"links": [{"title": "t", "messageURL": "u", "picURL": _LONE}]},
            },
            "feedCard --》 links[0].picURL",
        ),
        ({"msgtype": "image", "image": {"picURL": _LONE}}, "image --》 picURL"),
    ],
)
def test_a_lone_surrogate_in_any_string_is_refused(body: dict[str, Any], field: str) -> None:
    assert invalid(body) == (field, "contains a lone surrogate (U+D800-U+DFFF)")


def test_surrogate_pairs_are_ordinary_text() -> None:
    m = parse_message({"msgtype": "text", "text": {"content": "部署完成 \U0001f680"}})
    assert m.to_wire()["text"]["content"] == "部署完成 \U0001f680"


def test_nul_in_text_fields_is_kept_whole() -> None:
    # Stored inside JSON, where it is escaped: every backend holds it, so it is not refused.
    m = parse_message(
        {
            "msgtype": "markdown",
            "markdown": {"title": "a\x00b", "text": "log:\x00end"},
            "at": {"atMobiles": ["138\x00"]},
        }
    )
    assert m.to_wire()["markdown"] == {"title": "a\x00b", "text": "log:\x00end"}
    assert m.mentions().atMobiles == ["138\x00"]
