"""Folding messages into digests, and the send log: pure functions, whole outputs compared."""

from __future__ import annotations

import time

import pytest

from gong.protocol.digest import DigestEntry, fold, fold_one
from gong.protocol.messages import encode, parse_message
from gong.protocol.pacing import PaceState, SendLog

T = 1_800_000_000_000


def clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def test_a_digest_lists_each_original_and_keeps_every_mention() -> None:
    messages = [
        {
            "msgtype": "text",
            "text": {"content": "disk full on db-1, see https://grafana.example.com/d/1 now"},
            "at": {"atMobiles": ["13800000001"]},
        },
        {
            "msgtype": "link",
            "link": {
                "title": "Deploy [prod]",
                "text": "x",
                "messageUrl": "https://ci.example.com/run (1)",
            },
        },
        {
            "msgtype": "markdown",
            "markdown": {"title": "Build failed", "text": "see [log](https://ci.example.com/l)"},
            "at": {"atUserIds": ["lisi"], "isAtAll": True},
        },
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "Approve",
                "text": "t",
                "btns": [
                    {"title": "Yes", "actionURL": "https://a.example.com/y"},
                    {"title": "No", "actionURL": "https://a.example.com/n"},
                ],
            },
        },
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {"title": f"news {i}", "messageURL": f"https://n.example.com/{i}", "picURL": ""}
                    for i in range(8)
                ]
            },
        },
    ]
    entries = [DigestEntry.of(parse_message(m), at_ms=T + i * 1000) for i, m in enumerate(messages)]
    digest = fold_one(entries)
    assert digest.count == 5
    assert digest.message.to_wire() == {
        "msgtype": "markdown",
        "markdown": {
            "title": "5 messages: disk full on db-1, see https://grafana.…",
            "text": "\n".join(
                [
                    "#### 5 messages: disk full on db-1, see https://grafana.…",
                    "1. [disk full on db-1, see https://grafana.example.com/d/1 now]"
                    f"(https://grafana.example.com/d/1) {clock(T)}",
                    f"2. [Deploy (prod)](https://ci.example.com/run%20%281%29) {clock(T + 1000)}",
                    f"3. [Build failed](https://ci.example.com/l) {clock(T + 2000)}",
                    f"4. [Approve](https://a.example.com/y) {clock(T + 3000)}",
                    f"5. [news 0](https://n.example.com/0) {clock(T + 4000)}",
                    *[f"    - [news {i}](https://n.example.com/{i})" for i in range(1, 6)],
                    "    - (+2)",
                    "",
                    "@13800000001 @lisi",
                ]
            ),
        },
        "at": {"atMobiles": ["13800000001"], "atUserIds": ["lisi"], "isAtAll": True},
    }


def test_digests_stay_under_the_limit_and_cover_everything_in_order() -> None:
    entries = [
        DigestEntry(
            title=f"告警 {i} " + "很长的标题" * 30,
            link=f"https://alerts.example.com/{i}",
            at_ms=T,
            at_mobiles=(f"1380000{i:04d}",),
        )
        for i in range(400)
    ]
    digests = fold(entries)
    assert sum(d.count for d in digests) == 400
    for digest in digests:
        body = encode({**digest.message.to_wire(), "msgUuid": "gong-" + "f" * 32})
        assert len(body) < 20_000
        at = digest.message.to_wire()["at"]
        assert len(at["atMobiles"]) <= 50
        assert all(f"@{m}" in digest.message.markdown.text for m in at["atMobiles"])
    numbers = [
        int(line.split("告警 ")[1].split(" ")[0])
        for d in digests
        for line in d.message.markdown.text.split("\n")
        if line[:1].isdigit()
    ]
    assert numbers == list(range(400))


def test_a_huge_link_is_left_out_and_the_title_kept() -> None:
    [digest] = fold(
        [DigestEntry(title="t", link="https://x.example.com/" + "a" * 2000), DigestEntry(title="u")]
    )
    assert digest.message.markdown.text.split("\n")[1:] == ["1. t", "2. u"]


def test_nothing_to_fold_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="nothing"):
        fold_one([])


def test_send_log_counts_a_sliding_window_and_pauses() -> None:
    log = SendLog()
    assert [log.take(2, 60_000, T + i) for i in range(3)] == [True, True, False]
    assert log.state(2, 60_000, T + 10) == PaceState(0, T + 60_000, T + 60_000, T + 1)
    assert log.state(2, 60_000, T + 60_000) == PaceState(1, T + 60_000, T + 60_001, T + 1)
    log.pause(T + 100_000)
    assert log.state(2, 60_000, T + 70_000) == PaceState(0, T + 100_000, None, T + 1, T + 100_000)
    assert log.take(2, 60_000, T + 100_000)


def test_an_unlimited_log_remembers_only_the_last_send() -> None:
    log = SendLog()
    for i in range(1000):
        assert log.take(0, 60_000, T + i)
    assert log.times() == [T + 999]
