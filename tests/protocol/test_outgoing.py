"""The callback's pure parts: signature headers, the stripped mention, answers, opaque ids."""

from __future__ import annotations

import pytest

from gong.protocol.messages import TextMessage
from gong.protocol.outgoing import (
    AnswerInvalid,
    OpaqueIds,
    callback_headers,
    parse_answer,
    strip_mention,
)


def test_signature_headers_follow_dingtalks_test_vector() -> None:
    # PROTOCOL.md §6.2: timestamp 1577262236757, secret "this is a secret".
    assert callback_headers("tok", "this is a secret", 1577262236757) == {
        "Content-Type": "application/json; charset=utf-8",
        "token": "tok",
        "timestamp": "1577262236757",
        "sign": "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA=",
    }
    assert callback_headers("tok", None, 1) == {
        "Content-Type": "application/json; charset=utf-8",
        "token": "tok",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@bot ping", " ping"),
        ("@bot", ""),
        ("hi @bot ping", "hi  ping"),
        ("@bot @bot twice", " @bot twice"),
        ("no mention", "no mention"),
        ("@机器人 你好", "@机器人 你好"),
    ],
)
def test_strip_mention_keeps_the_space_as_dingtalk(text: str, expected: str) -> None:
    assert strip_mention(text, "bot") == expected


def test_answers() -> None:
    assert parse_answer(b"") == (None, "")
    assert parse_answer(b'{"msgtype":"empty"}') == (None, "")
    message, raw = parse_answer(b'{"msgtype":"text","text":{"content":"pong"}}')
    assert isinstance(message, TextMessage) and message.text.content == "pong"
    assert raw == '{"msgtype":"text","text":{"content":"pong"}}'
    for body, error in [
        (b"[1]", "the answer is not a JSON object"),
        (b"nope", "the answer is not JSON"),
        (b'{"msgtype":"image","image":{"picURL":"x"}}', "msgtype 'image' cannot answer"),
        (b'{"text":{"content":"x"}}', "the answer is not a valid message: msgtype is null"),
    ]:
        with pytest.raises(AnswerInvalid, match=error.replace("(", r"\(")):
            parse_answer(body)


def test_opaque_ids_are_stable_distinct_and_keyed() -> None:
    ids, other = OpaqueIds(b"k1"), OpaqueIds(b"k2")
    assert ids.user(1) == OpaqueIds(b"k1").user(1)
    assert len({ids.user(1), ids.member(1), ids.robot(1), ids.user(2)}) == 4
    assert ids.conversation(1) != other.conversation(1)
    assert ids.conversation(7).startswith("cid") and ids.message(7).startswith("msg")
