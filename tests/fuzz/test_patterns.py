"""The management API's schema says what its checks say: hypothesis draws values (from the
characters where Python, Rust's regex and ECMA-262 disagree) and the OpenAPI document must allow
exactly what the API accepts — the model, then the domain check behind it.

"Exactly" where a pattern can say it. Where it cannot (which non-ASCII names the IDNA codec
encodes, what ``str.isprintable`` refuses beyond controls and spaces) the schema allows more and
its description says what; a Trello callback URL's form refuses what ``urlsplit`` would clean up
first (tabs, line breaks, spaces before the scheme) and stray brackets.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gong.domain.errors import Invalid
from gong.domain.models import Outgoing, RateLimit, RobotKind, Upstream
from gong.domain.robots import check_outgoing_settings, check_settings, check_upstream
from gong.integrations.config import check_robot_settings
from gong.web.api.schemas import (
    GroupIn,
    IntegrationSettingsIn,
    MemberIn,
    OutgoingIn,
    RobotIn,
    UpstreamIn,
)
from gong.web.app import build_api

#: Characters the three regex dialects and ``str.strip`` read differently, and some plain ones.
TRICKY = (
    "\t\n\x0b\x0c\r \x1c\x1f\x00\x7f\x85\x9f\xa0\u1680\u2000\u200b\u2028\u202f\u3000\ufeff"
    "\u0661\uff10\uff0f\uff1a\u2100\ue000"
)
PLAIN = "aZ09-._~:/?#[]@!$&'()*+,;=%éß例"
text = st.text(alphabet=st.sampled_from(TRICKY + PLAIN), max_size=12)
spaces = st.text(alphabet=st.sampled_from(TRICKY[:20]), max_size=2)

DEFAULT_LIMIT = RateLimit(20, 60, 600)
CHECKED = settings(max_examples=300, derandomize=True, deadline=None)


def _validator(model: type[BaseModel]) -> Any:
    document = build_api().openapi()
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{model.__name__}", "components": document["components"]}
    )


SCHEMAS = {
    model: _validator(model)
    for model in (GroupIn, MemberIn, RobotIn, UpstreamIn, OutgoingIn, IntegrationSettingsIn)
}


def in_schema(model: type[BaseModel], **fields: Any) -> bool:
    """Whether the OpenAPI document allows this body."""
    return bool(SCHEMAS[model].is_valid(fields))


def parsed(model: type[BaseModel], **fields: Any) -> bool:
    """Whether the model (what the API enforces first) takes this body."""
    try:
        model.model_validate(fields)
    except ValidationError:
        return False
    return True


def refusal(check: Any, *args: Any, **kwargs: Any) -> str | None:
    """Why the domain check refuses, or None."""
    try:
        check(*args, **kwargs)
    except Invalid as exc:
        return exc.message
    return None


def accepts(check: Any, *args: Any, **kwargs: Any) -> bool:
    return refusal(check, *args, **kwargs) is None


@CHECKED
@given(name=text)
def test_a_name_is_not_only_spaces(name: str) -> None:
    assert in_schema(GroupIn, name=name) == (parsed(GroupIn, name=name) and bool(name.strip()))


def custom_robot(keywords: list[str], ip_allow: list[str]) -> bool:
    return accepts(
        check_settings,
        kind=RobotKind.CUSTOM,
        keywords=keywords,
        signing=False,
        ip_allow=ip_allow,
        rate_limit=DEFAULT_LIMIT,
    )


@CHECKED
@given(keyword=text)
def test_keywords(keyword: str) -> None:
    api = parsed(RobotIn, name="r", keywords=[keyword]) and custom_robot([keyword], [])
    assert in_schema(RobotIn, name="r", keywords=[keyword]) == api


octet = st.sampled_from(["0", "00", "01", "9", "10", "99", "199", "255", "256", "300", "\u0661"])
ip_entries = st.builds(
    lambda before, parts, prefix, after: before + ".".join(parts) + prefix + after,
    spaces,
    st.lists(octet, min_size=3, max_size=5),
    st.sampled_from(["", "/0", "/08", "/32", "/33", "/", "/1\u0661", "/255.255.0.0", "/032"]),
    spaces,
)


@CHECKED
@given(entry=ip_entries | text)
def test_ip_allow_entries(entry: str) -> None:
    api = parsed(RobotIn, name="r", ip_allow=[entry]) and custom_robot([], [entry])
    assert in_schema(RobotIn, name="r", ip_allow=[entry]) == api


hosts = st.sampled_from(
    [
        "example.com",
        "a",
        "a.",
        "a..b",
        ".a",
        "x" * 63 + ".com",
        "x" * 64,
        "例え.jp",
        "[2001:db8::1]",
        "[fe80::1%eth0]",
        "[fe80::1%]",
        "[::ffff:1.2.3.4]",
        "[v1.x]",
        "[v1.]",
        "[1.2.3.4]",
        "[::1",
        "::1]",
        "203.0.113.7",
        "user@host",
        "a@b@host",
        ":80",
        "",
        "a\uff0fb",
        "a%20b",
    ]
)
urls = st.builds(
    lambda before, scheme, host, port, rest, after: f"{before}{scheme}{host}{port}{rest}{after}",
    spaces,
    st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "http:/", "ht\ttp://"]),
    hosts | text,
    st.sampled_from(["", ":", ":80", ":0080", ":65535", ":65536", ":x", ":\u0661"]),
    st.sampled_from(["", "/", "/a?b=1", "?q", "#", "#f", "/a b", "/\u3000", "/例"]) | text,
    spaces,
)


@CHECKED
@given(url=urls)
def test_upstream_urls(url: str) -> None:
    api = parsed(UpstreamIn, url=url) and accepts(check_upstream, Upstream(url=url))
    assert in_schema(UpstreamIn, url=url) == api


@CHECKED
@given(url=urls)
def test_outgoing_urls(url: str) -> None:
    schema = in_schema(OutgoingIn, url=url, token="t")
    refused = refusal(check_outgoing_settings, Outgoing(url=url, token="t"))
    if parsed(OutgoingIn, url=url, token="t") and refused is None:
        assert schema
    elif schema:  # the one rule no pattern states: a non-ASCII host must encode as IDNA
        assert refused is not None
        assert "is not a valid name" in refused
        assert not url.isascii()


@CHECKED
@given(url=urls)
def test_trello_callback_urls(url: str) -> None:
    schema = in_schema(IntegrationSettingsIn, trello_callback_url=url)
    api = parsed(IntegrationSettingsIn, trello_callback_url=url) and accepts(
        check_robot_settings, RobotKind.TRELLO, {"trello_callback_url": url}
    )
    if schema:
        assert api
    cleaned_up = any(c in url for c in "\t\n\r") or url != url.lstrip("".join(map(chr, range(33))))
    odd = url.count("@") > 1 or (
        ("[" in url or "]" in url) and (url.count("[") != 1 or url.count("]") != 1 or "@" in url)
    )
    if api and not cleaned_up and not odd:
        assert schema


@pytest.mark.parametrize(
    "url",
    [
        "https://oapi.dingtalk.com/robot/send?access_token=abc",
        "http://127.0.0.1:8000/robot/send?access_token=abc#",
        "https://[2001:db8::1]:8443/hook",
        "https://例え.jp/回调",
        "https://Example.COM.",
        "http://a%20b/",
    ],
)
def test_webhook_urls_in_use_are_allowed(url: str) -> None:
    assert in_schema(UpstreamIn, url=url)
    assert in_schema(OutgoingIn, url=url, token="t")
    assert in_schema(IntegrationSettingsIn, trello_callback_url=url)


@CHECKED
@given(word=text)
def test_tokens_secrets_and_keywords_of_a_target(word: str) -> None:
    url = "https://example.com/"
    cases: list[tuple[type[BaseModel], dict[str, str], Any, Any]] = [
        (OutgoingIn, {"token": word}, check_outgoing_settings, Outgoing(url=url, token=word)),
        (UpstreamIn, {"secret": word}, check_upstream, Upstream(url=url, secret=word)),
        (UpstreamIn, {"keyword": word}, check_upstream, Upstream(url=url, keyword=word)),
    ]
    for model, fields, check, target in cases:
        api = parsed(model, url=url, **fields) and accepts(check, target)
        assert in_schema(model, url=url, **fields) == api, fields


VALID_SETTINGS: dict[str, Any] = {
    "source_secret": "s",
    "only_events": ["push"],
    "exclude_events": ["x"],
    "template": '{"msgtype":"text","text":{"content":"x"}}',
    "event_field": "kind",
    "travis_verify": False,
    "trello_callback_url": "https://example.com/cb",
    "grafana_signature_header": "X-Sig",
    "grafana_timestamp_header": "X-Time",
}


@CHECKED
@given(value=text)
def test_integration_settings(value: str) -> None:
    def both(kind: RobotKind, key: str, candidate: Any) -> tuple[bool, bool]:
        given = {key: candidate}
        if kind is RobotKind.TEMPLATE:
            given["template"] = VALID_SETTINGS["template"]
        api = parsed(IntegrationSettingsIn, **given) and accepts(check_robot_settings, kind, given)
        return in_schema(IntegrationSettingsIn, **given), api

    for kind, key, candidate in (
        (RobotKind.GITHUB, "only_events", [value]),
        (RobotKind.TEMPLATE, "event_field", value),
        (RobotKind.TEMPLATE, "template", value),
        (RobotKind.GRAFANA, "grafana_signature_header", value),
    ):
        schema, api = both(kind, key, candidate)
        if key == "template" and schema and not api:  # what no pattern states: it compiles
            continue
        assert schema == api, key
    schema, api = both(RobotKind.GITHUB, "source_secret", value)
    if api:
        assert schema
    elif schema:  # what str.isprintable refuses beyond controls and spaces
        assert not value.isprintable()


# -- the rules spanning fields, which the schema states and the domain checks ----------------------

blank_or_not = st.none() | st.sampled_from(["", " ", "\u3000", "\x1c", "138", " zs "])


@CHECKED
@given(mobile=blank_or_not, user_id=blank_or_not)
def test_a_member_needs_a_mobile_or_a_user_id(mobile: str | None, user_id: str | None) -> None:
    body: dict[str, Any] = {"name": "m"}
    if mobile is not None:
        body["mobile"] = mobile
    if user_id is not None:
        body["userId"] = user_id
    assert parsed(MemberIn, **body)
    needs = bool((mobile or "").strip() or (user_id or "").strip())
    assert in_schema(MemberIn, **body) == needs


robots = st.fixed_dictionaries(
    {"name": st.just("r")},
    optional={
        "kind": st.sampled_from([k.value for k in RobotKind]),
        "keywords": st.sampled_from([[], ["k"], [" k ", "k"]]),
        "signing": st.booleans(),
        "ip_allow": st.sampled_from([[], ["10.0.0.0/8"]]),
        "settings": st.none()
        | st.dictionaries(
            st.sampled_from(sorted(VALID_SETTINGS)),
            st.none() | st.just("valid"),
            max_size=3,
        ).map(lambda given: {k: v and VALID_SETTINGS[k] for k, v in given.items()}),
    },
)


@settings(max_examples=500, derandomize=True, deadline=None)
@given(body=robots)
def test_what_a_robot_of_each_kind_needs_and_takes(body: dict[str, Any]) -> None:
    robot = RobotIn.model_validate(body)
    domain = accepts(
        check_settings,
        kind=robot.kind,
        keywords=robot.keywords,
        signing=robot.signing,
        ip_allow=robot.ip_allow,
        rate_limit=DEFAULT_LIMIT,
    ) and accepts(
        check_robot_settings, robot.kind, robot.settings.given() if robot.settings else {}
    )
    assert in_schema(RobotIn, **body) == domain, body
