"""How each message type is rendered: whole HTML compared with golden files.

Regenerate the golden files after an intended change with ``GONG_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from gong import i18n
from gong.domain.models import SenderType, StoredMessage
from gong.domain.service import message_event
from gong.protocol.messages import parse_message
from gong.web.render import environment, message_view, preview, text_html

GOLDEN = Path(__file__).parent / "golden" / "messages"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """The golden files hold the English words (both languages: tests/web/test_i18n.py)."""
    with i18n.use("en"):
        yield


ZHANG = {"member_id": 7, "name": "张三", "via": "mobile", "value": "13800000001", "in_text": True}
WRAP = "dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com%2Fnews%3Fid%3D1&pc_slide=false"


def stored(
    body: dict[str, Any],
    *,
    id: int = 1,
    sender: SenderType = SenderType.ROBOT,
    mentions: list[dict[str, Any]] | None = None,
    unresolved: list[str] | None = None,
    at_all: bool = False,
) -> StoredMessage:
    content = parse_message(body).to_wire()
    return StoredMessage(
        id=id,
        group_id=3,
        robot_id=5 if sender is SenderType.ROBOT else None,
        sender_type=sender,
        sender_user_id=9 if sender is SenderType.USER else None,
        sender_name={"robot": "CI", "user": "李四", "system": "Gong"}[str(sender)],
        msgtype=content["msgtype"],
        payload=content,
        content=content,
        mentions=mentions or [],
        at_all=at_all,
        unresolved=unresolved or [],
        msg_uuid=None,
        created_at=1_800_000_000_000,
    )


MESSAGES: dict[str, StoredMessage] = {
    "text": stored(
        {
            "msgtype": "text",
            "text": {
                "content": "@13800000001 build <b>42</b> failed, see https://ci.example/42. "
                "cc @13912348000\nsecond line"
            },
            "at": {"atMobiles": ["13800000001", "13912348000"]},
        },
        mentions=[ZHANG],
        unresolved=["13912348000"],
    ),
    "text_hostile": stored(
        {
            "msgtype": "text",
            "text": {
                "content": "<script>alert(1)</script><img src=x onerror=alert(2)> javascript:alert(3)"
            },
        }
    ),
    "link": stored(
        {
            "msgtype": "link",
            "link": {
                "title": "Release 2.4",
                "text": "Faster builds & a new dashboard",
                "messageUrl": WRAP,
                "picUrl": "https://img.example/r.png",
            },
        }
    ),
    "link_hostile": stored(
        {
            "msgtype": "link",
            "link": {
                "title": "<img src=x onerror=alert(1)>",
                "text": "t",
                "messageUrl": "javascript:alert(1)",
                "picUrl": "data:image/png;base64,AAAA",
            },
        }
    ),
    "markdown": stored(
        {
            "msgtype": "markdown",
            "markdown": {
                "title": "杭州天气",
                "text": "#### 杭州天气 @13800000001\n> 9度\n\n**bold** "
                "<font color=#ff0000>red</font> [more](https://e.example/)",
            },
            "at": {"atMobiles": ["13800000001"]},
        },
        mentions=[{**ZHANG, "in_text": True}],
    ),
    "action_card_single": stored(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "Coffee",
                "text": "### Apple coffee\nthe story",
                "singleTitle": "Read",
                "singleURL": WRAP,
                "btnOrientation": "0",
            },
        }
    ),
    "action_card_buttons": stored(
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "Deploy?",
                "text": "**web-1.2.3** is ready",
                "btnOrientation": 1,
                "hideAvatar": "1",
                "btns": [
                    {"title": "Approve", "actionURL": "https://d.example/ok"},
                    {"title": "Evil", "actionURL": "javascript:alert(1)"},
                ],
            },
        }
    ),
    "feed_card": stored(
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {
                        "title": "First",
                        "messageURL": "https://e.example/1",
                        "picURL": "https://img.example/1.png",
                    },
                    {"title": "Second", "messageURL": WRAP, "picURL": ""},
                ]
            },
        }
    ),
    "image": stored({"msgtype": "image", "image": {"picURL": "https://img.example/i.png"}}),
    "person": stored(
        {"msgtype": "text", "text": {"content": "on it"}}, sender=SenderType.USER, at_all=True
    ),
    "system": stored(
        {"msgtype": "text", "text": {"content": "robot CI was disabled"}}, sender=SenderType.SYSTEM
    ),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_rendered_html(name: str) -> None:
    html = environment().get_template("_message.html").render(m=message_view(MESSAGES[name]))
    golden = GOLDEN / f"{name}.html"
    if os.environ.get("GONG_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    assert html == golden.read_text(encoding="utf-8")


def test_live_events_render_like_stored_messages() -> None:
    """The hub's live event of a message renders exactly as the stored message does."""
    message = MESSAGES["markdown"]
    event = orjson.loads(orjson.dumps(message_event(message.id, message)))
    template = environment().get_template("_message.html")
    assert template.render(m=message_view(event)) == template.render(m=message_view(message))


@pytest.mark.parametrize(
    ("name", "line"),
    [
        (
            "text",
            "@张三 build <b>42</b> failed, see https://ci.example/42. cc @139****8000 second l…",
        ),
        ("markdown", "杭州天气"),
        ("link", "Release 2.4"),
        ("action_card_single", "Coffee"),
        ("feed_card", "First"),
        ("image", "[Picture]"),
    ],
)
def test_preview(name: str, line: str) -> None:
    assert preview(MESSAGES[name]) == line


def test_preview_is_cut() -> None:
    long = stored({"msgtype": "text", "text": {"content": "x" * 200}})
    assert preview(long) == "x" * 79 + "…"
    assert preview(None) == ""


def test_text_mentions_need_a_word_boundary() -> None:
    html = text_html("@138000000012 and @13800000001", [ZHANG], [])
    assert str(html) == ('@138000000012 and <span class="at" data-member-id="7">@张三</span>')
