"""Folding messages into digests, and the send log: pure functions, whole outputs compared."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from gong.protocol.digest import MIN_EXCERPT_BYTES, DigestEntry, flatten, fold, fold_one
from gong.protocol.messages import encode, parse_message
from gong.protocol.pacing import PaceState, SendLog
from gong.protocol.textsize import cut_to, json_size

T = 1_800_000_000_000  # 2027-01-15 08:00:00 UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    digest = fold_one(entries, tz=SHANGHAI)
    assert digest.count == 5
    assert digest.message.to_wire() == {
        "msgtype": "markdown",
        "markdown": {
            "title": "5 messages: disk full on db-1, see https://grafana.…",
            "text": "\n".join(
                [
                    "#### 5 messages: disk full on db-1, see https://grafana.…",
                    "Times in CST",
                    "",
                    "1. [disk full on db-1, see https://grafana.example.com/d/1 now]"
                    "(https://grafana.example.com/d/1) 16:00:00",
                    "2. [Deploy (prod)](https://ci.example.com/run%20%281%29) 16:00:01",
                    "   x",
                    "3. [Build failed](https://ci.example.com/l) 16:00:02",
                    "   see [log](https://ci.example.com/l)",
                    "4. [Approve](https://a.example.com/y) 16:00:03",
                    "   t",
                    "5. [news 0](https://n.example.com/0) 16:00:04",
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


# -- excerpts ---------------------------------------------------------------------------------


def test_an_excerpt_is_one_line_that_cannot_break_the_list() -> None:
    text = "\n".join(
        [
            "#### [FIRING:2] DiskFull",
            "> **summary**: disk on *db-1* is 97% full",
            "",
            "- instance: db-1",
            "* value: 97%",
            "1. first step",
            "2) second step",
            "---",
            "<font color=red>critical</font><br>see ![graph](https://g.example.com/1.png)",
            "### runbook [wiki](https://wiki.example.com/disk)",
            "\tnext\x01line",
        ]
    )
    assert flatten(text, "[FIRING:2] DiskFull") == (
        "**summary**: disk on *db-1* is 97% full • instance: db-1 • value: 97% · (1) first step"
        " · (2) second step · critical · see [graph](https://g.example.com/1.png)"
        " · runbook [wiki](https://wiki.example.com/disk) · next line"
    )
    # The heading is kept when it is not the title, and never starts a block.
    assert flatten("## Other heading\n- a", "title") == "Other heading • a"
    assert flatten("# only the title", "only the title") == ""


def test_an_excerpt_reads_a_bounded_part_of_a_huge_text() -> None:
    huge = "a line of text\n" * 100_000
    flat = flatten(huge)
    assert len(flat) < 30_000
    assert flat.endswith("…")


def test_json_size_is_the_encoded_size() -> None:
    for text in ["plain", 'quote " and \\ back', "中文 ✓", "tab\there\x01", ""]:
        assert json_size(text) == len(encode({"t": text})) - len('{"t":""}')


def test_a_cut_never_breaks_a_link() -> None:
    text = "some words before " + "[the link label](https://example.com/" + "p" * 50 + ") after"
    # The link starts late: the cut moves before it.
    assert cut_to(text, 30) == "some words before…"
    # The link starts early: it is kept by its label, cut inside.
    early = "[a rather long label](https://example.com/" + "p" * 80 + ") tail"
    assert cut_to(early, 16) == "a rather long…"
    assert cut_to("short", 10) == "short"
    assert cut_to("abc\\def", 7) == "abc…"  # no lone backslash escaping the mark
    assert cut_to("anything", 2) == ""


def _entry(i: int, excerpt: str) -> DigestEntry:
    return DigestEntry(title=f"alert {i:03d}", at_ms=T, excerpt=excerpt)


def _excerpts(text: str) -> list[str]:
    return [line[3:] for line in text.split("\n") if line.startswith("   ") and line[3] != " "]


def test_excerpts_share_the_limit_fairly() -> None:
    short = [_entry(i, f"short {i}") for i in range(5)]
    long = [_entry(5 + i, f"marker-{i} " + "长" * 5_000) for i in range(5)]
    [digest] = fold([*short, *long])
    assert digest.count == 10
    assert len(encode({**digest.message.to_wire(), "msgUuid": "x" * 80})) < 20_000
    shown = _excerpts(digest.message.markdown.text)
    assert shown[:5] == [f"short {i}" for i in range(5)]  # short ones whole
    sizes = [json_size(x) for x in shown[5:]]
    assert all(x.startswith(f"marker-{i} 长") and x.endswith("…") for i, x in enumerate(shown[5:]))
    assert max(sizes) - min(sizes) <= 3  # long ones: equal shares (a character's bytes apart)
    assert min(sizes) > 3_000  # and together they use what is left
    assert len(encode({**digest.message.to_wire(), "msgUuid": "x" * 80})) > 19_000


def test_a_digest_takes_fewer_entries_rather_than_starve_their_excerpts() -> None:
    entries = [_entry(i, f"marker-{i:04d} " + "x" * 2_000) for i in range(300)]
    digests = fold(entries)
    assert sum(d.count for d in digests) == 300
    assert len(digests) > 1
    for digest in digests:
        assert len(encode({**digest.message.to_wire(), "msgUuid": "x" * 80})) < 20_000
        shown = _excerpts(digest.message.markdown.text)
        assert len(shown) == digest.count
        assert all(json_size(x) >= MIN_EXCERPT_BYTES - 3 for x in shown)
    text = "\n".join(d.message.markdown.text for d in digests)
    assert all(f"marker-{i:04d}" in text for i in range(300))


def test_entries_link_the_whole_message_and_count_repeats() -> None:
    entries = [
        DigestEntry(
            title="HighCPU",
            link="https://prometheus.example.com/g",
            at_ms=T,
            full_url="https://gong.example.com/groups/1?at=7#m-7",
            repeats=3,
            last_at_ms=T + 65_000,
        ),
        DigestEntry(title="no link of its own", at_ms=T, full_url="https://gong.example.com/m-8"),
        DigestEntry(title="counted again only", full_url="https://gong.example.com/m-9", repeats=2),
    ]
    [digest] = fold(entries, tz=SHANGHAI)
    assert digest.message.markdown.text.split("\n")[3:] == [
        "1. [HighCPU](https://prometheus.example.com/g) 16:00:00"
        " [full message](https://gong.example.com/groups/1?at=7#m-7) · repeated ×3, last 16:01:05",
        "2. [no link of its own](https://gong.example.com/m-8) 16:00:00",
        "3. [counted again only](https://gong.example.com/m-9) · repeated ×2",
    ]


def test_times_are_on_the_given_clock_and_named_once() -> None:
    summer = 1_783_000_000_000  # 2026-07-02, daylight saving time in New York
    winter = T
    [digest] = fold(
        [DigestEntry(title="a", at_ms=winter), DigestEntry(title="b", at_ms=summer)],
        tz=ZoneInfo("America/New_York"),
    )
    assert digest.message.markdown.text.split("\n")[1:] == [
        "Times in EST",
        "",
        "1. a 03:00:00",
        "2. b 09:46:40 EDT",  # another zone name than the heading's: named on its line
    ]
    [utc] = fold([DigestEntry(title="a", at_ms=winter)], tz=ZoneInfo("Etc/GMT-8"))
    assert utc.message.markdown.text.split("\n")[1:] == ["Times in UTC+08:00", "", "1. a 16:00:00"]
    [absurd] = fold([DigestEntry(title="a", at_ms=10**18)], tz=SHANGHAI)
    assert absurd.message.markdown.text.split("\n")[1:] == ["1. a"]
