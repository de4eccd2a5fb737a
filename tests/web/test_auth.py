"""Sign-in, sessions, CSRF and the sign-in rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.passwords import hash_password_sync
from gong.storage.schema import limiter_keys
from gong.web.app import GongApp, create_app
from gong.web.auth.sessions import COOKIE
from tests.conftest import make_client
from tests.helpers import ADMIN_TOKEN
from tests.web.webapp import HTML, PASSWORD, csrf_of, make_user, sign_in


async def _login(
    client: httpx.AsyncClient, username: str, password: str, next_url: str = "/"
) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next_url,
            "csrf_token": csrf_of(form.text),
        },
    )


async def test_pages_need_a_session(client: httpx.AsyncClient) -> None:
    page = await client.get("/groups/1", headers=HTML)
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/groups/1")
    script = await client.get("/groups/1/history?before=5")
    assert script.status_code == 401
    assert script.json() == {
        "error": {"code": "unauthorized", "message": "sign in to the web app first"}
    }
    post = await client.post("/api/groups/1/messages", json={})
    assert post.status_code == 401


async def test_sign_in_and_out(app: GongApp, client: httpx.AsyncClient) -> None:
    user = await make_user(app, "Alice")
    form = await client.get("/login?next=/groups/7")
    assert form.status_code == 200
    assert form.headers["content-security-policy"].startswith(
        "default-src 'none'; script-src 'self'"
    )
    cookie = form.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax", "Max-Age=1209600"):
        assert flag in cookie
    assert "Secure" not in cookie  # the public URL is http
    before = client.cookies[COOKIE]

    answer = await client.post(
        "/login",
        data={
            "username": "ALICE",
            "password": PASSWORD,
            "next": "/groups/7",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/groups/7")
    assert client.cookies[COOKIE] != before  # a new session (and CSRF token) at sign-in
    assert app.web is not None
    assert (await app.web.accounts.get_user(user.id)).last_login_at == 1_800_000_000_000

    home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert "alice" in home.text
    again = await client.get("/login", headers=HTML)
    assert (again.status_code, again.headers["location"]) == (303, "/")

    refused = await client.post("/logout", data={})
    assert refused.status_code == 403
    out = await client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert COOKIE not in client.cookies
    assert (await client.get("/", headers=HTML)).status_code == 303


async def test_wrong_credentials(app: GongApp, client: httpx.AsyncClient) -> None:
    await make_user(app, "alice")
    wrong = await _login(client, "alice", "not the password")
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.text
    nobody = await _login(client, "bob", PASSWORD)
    assert nobody.status_code == 401
    assert "Wrong username or password." in nobody.text
    empty = await _login(client, "alice", "")
    assert empty.status_code == 400


async def test_csrf_is_required(app: GongApp, client: httpx.AsyncClient) -> None:
    await make_user(app, "alice")
    await client.get("/login")
    no_token = await client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert no_token.status_code == 403
    assert "the form expired" in no_token.text
    forged = await client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "x" * 43}
    )
    assert forged.status_code == 403
    assert COOKIE in client.cookies  # a fresh form session to try again with


async def test_only_local_redirects(app: GongApp, client: httpx.AsyncClient) -> None:
    await make_user(app, "alice")
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        answer = await _login(client, "alice", PASSWORD, evil)
        assert answer.headers["location"] == "/"


async def test_forged_and_stale_sessions(app: GongApp, client: httpx.AsyncClient) -> None:
    user = await make_user(app, "alice")
    sign_in(client, app, user)
    assert (await client.get("/", headers=HTML)).status_code == 200
    client.cookies.set(COOKIE, client.cookies[COOKIE][:-2] + "xx", domain="gong.test")
    assert (await client.get("/", headers=HTML)).status_code == 303
    sign_in(client, app, user)
    assert app.web is not None
    await app.web.accounts.update_user(user.id, password_hash=hash_password_sync("new password!"))
    # A new password ends every earlier session.
    assert (await client.get("/", headers=HTML)).status_code == 303


async def test_sessions_are_secure_over_https(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        public_url="https://gong.example",
        secret_key="k" * 40,
    )
    gong = create_app(settings, clock=ManualClock())
    await gong.startup()
    try:
        async with make_client(gong) as client:
            cookie = (await client.get("/login")).headers["set-cookie"]
        assert "Secure" in cookie
        assert gong.web is not None
        # The configured key signs: another instance with the same key reads the cookie.
        value = gong.web.sessions.dump(gong.web.sessions.new())
        assert gong.web.sessions.load(value) is not None
    finally:
        await gong.shutdown()


@pytest.fixture
async def strict_app(tmp_path: Path) -> AsyncIterator[GongApp]:
    settings = Settings(
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        public_url="http://gong.test",
        login_attempts=2,
    )
    gong = create_app(settings, clock=ManualClock(1_800_000_000_000))
    await gong.startup()
    try:
        yield gong
    finally:
        await gong.shutdown()


async def test_sign_in_rate_limit(strict_app: GongApp) -> None:
    await make_user(strict_app, "alice")
    async with make_client(strict_app, "198.51.100.1") as one:
        assert (await _login(one, "alice", "wrong")).status_code == 401
        assert (await _login(one, "alice", "wrong")).status_code == 401
        blocked = await _login(one, "alice", PASSWORD)  # even the right password now waits
        assert blocked.status_code == 429
        assert "Too many sign-in attempts" in blocked.text
    # Another address is still refused for this username; other usernames are not affected.
    async with make_client(strict_app, "198.51.100.2") as two:
        assert (await _login(two, "alice", PASSWORD)).status_code == 429
        await make_user(strict_app, "bob")
        assert (await _login(two, "bob", PASSWORD)).status_code == 303
    clock = strict_app.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(301_000)  # the block is over
    async with make_client(strict_app, "198.51.100.3") as three:
        assert (await _login(three, "alice", PASSWORD)).status_code == 303


def _strict_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        public_url="http://gong.test",
        login_attempts=2,
        **extra,
    )


async def _lock_out_and_restart(settings: Settings) -> None:
    """Lock ``alice`` out, start a new app on the same storage: still locked out, until the
    lockout is over."""
    clock = ManualClock(1_800_000_000_000)
    first = create_app(settings, clock=clock)
    await first.startup()
    try:
        await make_user(first, "alice")
        async with make_client(first, "198.51.100.1") as one:
            for _ in range(2):
                assert (await _login(one, "alice", "wrong")).status_code == 401
            assert (await _login(one, "alice", PASSWORD)).status_code == 429
    finally:
        await first.shutdown()
    second = create_app(settings, clock=clock)
    await second.startup()
    try:
        async with make_client(second, "198.51.100.2") as two:
            assert (await _login(two, "alice", PASSWORD)).status_code == 429
            clock.advance(301_000)
            assert (await _login(two, "alice", PASSWORD)).status_code == 303
    finally:
        await second.shutdown()


async def test_the_lockout_outlives_a_restart_on_the_database(tmp_path: Path) -> None:
    await _lock_out_and_restart(_strict_settings(tmp_path))


async def test_the_lockout_outlives_a_restart_on_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    settings = _strict_settings(tmp_path, redis_url=redis_url, redis_prefix=redis_prefix)
    await _lock_out_and_restart(settings)
    from gong.runtime import redis_client

    client = redis_client(redis_url)
    try:
        keys = [k.decode() async for k in client.scan_iter(f"{redis_prefix}:rl:*")]
        # The usernames and addresses tried are in no key, only their digests.
        assert keys
        assert not [k for k in keys if "alice" in k or "198.51.100" in k]
        await client.delete(*keys)
    finally:
        await client.aclose()


async def test_a_password_typed_as_the_username_is_not_stored(strict_app: GongApp) -> None:
    secret = "my-Secret-passw0rd"
    async with make_client(strict_app, "198.51.100.1") as one:
        assert (await _login(one, secret, "x")).status_code == 401
    engine = strict_app.runtime.engine
    async with engine.connect() as conn:
        keys = list((await conn.execute(sa.select(limiter_keys.c.key))).scalars())
    assert len(keys) == 2
    assert not [k for k in keys if secret.lower() in k or "198.51.100.1" in k]
