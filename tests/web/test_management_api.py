"""The management API: bearer auth, CRUD, settings that take effect, pagination, JSON errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gong.clock import ManualClock
from gong.domain.models import RobotKind
from gong.protocol.signing import signed_query
from gong.web.app import GongApp
from tests.conftest import MakeRobot

OK = {"errcode": 0, "errmsg": "ok"}


async def send(
    client: httpx.AsyncClient, token: str, content: str = "CI", query: str = ""
) -> dict[str, Any]:
    response = await client.post(
        f"/robot/send?access_token={token}{query}",
        json={"msgtype": "text", "text": {"content": content}},
    )
    return dict(response.json())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
        {"Authorization": "Bearer"},
    ],
)
async def test_unauthenticated(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/groups"),
        ("POST", "/api/groups"),
        ("GET", "/api/robots/1"),
        ("GET", "/api/groups/1/messages"),
    ]:
        response = await client.request(method, path, headers=headers, json={"name": "x"})
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "unauthorized", "message": "a valid admin token is required (Bearer)"}
        }
        assert response.headers["www-authenticate"] == "Bearer"


async def test_stored_admin_token_works(app: GongApp, client: httpx.AsyncClient) -> None:
    token = await app.runtime.tokens.create("ci")
    response = await client.get("/api/groups", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_groups_members_robots(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    group = (await client.post("/api/groups", json={"name": "运维"}, headers=h)).json()
    assert group["name"] == "运维"
    assert (await client.get(f"/api/groups/{group['id']}", headers=h)).json() == group
    member = await client.post(
        f"/api/groups/{group['id']}/members",
        json={"name": "张三", "mobile": "13800000001", "userId": "zs"},
        headers=h,
    )
    assert member.status_code == 201
    assert member.json()["userId"] == "zs"
    duplicate = await client.post(
        f"/api/groups/{group['id']}/members", json={"name": "x", "mobile": "13800000001"}, headers=h
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"

    created = await client.post(
        f"/api/groups/{group['id']}/robots",
        json={
            "name": "ci",
            "keywords": ["CI"],
            "signing": True,
            "ip_allow": ["192.0.2.0/24"],
            "rate_limit": {"limit": 5, "window_s": 30, "block_s": 60},
        },
        headers=h,
    )
    assert created.status_code == 201
    robot = created.json()
    assert robot["webhook"] == f"http://gong.test/robot/send?access_token={robot['access_token']}"
    assert robot["secret"].startswith("SEC")
    assert robot["rate_limit"] == {"limit": 5, "window_s": 30, "block_s": 60}
    listed = (await client.get(f"/api/groups/{group['id']}/robots", headers=h)).json()
    assert [r["id"] for r in listed] == [robot["id"]]
    shown = (await client.get(f"/api/robots/{robot['id']}", headers=h)).json()
    assert shown["stats"] == {"accepted": 0, "refused": 0}


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/groups", {"name": ""}, 422, "invalid"),
        ("/api/groups", {"nom": "x"}, 422, "invalid"),
        ("/api/groups", [1], 422, "invalid"),
        ("/api/groups/999/members", {"name": "x", "mobile": "1"}, 404, "not_found"),
        ("/api/groups/1/robots", {"name": "r"}, 422, "invalid"),
        ("/api/groups/1/robots", {"name": "r", "keywords": ["k"] * 11}, 422, "invalid"),
        ("/api/groups/1/robots", {"name": "r", "ip_allow": ["::1"]}, 422, "invalid"),
        ("/api/groups/1/robots", {"name": "r", "keywords": ["k"], "kind": "nope"}, 422, "invalid"),
        (
            "/api/groups/1/robots",
            {"name": "r", "keywords": ["k"], "rate_limit": {"limit": -1}},
            422,
            "invalid",
        ),
        ("/api/groups/abc/robots", {"name": "r", "keywords": ["k"]}, 422, "invalid"),
        ("/api/nothing-here", {}, 404, "not_found"),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    await client.post("/api/groups", json={"name": "g"}, headers=admin_headers)
    response = await client.post(path, json=body, headers=admin_headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


async def test_invalid_json_body(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/groups", content=b"{", headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    ("kind", "patch", "message"),
    [
        ("github", {"keywords": ["CI"]}, "keywords apply only to custom robots"),
        ("custom", {"settings": {"source_secret": "s"}}, "source_secret applies to integration"),
        ("github", {"settings": {"template": "x"}}, "template does not apply to a github robot"),
        ("template", {"settings": {"template": None}}, "a template robot needs a template"),
        ("custom", {"keywords": [], "signing": False}, "needs at least one security setting"),
    ],
)
async def test_a_patch_that_does_not_fit_the_robot_is_a_conflict(
    app: GongApp,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    kind: str,
    patch: dict[str, Any],
    message: str,
) -> None:
    """Valid on its own (the schema allows it), but not for the stored robot: 409, unchanged."""
    settings = {"template": '{"msgtype":"empty"}'} if kind == "template" else None
    keywords = ["k"] if kind == "custom" else []
    robot = await make_robot(kind=RobotKind(kind), keywords=keywords, settings=settings)
    answer = await client.patch(f"/api/robots/{robot.id}", json=patch, headers=admin_headers)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "conflict"
    assert message in answer.json()["error"]["message"]
    assert await app.runtime.robots.get(robot.id) == robot


async def test_changes_take_effect_on_the_send_path(
    client: httpx.AsyncClient, admin_headers: dict[str, str], clock: ManualClock
) -> None:
    h = admin_headers
    group = (await client.post("/api/groups", json={"name": "g"}, headers=h)).json()
    robot = (
        await client.post(
            f"/api/groups/{group['id']}/robots", json={"name": "r", "keywords": ["CI"]}, headers=h
        )
    ).json()
    rid, token = robot["id"], robot["access_token"]
    assert await send(client, token) == OK

    # Disable / enable.
    await client.post(f"/api/robots/{rid}/disable", headers=h)
    assert (await send(client, token))["errcode"] == 400102
    await client.post(f"/api/robots/{rid}/enable", headers=h)
    assert await send(client, token) == OK

    # Regenerate the token: the old webhook stops at once.
    new_token = (await client.post(f"/api/robots/{rid}/token", headers=h)).json()["access_token"]
    assert new_token != token
    assert (await send(client, token))["errcode"] == 300005
    assert await send(client, new_token) == OK

    # Turn signing on; then regenerate the secret: only the new one signs.
    patched = (await client.patch(f"/api/robots/{rid}", json={"signing": True}, headers=h)).json()
    first_secret = patched["secret"]
    assert (await send(client, new_token))["errcode"] == 310000
    assert (
        await send(client, new_token, query="&" + signed_query(first_secret, clock.now_ms())) == OK
    )
    second_secret = (await client.post(f"/api/robots/{rid}/secret", headers=h)).json()["secret"]
    assert second_secret != first_secret
    assert (await send(client, new_token, query="&" + signed_query(first_secret, clock.now_ms())))[
        "errcode"
    ] == 310000
    assert (
        await send(client, new_token, query="&" + signed_query(second_secret, clock.now_ms())) == OK
    )

    # Keywords and rate limit.
    await client.patch(
        f"/api/robots/{rid}",
        json={
            "signing": False,
            "keywords": ["部署"],
            "rate_limit": {"limit": 1, "window_s": 60, "block_s": 60},
        },
        headers=h,
    )
    assert (await send(client, new_token, "CI"))["errcode"] == 310000
    assert await send(client, new_token, "部署完成") == OK
    assert (await send(client, new_token, "部署完成"))["errcode"] == 410100

    # A patch that does not fit the robot as it stands is a conflict and changes nothing.
    refused = await client.patch(f"/api/robots/{rid}", json={"keywords": []}, headers=h)
    assert refused.status_code == 409
    assert "security setting" in refused.json()["error"]["message"]

    stats = (await client.get(f"/api/robots/{rid}", headers=h)).json()["stats"]
    assert stats["accepted"] == 6

    await client.delete(f"/api/robots/{rid}", headers=h)
    assert (await client.get(f"/api/robots/{rid}", headers=h)).status_code == 404
    assert (await send(client, new_token))["errcode"] == 300005


async def test_message_pages_with_a_cursor(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    group = (await client.post("/api/groups", json={"name": "g"}, headers=h)).json()
    robot = (
        await client.post(
            f"/api/groups/{group['id']}/robots",
            json={
                "name": "r",
                "keywords": ["CI"],
                "rate_limit": {"limit": 0, "window_s": 60, "block_s": 600},
            },
            headers=h,
        )
    ).json()
    for n in range(7):
        assert await send(client, robot["access_token"], f"CI {n}") == OK
    seen: list[str] = []
    before: int | None = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"before": before} if before else {})
        page = (
            await client.get(f"/api/groups/{group['id']}/messages", params=params, headers=h)
        ).json()
        pages += 1
        seen += [m["payload"]["text"]["content"] for m in page["messages"]]
        before = page["next_before"]
        if before is None:
            break
    assert pages == 3
    assert seen == [f"CI {n}" for n in range(6, -1, -1)]
    first = (
        await client.get(f"/api/groups/{group['id']}/messages", params={"limit": 1}, headers=h)
    ).json()
    message = first["messages"][0]
    assert message["msgtype"] == "text"
    assert message["sender"] == {"type": "robot", "name": "r", "user_id": None}
    assert message["robot_id"] == robot["id"]
    assert (await client.get(f"/api/messages/{message['id']}", headers=h)).json() == message
    bad = await client.get(f"/api/groups/{group['id']}/messages", params={"limit": 0}, headers=h)
    assert bad.status_code == 422


async def test_openapi_describes_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Gong"
    for path in [
        "/api/groups",
        "/api/groups/{group_id}/robots",
        "/api/robots/{robot_id}/token",
        "/api/robots/{robot_id}/refusals",
        "/api/groups/{group_id}/messages",
    ]:
        assert path in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_healthz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_readyz(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok"}
