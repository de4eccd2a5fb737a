"""Web app sessions: a signed cookie (itsdangerous) holding the user id and a CSRF token.

The cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when the public URL is https. It
carries no secret of its own: only the user id, a fingerprint of the user's password hash (so
changing a password signs out every other browser), the CSRF token and the time it was issued.
Forms send the CSRF token in a hidden ``csrf_token`` field, scripts in the ``X-CSRF-Token``
header; both are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from gong.domain.users import User

__all__ = ["COOKIE", "CSRF_FIELD", "CSRF_HEADER", "Session", "Sessions", "fingerprint"]

COOKIE = "gong_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def fingerprint(user: User) -> str:
    """A short digest of the password hash: a new password invalidates older sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie says; ``user_id`` is None before sign-in (the login form's CSRF)."""

    csrf: str
    user_id: int | None = None
    fingerprint: str = ""

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())


class Sessions:
    """Signs, reads and writes session cookies."""

    def __init__(self, secret_key: str, *, max_age_s: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="gong.session")
        self.max_age_s = max_age_s
        self.secure = secure

    def new(self, user: User | None = None) -> Session:
        """A fresh session (with a fresh CSRF token): at sign-in, sign-out and first visit."""
        csrf = secrets.token_urlsafe(32)
        if user is None:
            return Session(csrf=csrf)
        return Session(csrf=csrf, user_id=user.id, fingerprint=fingerprint(user))

    def load(self, cookie: str | None) -> Session | None:
        """The session in a cookie value, or None if it is missing, forged or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data: Any = self._serializer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        user_id = data.get("u")
        return Session(
            csrf=data["c"],
            user_id=user_id if isinstance(user_id, int) else None,
            fingerprint=str(data.get("f", "")),
        )

    def load_from_headers(self, headers: list[tuple[bytes, bytes]]) -> Session | None:
        """The session from raw ASGI headers (for the lean event stream)."""
        for name, value in headers:
            if name == b"cookie":
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(value.decode("latin-1"))
                except CookieError:  # a malformed Cookie header is just no session
                    return None
                morsel = jar.get(COOKIE)
                if morsel is not None:
                    return self.load(morsel.value)
        return None

    def dump(self, session: Session) -> str:
        data: dict[str, Any] = {"c": session.csrf}
        if session.user_id is not None:
            data["u"] = session.user_id
            data["f"] = session.fingerprint
        return str(self._serializer.dumps(data))

    def cookie_options(self) -> dict[str, Any]:
        """Arguments for ``Response.set_cookie``."""
        return {
            "key": COOKIE,
            "max_age": self.max_age_s,
            "path": "/",
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
        }

    def valid_for(self, session: Session, user: User) -> bool:
        return session.user_id == user.id and hmac.compare_digest(
            session.fingerprint.encode(), fingerprint(user).encode()
        )
