"""``GET /api/search`` and ``DELETE /api/messages/{id}`` over HTTP, against a real server.

An admin token alone searches every group; with ``as_user`` it searches as that account, which
never learns of a group it does not see. Bad queries are a clear 422, never a 5xx; characters
that mean something to SQL or FTS match themselves. Recall follows the rules of
:class:`gong.domain.history.Archive`: an admin recalls any message, a person their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN, ServerProcess, gong_cli, now_ms, signed_url

MOBILES = {"alice": "13800000001", "bob": "13800000002", "carol": "13800000003"}


@dataclass
class Site:
    server: ServerProcess
    ops: int
    dev: int
    ops_robot: dict[str, Any]
    dev_robot: dict[str, Any]

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.server.url + path, params=params, headers=ADMIN, timeout=10)

    def search(self, q: str, **params: Any) -> httpx.Response:
        return self.get("/api/search", q=q, **params)

    def found(self, q: str, **params: Any) -> list[int]:
        answer = self.search(q, **params)
        assert answer.status_code == 200, answer.text
        return [hit["message"]["id"] for hit in answer.json()["results"]]

    def send(self, robot: dict[str, Any], content: str) -> int:
        """Post a text message through the robot API; its id."""
        url = signed_url(self.server.url, robot["access_token"], robot["secret"], now_ms())
        body = {"msgtype": "text", "text": {"content": content}}
        answer = httpx.post(url, json=body, timeout=10)
        assert answer.json()["errcode"] == 0, answer.text
        newest = self.get(f"/api/groups/{robot['group_id']}/messages", limit=1).json()
        message_id: int = newest["messages"][0]["id"]
        return message_id

    def post_as(self, username: str, group_id: int, content: str) -> int:
        """Post as a person, as from the web app's composer; the message's id."""
        answer = httpx.post(
            f"{self.server.url}/api/groups/{group_id}/messages",
            params={"as_user": username},
            json={"msgtype": "text", "text": {"content": content}},
            headers=ADMIN,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        message_id: int = answer.json()["id"]
        return message_id

    def recall(self, message_id: int, as_user: str | None = None) -> httpx.Response:
        params = {} if as_user is None else {"as_user": as_user}
        return httpx.delete(
            f"{self.server.url}/api/messages/{message_id}",
            params=params,
            headers=ADMIN,
            timeout=10,
        )


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return json.loads(gong_cli([*args, "--json"], env, input=stdin).stdout)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Groups ops (alice, bob) and dev (carol), each with a signed robot; a running server."""
    data = tmp_path_factory.mktemp("search") / "data"
    env = {"GONG_DATA_DIR": str(data), "GONG_SQLITE_SYNCHRONOUS": "NORMAL"}
    ops = _cli(env, "group", "create", "ops")["id"]
    dev = _cli(env, "group", "create", "dev")["id"]
    robots = [
        _cli(env, "robot", "create", str(g), "--name", n, "--sign", "--rate-limit", "0")
        for g, n in ((ops, "ops-bot"), (dev, "dev-bot"))
    ]
    for username, group in (("alice", ops), ("bob", ops), ("carol", dev)):
        _cli(env, "member", "add", str(group), "--name", username, "--mobile", MOBILES[username])
        _cli(
            env,
            "user",
            "create",
            username,
            "--password-stdin",
            "--member",
            f"{group}:{MOBILES[username]}",
            stdin="a long password\n",
        )
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        yield Site(server, ops, dev, robots[0], robots[1])
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_admin_token_searches_every_group_and_as_user_only_theirs(site: Site) -> None:
    in_ops = site.send(site.ops_robot, "数据库连接池耗尽 ops-db")
    in_dev = site.send(site.dev_robot, "构建失败: 连接池 dev-ci")

    assert site.found("连接池耗") == [in_ops]
    assert site.found("连接池")[:2] == [in_dev, in_ops]
    assert site.found("连接池", group_id=site.dev) == [in_dev]
    # As alice (ops only): dev is not there for her, named or not.
    assert in_dev not in site.found("连接池", as_user="alice")
    assert in_ops in site.found("连接池", as_user="alice")
    assert site.found("dev-ci", as_user="alice") == []
    for group_id in (site.dev, 999_999):  # hidden and missing answer alike: nothing
        answer = site.search("连接池", as_user="alice", group_id=group_id)
        assert answer.status_code == 200
        assert answer.json() == {"results": [], "next_before": None}
    assert site.found("连接池", as_user="carol") == [in_dev]

    nobody = site.search("连接池", as_user="nobody")
    assert nobody.status_code == 404
    assert nobody.json()["error"]["code"] == "not_found"
    anonymous = httpx.get(f"{site.server.url}/api/search", params={"q": "连接池"})
    assert anonymous.status_code == 401
    wrong = httpx.get(
        f"{site.server.url}/api/search",
        params={"q": "连接池"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"q": ""}, "at least 2 characters"),
        ({"q": "   "}, "at least 2 characters"),
        ({"q": "a"}, "at least 2 characters"),
        ({"q": "x" * 201}, "200"),
        ({"q": "x" * 10_000}, "200"),
        ({"q": "a\x00b"}, "control characters"),
        ({"q": "ab\x07"}, "control characters"),
        ({"q": " ".join(f"w{i}" for i in range(11))}, "at most 10"),
        ({"q": "ok", "limit": 0}, "limit"),
        ({"q": "ok", "limit": 101}, "limit"),
        ({"q": "ok", "before": 0}, "before"),
        ({"q": "ok", "msgtype": "voice"}, "msgtype"),
        ({"q": "ok", "alert_state": "burning"}, "alert_state"),
        ({"q": "ok", "since": -1}, "since"),
        ({"q": "ok", "group_id": "x"}, "group_id"),
    ],
)
def test_bad_input_is_a_clear_422(site: Site, params: dict[str, Any], said: str) -> None:
    answer = site.get("/api/search", **params)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert said in json.dumps(error, ensure_ascii=False)


def test_a_nul_in_the_url_is_refused(site: Site) -> None:
    answer = httpx.get(f"{site.server.url}/api/search?q=ab%00cd", headers=ADMIN, timeout=10)
    assert answer.status_code == 422
    assert "control characters" in answer.json()["error"]["message"]


def test_sql_and_fts_syntax_match_themselves(site: Site) -> None:
    syntax = site.send(site.ops_robot, 'fts " * ( ) NEAR AND 语法')
    percent = site.send(site.ops_robot, "磁盘 100% 已满")
    percent_like = site.send(site.ops_robot, "磁盘 1000 未满")
    underscore = site.send(site.ops_robot, "disk_full 告警")
    underscore_like = site.send(site.ops_robot, "diskXfull 告警")

    assert site.found('" * ( ) NEAR AND') == [syntax]
    assert site.found("NEAR AND 语法") == [syntax]
    assert site.search('"').status_code == 422  # one character
    assert site.found("*)") == []
    assert site.found("0%") == [percent]
    assert site.search("%").status_code == 422
    assert site.found("k_f") == [underscore]
    assert site.found("k_") == [underscore]
    assert percent_like not in site.found("00%")
    assert underscore_like not in site.found("sk_")
    for tricky in ["' OR 1=1 --", "%%", "__", "a' AND '1", "NOT 磁盘", "磁盘 OR x", '"磁盘"']:
        answer = site.search(tricky)
        assert answer.status_code == 200, (tricky, answer.text)
        assert answer.json()["results"] == [], tricky


def test_pages_go_back_with_before(site: Site) -> None:
    ids = [site.send(site.ops_robot, f"翻页测试 第{i}条") for i in range(5)]
    pages: list[list[int]] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if before is not None:
            params["before"] = before
        answer = site.search("翻页测试", **params).json()
        pages.append([hit["message"]["id"] for hit in answer["results"]])
        before = answer["next_before"]
        if before is None:
            break
        assert len(pages) < 10
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    hit = site.search("第3条").json()["results"][0]
    assert hit["snippet"] == [
        {"text": "翻页测试 ", "match": False},
        {"text": "第3条", "match": True},
    ]


def test_recall_rules_over_http(site: Site) -> None:
    mine = site.post_as("alice", site.ops, "撤回测试 alice 写的")
    bobs = site.post_as("bob", site.ops, "撤回测试 bob 写的")
    robots = site.send(site.ops_robot, "撤回测试 robot 发的")
    assert site.found("撤回测试") == [robots, bobs, mine]

    # A person: only their own message (403 for another's or a robot's); what they do not see
    # is not there (404).
    for other in (bobs, robots):
        refused = site.recall(other, as_user="alice")
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
    assert site.recall(bobs, as_user="carol").status_code == 404
    assert site.recall(999_999, as_user="alice").status_code == 404
    assert site.recall(999_999).status_code == 404
    assert site.recall(mine, as_user="nobody").status_code == 404

    recalled = site.recall(mine, as_user="alice")
    assert recalled.status_code == 200, recalled.text
    body = recalled.json()
    assert (body["id"], body["recalled"], body["recalled_by"]) == (mine, True, "alice")
    assert body["content"] is None and body["payload"] is None
    again = site.recall(mine, as_user="alice")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert site.recall(mine).status_code == 409

    # An admin token: any message.
    by_admin = site.recall(robots)
    assert by_admin.status_code == 200
    assert by_admin.json()["recalled_by"] == "admin"

    shown = site.get(f"/api/messages/{mine}").json()
    assert shown["recalled"] is True
    assert shown["content"] is None
    assert shown["recalled_at"] == body["recalled_at"]
    assert site.found("撤回测试") == [bobs]
    assert site.found("alice 写的") == []
    listed = site.get(f"/api/groups/{site.ops}/messages", limit=5).json()["messages"]
    assert {m["id"]: m["recalled"] for m in listed if m["id"] in (mine, bobs, robots)} == {
        mine: True,
        bobs: False,
        robots: True,
    }


def test_the_search_path_is_in_the_openapi_document(site: Site) -> None:
    document = httpx.get(f"{site.server.url}/openapi.json", timeout=10).json()
    assert "/api/search" in document["paths"]
    assert "delete" in document["paths"]["/api/messages/{message_id}"]
    schema = document["components"]["schemas"]["SearchPageOut"]
    assert set(schema["properties"]) == {"results", "next_before"}


def test_retention_over_patch(site: Site) -> None:
    url = f"{site.server.url}/api/groups/{site.dev}"
    kept = httpx.patch(url, json={"retention_days": 30, "retention_count": 1000}, headers=ADMIN)
    assert kept.status_code == 200, kept.text
    assert (kept.json()["retention_days"], kept.json()["retention_count"]) == (30, 1000)
    assert httpx.get(url, headers=ADMIN).json()["retention_days"] == 30
    forever = httpx.patch(url, json={"retention_days": 0, "retention_count": 0}, headers=ADMIN)
    assert (forever.json()["retention_days"], forever.json()["retention_count"]) == (None, None)
    for bad in ({"retention_days": -1}, {"retention_days": 36_501}, {"retention_count": "x"}):
        refused = httpx.patch(url, json=bad, headers=ADMIN)
        assert refused.status_code == 422, (bad, refused.text)


def test_retention_fields_take_integers_only(site: Site) -> None:
    """As every other integer of the API (``WholeNumber``): JSON's ``false`` is not 0."""
    url = f"{site.server.url}/api/groups/{site.dev}"
    for bad in ({"retention_count": False}, {"retention_days": True}, {"retention_days": "3"}):
        refused = httpx.patch(url, json=bad, headers=ADMIN)
        assert refused.status_code == 422, (bad, refused.text)
