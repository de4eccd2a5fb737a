"""Messages beyond the fixtures: non-ASCII text, missing optional fields, and payloads so big
that lists must be cut ("and N more") to stay under DingTalk's 20 000 bytes."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from gong.integrations.text import escape
from gong.protocol.limits import MAX_ALERT_MESSAGE_BYTES
from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import GOLDEN, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _load(source: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(payload(source, name))
    return document


async def _post(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    name: str,
    document: dict[str, Any],
) -> dict[str, Any]:
    settings = {"travis_verify": False} if source == "travis" else {}
    robot = await make_robot(source, **settings)
    delivery = deliver(source, name, document=json.dumps(document).encode(), secret=None)
    answer = await send(client, robot, delivery)
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    content: dict[str, Any] = message["content"]
    return content


def _size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


# -- big payloads -------------------------------------------------------------------------------


def _thousand_commits() -> dict[str, Any]:
    document = _load("github", "push")
    commit = document["commits"][0]
    commits = []
    for i in range(1000):
        item = copy.deepcopy(commit)
        item["id"] = f"{i:040x}"
        item["message"] = f"修复第 {i} 个问题：{'很长的说明' * 40}\n\n正文 " + "x" * 2000
        item["url"] = f"https://github.com/binkkatal/sample_app/commit/{item['id']}"
        commits.append(item)
    document["commits"] = commits
    return document


async def test_thousand_commit_push(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    content = await _post(client, admin_headers, make_robot, "github", "push", _thousand_commits())
    text = content["markdown"]["text"]
    assert content["markdown"]["title"] == (
        "[binkkatal/sample_app] binkkatal pushed 1000 commits to master"
    )
    assert text.count("\n- [") == 10
    assert text.endswith("\n- and 990 more commits")
    assert "修复第 0 个问题：很长的说明很长的说明" in text
    assert _size(content) <= 20_000


async def test_gitlab_truncated_commit_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """GitLab sends at most 20 commits; the count comes from total_commits_count."""
    document = _load("gitlab", "push")
    document["commits"] = document["commits"] * 10
    document["total_commits_count"] = 1000
    content = await _post(client, admin_headers, make_robot, "gitlab", "push", document)
    assert content["markdown"]["text"].endswith("\n- and 990 more commits")
    assert "pushed 1000 commits" in content["markdown"]["title"]


async def test_five_hundred_alerts_are_all_kept(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Gong's copy of an alert group holds every alert, one line each (the relay fits the
    upstream copy to 20 000 bytes)."""
    document = _load("alertmanager", "firing_two_alerts_zulip")
    alert = document["alerts"][0]
    alerts = []
    for i in range(500):
        item = copy.deepcopy(alert)
        item["labels"]["host"] = f"host-{i:03d}"
        item["annotations"]["description"] = f"CPU core temperature is {i}C " + "!" * 200
        alerts.append(item)
    alerts[-1]["status"] = "resolved"
    document["alerts"] = alerts
    content = await _post(
        client, admin_headers, make_robot, "alertmanager", "firing_two_alerts_zulip", document
    )
    text = content["actionCard"]["text"]
    assert content["actionCard"]["title"] == "[FIRING:499, RESOLVED:1] High CPU Temperature"
    assert text.startswith("#### 🔥 499 firing, 1 resolved\n\n**High CPU Temperature**")
    items = [line for line in text.split("\n") if line.startswith("- ")]
    assert len(items) == 500
    assert [line[:4] for line in items] == ["- 🔥 "] * 499 + ["- ✅ "]
    assert all(f"host={escape(f'host-{i:03d}')} " in items[i] for i in range(500))
    assert "more alert" not in text
    assert 20_000 < _size(content) <= MAX_ALERT_MESSAGE_BYTES


async def test_long_bodies_are_cut(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    document = _load("github", "pull_request_opened")
    document["pull_request"]["body"] = ("A long description line. " * 20 + "\n") * 500
    document["pull_request"]["title"] = "T" * 5000
    content = await _post(
        client, admin_headers, make_robot, "github", "pull_request_opened", document
    )
    card = content["actionCard"]
    assert len(card["title"]) == 120 and card["title"].endswith("…")
    quoted = [line for line in card["text"].split("\n") if line.startswith(">")]
    assert 0 < len(quoted) <= 8
    assert quoted[-1].endswith(" …")
    assert _size(content) <= 20_000


async def test_jira_many_changes(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    document = _load("jira", "issue_updated_priority")
    document["changelog"]["items"] = [
        {"field": f"customfield_{i}", "fromString": "a" * 300, "toString": "b" * 300}
        for i in range(100)
    ]
    content = await _post(
        client, admin_headers, make_robot, "jira", "issue_updated_priority", document
    )
    text = content["actionCard"]["text"]
    assert text.count("\n- **Customfield_") == 15
    assert text.endswith("- and 85 more changes")
    assert "a" * 79 + "…" in text
    assert _size(content) <= 20_000


# -- non-ASCII and missing optional fields: golden ---------------------------------------------


def _non_ascii_push() -> dict[str, Any]:
    document = _load("github", "push")
    document["ref"] = "refs/heads/功能/登录"
    document["pusher"]["name"] = "张三"
    document["repository"]["full_name"] = "团队/仓库"
    document["commits"][0]["message"] = "修复：登录页面在 Safari 上的 *样式* 问题 🎉\n\n详细说明"
    document["commits"][0]["author"]["name"] = "李四"
    return document


def _non_ascii_jira() -> dict[str, Any]:
    document = _load("jira", "issue_created")
    document["issue"]["fields"]["summary"] = "用户无法登录 – «Ärger» 🚨"
    document["issue"]["fields"]["description"] = "步骤：\n1. 打开页面\n2. 点击「登录」"
    document["user"]["displayName"] = "王五"
    return document


def _non_ascii_alert() -> dict[str, Any]:
    document = _load("alertmanager", "resolved")
    alert = document["alerts"][0]
    alert["labels"] = {"alertname": "磁盘将满", "机房": "杭州-1", "severity": "严重"}
    alert["annotations"] = {"summary": "/data 使用率 95%", "description": "请清理日志 <日志目录>"}
    document["commonLabels"] = alert["labels"]
    document["groupLabels"] = {"alertname": "磁盘将满"}
    return document


def _minimal_push() -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "commits": [{"id": "a" * 40}],
        "repository": {"full_name": "o/r"},
        "sender": {"login": "octo"},
    }


def _minimal_pr() -> dict[str, Any]:
    return {
        "action": "opened",
        "pull_request": {
            "number": 7,
            "title": "Small fix",
            "html_url": "https://github.com/o/r/pull/7",
            "body": None,
            "user": {"login": "octo"},
            "head": {"ref": "fix"},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": "o/r"},
        "sender": {"login": "octo"},
    }


def _minimal_workflow_run() -> dict[str, Any]:
    return {
        "action": "completed",
        "workflow_run": {
            "run_number": 3,
            "status": "completed",
            "conclusion": "timed_out",
            "head_sha": "b" * 40,
            "html_url": "https://github.com/o/r/actions/runs/3",
        },
        "repository": {"full_name": "o/r"},
    }


def _minimal_gitlab_pipeline() -> dict[str, Any]:
    return {
        "object_kind": "pipeline",
        "object_attributes": {"id": 9, "ref": "main", "sha": "c" * 40, "status": "failed"},
        "project": {"path_with_namespace": "g/p"},
    }


def _minimal_jira() -> dict[str, Any]:
    return {"webhookEvent": "jira:issue_created", "issue": {"key": "X-1"}}


def _minimal_alert() -> dict[str, Any]:
    return {"status": "firing", "alerts": [{"status": "firing"}]}


def _minimal_trello() -> dict[str, Any]:
    return {"action": {"type": "commentCard", "data": {"card": {"name": "C"}, "text": "hi"}}}


def _minimal_travis() -> dict[str, Any]:
    return {
        "number": "1",
        "state": "canceled",
        "status_message": "Canceled",
        "build_url": "https://app.travis-ci.com/o/r/builds/1",
        "repository": {"name": "r", "owner_name": "o"},
    }


CASES = [
    ("github", "push", "push_non_ascii", _non_ascii_push),
    ("jira", "issue_created", "issue_created_non_ascii", _non_ascii_jira),
    ("alertmanager", "resolved", "resolved_non_ascii", _non_ascii_alert),
    ("github", "push", "push_minimal", _minimal_push),
    ("github", "pull_request_opened", "pull_request_minimal", _minimal_pr),
    ("github", "workflow_run_completed_failure", "workflow_run_minimal", _minimal_workflow_run),
    ("gitlab", "pipeline_failed", "pipeline_minimal", _minimal_gitlab_pipeline),
    ("jira", "issue_created", "issue_created_minimal", _minimal_jira),
    ("alertmanager", "resolved", "alert_minimal", _minimal_alert),
    ("grafana", "resolved", "alert_minimal", _minimal_alert),
    ("trello", "commentCard", "comment_minimal", _minimal_trello),
    ("travis", "passed_push", "canceled_minimal", _minimal_travis),
]


@pytest.mark.parametrize(
    ("source", "name", "variant", "make"), CASES, ids=[f"{c[0]}/{c[2]}" for c in CASES]
)
async def test_variant(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    name: str,
    variant: str,
    make: Any,
) -> None:
    content = await _post(client, admin_headers, make_robot, source, name, make())
    golden(GOLDEN / source / f"{variant}.json", content)
