"""Helpers of the web app tests: accounts, sessions and the CSRF token of a page."""

from __future__ import annotations

import re

import httpx

from gong.domain.passwords import hash_password_sync
from gong.domain.users import User
from gong.web.app import GongApp
from gong.web.auth.sessions import COOKIE

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}
_HASH = hash_password_sync(PASSWORD)  # hashing is slow on purpose: once per test session


async def make_user(
    app: GongApp, username: str, *, admin: bool = False, members: tuple[int, ...] = ()
) -> User:
    assert app.web is not None
    user = await app.web.accounts.create_user(username, _HASH, is_admin=admin)
    for member_id in members:
        await app.web.accounts.link(user.id, member_id)
    return user


def sign_in(client: httpx.AsyncClient, app: GongApp, user: User) -> str:
    """Give ``client`` a session of ``user`` (as a successful sign-in would); returns its CSRF."""
    assert app.web is not None
    session = app.web.sessions.new(user)
    client.cookies.set(COOKIE, app.web.sessions.dump(session), domain="gong.test")
    return session.csrf


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert found, "no CSRF token in the page"
    return found.group(1)
