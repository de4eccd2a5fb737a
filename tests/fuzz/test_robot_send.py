"""Hypothesis throws bodies, query strings and headers at ``/robot/send``: every answer must be
HTTP 200 with DingTalk's envelope and a catalogued errcode, and ``errcode 0`` must mean stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.models import RateLimit
from gong.protocol.errors import Errors
from gong.protocol.signing import signed_query
from gong.web.app import GongApp, create_app
from tests.conftest import make_client
from tests.helpers import create_robot

CODES = {e.code for e in Errors.all()} | {e.legacy_code for e in Errors.all() if e.legacy_code}

leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "0", "1", "中文 a", "@13800000001", "https://x", "dingtalk://x"])
)
values = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)


def obj(**fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={k: v | values for k, v in fields.items()})


url_like = st.sampled_from(["https://example.com/a", "", "javascript:alert(1)"]) | st.text(
    max_size=20
)
message_like = st.fixed_dictionaries(
    {
        "msgtype": st.sampled_from(
            ["text", "link", "markdown", "actionCard", "feedCard", "image", "x"]
        )
        | values
    },
    optional={
        "text": obj(content=st.text(max_size=60)),
        "link": obj(
            title=st.text(max_size=20),
            text=st.text(max_size=20),
            messageUrl=url_like,
            messageURL=url_like,
            picUrl=url_like,
        ),
        "markdown": obj(title=st.text(max_size=20), text=st.text(max_size=60)),
        "actionCard": obj(
            title=st.text(max_size=20),
            text=st.text(max_size=40),
            singleTitle=st.text(max_size=10),
            singleURL=url_like,
            btns=st.lists(obj(title=st.text(max_size=10), actionURL=url_like), max_size=3),
            btnOrientation=st.sampled_from(["0", "1", 0, 1, "", None, 2]),
            hideAvatar=st.sampled_from(["0", "1", 0, 1, "", None, "x"]),
        ),
        "feedCard": obj(
            links=st.lists(
                obj(title=st.text(max_size=10), messageURL=url_like, picURL=url_like), max_size=3
            )
        ),
        "image": obj(picURL=url_like),
        "at": obj(
            atMobiles=st.lists(st.text(max_size=12) | st.integers(), max_size=3),
            atUserIds=st.lists(st.text(max_size=8), max_size=3),
            isAtAll=st.sampled_from([True, False, "true", 0, 1, None, "x"]),
            atDingtalkIds=st.lists(st.text(max_size=8), max_size=2),
        ),
        "msgUuid": st.text(max_size=10) | st.integers(),
    },
)
bodies = (
    message_like.map(lambda m: json.dumps(m, ensure_ascii=False).encode())
    | values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "APPLICATION/JSON",
        "application/json;charset=gbk",
        "multipart/form-data",
    ]
)


class Target:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, app: GongApp, tokens: dict[str, str], secret: str
    ) -> None:
        self.loop, self.app, self.tokens, self.secret = loop, app, tokens, secret
        #: (robot, msgUuid) pairs already stored: a repeat is acknowledged but not stored again.
        self.seen: set[tuple[str, str]] = set()
        self.client = make_client(app)

    def call(self, method: str, query: str, body: bytes, content_type: str) -> httpx.Response:
        headers = {"content-type": content_type} if content_type else {}
        return self.loop.run_until_complete(
            self.client.request(method, f"/robot/send?{query}", content=body, headers=headers)
        )

    def stored(self) -> int:
        return self.loop.run_until_complete(self.app.runtime.history.count_messages())


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    loop = asyncio.new_event_loop()
    settings_ = Settings(
        data_dir=Path(tmp_path_factory.mktemp("fuzz")), sqlite_synchronous="NORMAL"
    )
    app = create_app(settings_, clock=ManualClock(1_800_000_000_000))

    async def setup() -> tuple[dict[str, str], str]:
        await app.startup()
        runtime = app.runtime
        group = await runtime.groups.create("fuzz")
        await runtime.groups.add_member(group.id, name="张三", mobile="13800000001", user_id="zs")
        unlimited = RateLimit(0, 60, 600)
        keyword = await create_robot(
            runtime, group.id, name="k", keywords=["a", "e", "中", "1"], rate_limit=unlimited
        )
        signing = await create_robot(
            runtime, group.id, name="s", signing=True, rate_limit=unlimited
        )
        assert signing.secret
        return {"keyword": keyword.access_token, "signing": signing.access_token}, signing.secret

    tokens, secret = loop.run_until_complete(setup())
    yield Target(loop, app, tokens, secret)
    loop.run_until_complete(target_close(app))
    loop.close()


async def target_close(app: GongApp) -> None:
    await app.shutdown()


def check_envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    text = response.content.decode("utf-8")
    assert text.startswith('{"errcode":')
    data = json.loads(text)
    assert list(data) == ["errcode", "errmsg"]
    assert isinstance(data["errcode"], int)
    assert isinstance(data["errmsg"], str)
    assert data["errcode"] in CODES
    assert data["errcode"] != -1, "an internal failure leaked out as 系统繁忙"
    return data


queries = st.lists(
    st.tuples(
        st.sampled_from(["access_token", "timestamp", "sign", "x", "access%5Ftoken"])
        | st.text(max_size=8),
        st.text(max_size=30),
    ),
    max_size=5,
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    which=st.sampled_from(["keyword", "signing", "none"]),
    extra=queries,
    body=bodies,
    content_type=content_types,
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
    sign=st.booleans(),
)
def test_every_answer_is_a_dingtalk_envelope(
    target: Target,
    which: str,
    extra: list[tuple[str, str]],
    body: bytes,
    content_type: str,
    method: str,
    sign: bool,
) -> None:
    query = urlencode(extra)
    if which != "none":
        query += f"&access_token={target.tokens[which]}"
        if sign:
            query += "&" + signed_query(target.secret, 1_800_000_000_000)
    before = target.stored()
    data = check_envelope(target.call(method, query, body, content_type))
    after = target.stored()
    uuid = _msg_uuid(body)
    if data["errcode"] == 0 and uuid is not None and (which, uuid) in target.seen:
        assert after == before  # a repeated msgUuid is acknowledged, and stored once
        return
    assert (after == before + 1) == (data["errcode"] == 0)
    if data["errcode"] == 0 and uuid is not None:
        target.seen.add((which, uuid))


def _msg_uuid(body: bytes) -> str | None:
    """The body's msgUuid as the robot remembers it, if it has one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("msgUuid") if isinstance(data, dict) else None
    return None if value in (None, "") else str(value)
