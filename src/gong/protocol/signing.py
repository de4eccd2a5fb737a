"""DingTalk's request signature (加签): HMAC-SHA256 of ``timestamp + "\\n" + secret``.

The secret is the whole ``SEC…`` string, used as the key *and* in the message; the digest is
standard Base64 with padding, URL-encoded once when put in the query string.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from urllib.parse import quote_plus

__all__ = [
    "MAX_CLOCK_SKEW_MS",
    "generate_secret",
    "generate_token",
    "sign",
    "signed_query",
    "verify",
]

#: How far the sender's timestamp may be from the receiver's clock, either way (one hour).
MAX_CLOCK_SKEW_MS = 3_600_000


def generate_token() -> str:
    """A new robot ``access_token``: 64 lowercase hex digits."""
    return secrets.token_hex(32)


def generate_secret() -> str:
    """A new signing secret: ``SEC`` and 64 hex digits, as DingTalk issues them."""
    return "SEC" + secrets.token_hex(32)


@functools.lru_cache(maxsize=4096)
def _keyed(secret: str) -> hmac.HMAC:
    # Keying an HMAC costs more than hashing a short message with OpenSSL 3: key once, copy.
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def sign(secret: str, timestamp: int | str) -> str:
    """The raw (not URL-encoded) Base64 signature for ``timestamp`` in milliseconds."""
    mac = _keyed(secret).copy()
    mac.update(f"{timestamp}\n{secret}".encode())
    return base64.b64encode(mac.digest()).decode("ascii")


def signed_query(secret: str, timestamp: int) -> str:
    """``timestamp=…&sign=…``, encoded exactly once, ready to append to a webhook URL."""
    return f"timestamp={timestamp}&sign={quote_plus(sign(secret, timestamp))}"


def verify(secret: str, timestamp: str, signature: str) -> bool:
    """Constant-time check of an already URL-decoded ``sign`` against ``timestamp``."""
    expected = sign(secret, timestamp).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape"))
