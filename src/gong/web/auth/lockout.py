"""The sign-in lockout: past ``GONG_LOGIN_ATTEMPTS`` sign-in attempts a minute from one client IP,
or for one username, sign-in is refused for :data:`LOCKOUT_S` seconds.

Attempts are counted where a restart cannot clear them: in Redis when ``GONG_REDIS_URL`` is set
(shared by every instance), otherwise in the database
(:class:`~gong.storage.limits.DatabaseLimiter`).
The counter never sees what was typed: each key is an HMAC-SHA256 digest of the address or the
username under a secret kept in the database, so a password typed into the username box is not
stored anywhere, and a key cannot be matched against a list of usernames without that secret.
"""

from __future__ import annotations

import hashlib
import hmac

from gong.domain.models import RateLimit
from gong.domain.ports import Limiter
from gong.runtime import Runtime
from gong.storage.accounts import Accounts
from gong.storage.limits import DatabaseLimiter

__all__ = ["LOCKOUT_S", "WINDOW_S", "SignInLockout", "open_lockout"]

#: Attempts are counted over this many seconds.
WINDOW_S = 60
#: How long sign-in stays refused after too many attempts.
LOCKOUT_S = 300
#: The characters of a username that count (usernames are shorter; this bounds the work).
_USERNAME_CHARS = 64


class SignInLockout:
    """Counts sign-in attempts per client IP and per username, under digests of both."""

    def __init__(self, limiter: Limiter, secret: bytes, attempts: int) -> None:
        self.limiter = limiter
        self.limit = RateLimit(attempts, WINDOW_S, LOCKOUT_S)
        self._secret = secret

    def key(self, kind: str, value: str) -> str:
        """The limiter key of an ``ip`` or a ``user``: a digest, never the value itself."""
        digest = hmac.new(self._secret, f"{kind}\0{value}".encode(), hashlib.sha256)
        return f"login:{kind}:{digest.hexdigest()}"

    async def admit(self, ip: str, username: str, now_ms: int) -> bool:
        """Count one attempt from ``ip`` for ``username``; False while either is locked out."""
        for key in (self.key("ip", ip), self.key("user", username[:_USERNAME_CHARS])):
            if not (await self.limiter.acquire(key, self.limit, now_ms)).allowed:
                return False
        return True

    async def signed_in(self, username: str) -> None:
        """Forget the username's attempts after a successful sign-in (the address's stay)."""
        await self.limiter.reset(self.key("user", username[:_USERNAME_CHARS]))


async def open_lockout(runtime: Runtime, accounts: Accounts) -> SignInLockout:
    """The lockout on Redis when it is configured, else on the database."""
    limiter: Limiter
    if runtime.redis is not None:
        from gong.ratelimit.redis import RedisLimiter

        limiter = RedisLimiter(runtime.redis, runtime.settings.redis_prefix)
    else:
        limiter = DatabaseLimiter(runtime.engine)
    secret = await accounts.secret("sign_in_keys")
    return SignInLockout(limiter, secret.encode(), runtime.settings.login_attempts)
