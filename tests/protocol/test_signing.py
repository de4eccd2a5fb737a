from __future__ import annotations

import re
from urllib.parse import quote_plus

import pytest

from gong.protocol.signing import generate_secret, generate_token, sign, signed_query, verify

# PROTOCOL.md §2.2 test vectors.
VECTORS = [
    (1577262236757, "this is a secret", "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA="),
    (
        1700000000000,
        "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "bTgY2yDbep+wesS7jKiNj+srsHoADES4+C4f8LCHFtU=",
    ),
]


@pytest.mark.parametrize(("timestamp", "secret", "expected"), VECTORS)
def test_known_vectors(timestamp: int, secret: str, expected: str) -> None:
    assert sign(secret, timestamp) == expected
    assert sign(secret, str(timestamp)) == expected
    assert signed_query(secret, timestamp) == f"timestamp={timestamp}&sign={quote_plus(expected)}"


def test_second_vector_encodes_plus_and_padding_once() -> None:
    query = signed_query(VECTORS[1][1], VECTORS[1][0])
    assert query.endswith("sign=bTgY2yDbep%2BwesS7jKiNj%2BsrsHoADES4%2BC4f8LCHFtU%3D")
    assert "%25" not in query


def test_verify_is_exact() -> None:
    ts, secret, good = VECTORS[1]
    assert verify(secret, str(ts), good)
    assert not verify(secret, str(ts + 1), good)
    assert not verify(secret + "x", str(ts), good)
    assert not verify(secret, str(ts), good.replace("+", " "))
    assert not verify(secret, str(ts), quote_plus(good))
    assert not verify(secret, str(ts), "")
    assert not verify(secret, str(ts), "非ASCII")


def test_generated_credentials_have_dingtalk_shapes() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", generate_token())
    assert re.fullmatch(r"SEC[0-9a-f]{64}", generate_secret())
    assert generate_token() != generate_token()
