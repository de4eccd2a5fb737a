from __future__ import annotations

import httpx

from gong.web.app import GongApp


async def test_ok_roundtrip(
    app: GongApp, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    group = (await client.post("/api/groups", json={"name": "ops"}, headers=admin_headers)).json()
    robot = (
        await client.post(
            f"/api/groups/{group['id']}/robots",
            json={"name": "ci", "keywords": ["CI"]},
            headers=admin_headers,
        )
    ).json()
    r = await client.post(
        f"/robot/send?access_token={robot['access_token']}",
        json={"msgtype": "text", "text": {"content": "CI green"}},
    )
    assert r.content == b'{"errcode":0,"errmsg":"ok"}'
