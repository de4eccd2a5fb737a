from __future__ import annotations

import pytest

from gong.protocol.errors import Errors, RobotError
from gong.protocol.messages import parse_message
from gong.protocol.security import (
    Security,
    check,
    check_ip,
    check_keywords,
    check_signature,
    parse_networks,
)
from gong.protocol.signing import sign

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
NOW = 1_800_000_000_000


def error_of(call: object, *args: object, **kwargs: object) -> object:
    with pytest.raises(RobotError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.error


# -- IP allow list -----------------------------------------------------------------------------


def test_ip_addresses_and_ranges() -> None:
    networks = parse_networks(["198.51.100.4", "203.0.113.0/24"])
    check_ip(networks, "198.51.100.4")
    check_ip(networks, "203.0.113.200")
    check_ip(networks, "::ffff:203.0.113.9")  # IPv4-mapped IPv6 as some stacks report it
    for ip in ("198.51.100.5", "10.0.0.1", "2001:db8::1", "", "not-an-ip"):
        assert error_of(check_ip, networks, ip) is Errors.IP


def test_no_allow_list_allows_everyone() -> None:
    check_ip((), "192.0.2.1")


@pytest.mark.parametrize("entry", ["2001:db8::/32", "::1", "1.2.3", "1.2.3.4/33", "x", ""])
def test_allow_list_refuses_ipv6_and_garbage(entry: str) -> None:
    with pytest.raises(ValueError, match=repr(entry)):
        parse_networks([entry])


def test_host_bits_are_tolerated_in_ranges() -> None:
    assert [str(n) for n in parse_networks(["10.1.2.3/8"])] == ["10.0.0.0/8"]


# -- signature ---------------------------------------------------------------------------------


def test_valid_signature_at_the_edges_of_the_hour() -> None:
    for ts in (NOW, NOW - 3_600_000, NOW + 3_600_000):
        check_signature(SECRET, str(ts), sign(SECRET, ts), NOW)


@pytest.mark.parametrize("offset", [3_600_001, -3_600_001, 10**9])
def test_stale_or_future_timestamp(offset: int) -> None:
    ts = NOW - offset
    found = error_of(check_signature, SECRET, str(ts), sign(SECRET, ts), NOW)
    assert found is Errors.TIMESTAMP_EXPIRED


@pytest.mark.parametrize("ts", ["abc", "1.5e12", "-1", " 1800000000000", "1" * 20, "１２３"])
def test_timestamp_not_a_number(ts: str) -> None:
    assert error_of(check_signature, SECRET, ts, "x", NOW) is Errors.TIMESTAMP


@pytest.mark.parametrize(
    ("ts", "signature"), [(None, "abc"), (str(NOW), None), (str(NOW), ""), (None, None)]
)
def test_missing_parts_are_a_signature_mismatch(ts: str | None, signature: str | None) -> None:
    # DingTalk answers a sign without timestamp with the signature message, not "timestamp".
    assert error_of(check_signature, SECRET, ts, signature, NOW) is Errors.SIGN


def test_wrong_signature() -> None:
    good = sign(SECRET, NOW)
    assert error_of(check_signature, SECRET, str(NOW), good[:-2] + "A=", NOW) is Errors.SIGN
    assert error_of(check_signature, SECRET, str(NOW + 1), good, NOW) is Errors.SIGN
    assert error_of(check_signature, SECRET + "0", str(NOW), good, NOW) is Errors.SIGN


# -- keywords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"msgtype": "text", "text": {"content": "build 告警 failed"}},
        {"msgtype": "link", "link": {"title": "告警", "text": "x", "messageUrl": "u"}},
        {"msgtype": "link", "link": {"title": "t", "text": "告警", "messageUrl": "u"}},
        {"msgtype": "markdown", "markdown": {"title": "告警", "text": "x"}},
        {"msgtype": "markdown", "markdown": {"title": "t", "text": "## 告警"}},
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "t",
                "text": "x",
                "btns": [{"title": "告警详情", "actionURL": "u"}],
            },
        },
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [{"title": "a", "messageURL": "u"}, {"title": "告警", "messageURL": "v"}]
            },
        },
        {"msgtype": "image", "image": {"picURL": "https://p"}},
    ],
)
def test_keyword_found_in_each_documented_field(body: dict[str, object]) -> None:
    check_keywords(["告警", "alert"], parse_message(body))


@pytest.mark.parametrize(
    "body",
    [
        {"msgtype": "text", "text": {"content": "ALERT"}},  # case-sensitive
        {"msgtype": "link", "link": {"title": "t", "text": "x", "messageUrl": "https://alert"}},
        {"msgtype": "feedCard", "feedCard": {"links": [{"title": "a", "messageURL": "alert"}]}},
    ],
)
def test_keyword_missing(body: dict[str, object]) -> None:
    assert error_of(check_keywords, ["告警", "alert"], parse_message(body)) is Errors.KEYWORD


# -- combined ----------------------------------------------------------------------------------


def test_all_configured_settings_must_pass_in_dingtalk_order() -> None:
    security = Security(keywords=("ok",), secret=SECRET, networks=parse_networks(["192.0.2.0/24"]))
    good = parse_message({"msgtype": "text", "text": {"content": "ok"}})
    bad = parse_message({"msgtype": "text", "text": {"content": "nope"}})
    signature = sign(SECRET, NOW)
    check(security, good, ip="192.0.2.1", timestamp=str(NOW), sign=signature, now_ms=NOW)
    # IP is checked first, then the signature, then keywords.
    assert (
        error_of(check, security, bad, ip="10.0.0.1", timestamp=None, sign=None, now_ms=NOW)
        is Errors.IP
    )
    assert (
        error_of(check, security, bad, ip="192.0.2.1", timestamp=None, sign=None, now_ms=NOW)
        is Errors.SIGN
    )
    assert (
        error_of(
            check, security, bad, ip="192.0.2.1", timestamp=str(NOW), sign=signature, now_ms=NOW
        )
        is Errors.KEYWORD
    )


def test_unsigned_robot_ignores_timestamp_and_sign() -> None:
    security = Security(keywords=("ok",))
    good = parse_message({"msgtype": "text", "text": {"content": "ok"}})
    check(security, good, ip="1.2.3.4", timestamp="garbage", sign="garbage", now_ms=NOW)
