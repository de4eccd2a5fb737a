"""A real ``gong serve`` on each backend: a message storage could not hold is refused with a
specific errcode (never -1), alike on SQLite and PostgreSQL, and never fails its neighbours."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN_TOKEN, ServerProcess, gong_cli, run_sync

pytestmark = pytest.mark.slow
OK = {"errcode": 0, "errmsg": "ok"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _field_invalid(field: str, detail: str) -> dict[str, Any]:
    return {
        "errcode": 400402,
        "errmsg": f"错误描述:参数 {field} 格式不正确，{detail}; 解决方案:请修正对应参数;"
        "参考链接:请参考本接口对应文档查看参数要求，或者在https://open.dingtalk.com/document/  "
        "搜索对应文档;",
    }


#: name → (body, expected answer). Sent all at once, so they share group commits.
BAD: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "long msgUuid": (
        {"msgtype": "text", "text": {"content": "CI long"}, "msgUuid": "u" * 201},
        _field_invalid("msgUuid", "长度不能超过 200 个字符"),
    ),
    "NUL msgUuid": (
        {"msgtype": "text", "text": {"content": "CI nul"}, "msgUuid": "deploy\x0042"},
        _field_invalid("msgUuid", "不能包含 NUL 字符(U+0000)"),
    ),
}
#: Good messages at the edges: kept whole on every backend.
EDGES = [
    {"msgtype": "text", "text": {"content": "CI widest"}, "msgUuid": "界" * 200},
    {"msgtype": "text", "text": {"content": "CI log:\x00end"}, "at": {"atMobiles": ["1\x00"]}},
]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_unstorable_fields_get_400402_and_their_neighbours_are_stored(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data)}
    if backend == "postgres":
        from tests.conftest import _pg_reset

        url = request.getfixturevalue("pg_database")
        run_sync(_pg_reset(url))
        env["GONG_DATABASE_URL"] = url
    gong_cli(["group", "create", "ops", "--json"], env)
    create = ["robot", "create", "1", "--name", "ci", "--keyword", "CI", "--rate-limit", "0"]
    robot = json.loads(gong_cli([*create, "--json"], env).stdout)
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        send = f"{server.url}/robot/send?access_token={robot['access_token']}"
        good = [{"msgtype": "text", "text": {"content": f"CI {n}"}} for n in range(40)]
        good[10:10] = EDGES

        async def burst() -> list[dict[str, Any]]:
            bodies = good[:20] + [b for b, _ in BAD.values()] + good[20:]
            async with httpx.AsyncClient(timeout=10) as client:
                answers = await asyncio.gather(*(client.post(send, json=b) for b in bodies))
            return [a.json() for a in answers]

        answers = asyncio.run(burst())
        bad_answers = answers[20 : 20 + len(BAD)]
        assert bad_answers == [expected for _, expected in BAD.values()]
        assert answers[:20] + answers[20 + len(BAD) :] == [OK] * len(good)

        page = httpx.get(
            f"{server.url}/api/groups/1/messages", params={"limit": 200}, headers=ADMIN
        ).json()
        stored = {m["content"]["text"]["content"]: m for m in page["messages"]}
        assert set(stored) == {b["text"]["content"] for b in good}
        assert stored["CI widest"]["msgUuid"] == "界" * 200
        assert stored["CI log:\x00end"]["unresolved"] == ["1\x00"]
        # The refused calls are on the robot's record (written best-effort, soon), with reasons.
        deadline = time.monotonic() + 5
        while True:
            refusals = httpx.get(
                f"{server.url}/api/robots/{robot['id']}/refusals", headers=ADMIN
            ).json()
            if len(refusals) >= len(BAD) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [r["reason"] for r in refusals] == ["field_invalid"] * len(BAD)
        assert {r["errcode"] for r in refusals} == {400402}
        assert "系统繁忙" not in server.log()
    finally:
        server.stop()
