"""The redaction of log lines: every kind of secret, in every place it can stand, and nothing
else touched."""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import quote, quote_plus

import pytest

from gong.protocol.signing import generate_secret, generate_token, sign
from gong.redact import REDACTED, last4, redact

TOKEN = "9f" * 30 + "9fb3"  # 64 hex digits, like a robot's access_token
SECRET = "SEC" + "ab" * 32
SIGN = "nF3BiOug3rVT88a2pZKNYcbsnsf/yGzGFypRKKi6LTM="
ADMIN = "gong_" + "A" * 39 + "x9Z-"
COOKIE = "eyJjIjoiV3ZMWGJmaDlaIiwidSI6MX0.Z1mKdw.8Ubq9kLZQx0yYV3n2m4b1cT7r5w"

CASES = [
    (
        f'127.0.0.1:5 - "POST /robot/send?access_token={TOKEN}&timestamp=1&sign={quote_plus(SIGN)}'
        ' HTTP/1.1" 200',
        '127.0.0.1:5 - "POST /robot/send?access_token=…9fb3&timestamp=1&sign=[redacted] HTTP/1.1"'
        " 200",
    ),
    (
        "HTTP Request: POST https://oapi.dingtalk.com/robot/send?access_token=up-token-0000abcd"
        ' "HTTP/1.1 200 OK"',
        'HTTP Request: POST https://oapi.dingtalk.com/robot/send?access_token=…abcd "HTTP/1.1 200 OK"',
    ),
    (f"robot {TOKEN} failed", "robot …9fb3 failed"),
    (f"params ('{TOKEN}', '{SECRET}')", f"params ('…9fb3', '{REDACTED}')"),
    (
        f"raw {SIGN} and encoded {quote_plus(SIGN)} or {quote(SIGN, safe='')}",
        f"raw {REDACTED} and encoded {REDACTED} or {REDACTED}",
    ),
    (f"Authorization: Bearer {ADMIN}", "Authorization: Bearer …x9Z-"),
    (f"admin token {ADMIN} revoked", "admin token gong_…x9Z- revoked"),
    (
        "(b'authorization', b'Bearer test-admin-token-0123456789'), (b'token', b'out-abcdefgh1234')",
        "(b'authorization', b'Bearer …6789'), (b'token', b'…1234')",
    ),
    (f"cookie: gong_session={COOKIE}; theme=dark", f"cookie: {REDACTED}; theme=dark"),
    (f"Set-Cookie: gong_session={COOKIE}", f"Set-Cookie: {REDACTED}"),
    (f"session {COOKIE}", f"session {REDACTED}"),
    ("postgresql://gong:hunter2@db:5432/gong", f"postgresql://gong:{REDACTED}@db:5432/gong"),
    ("redis://:s3cret@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
    ("x-gitlab-token: plain-source-secret", f"x-gitlab-token: {REDACTED}"),
    ('{"password": "correct horse battery"}', f'{{"password": "{REDACTED}"}}'),
    (
        "upstream_secret=abc refresh_token=abcdefghijklmnop",
        f"upstream_secret={REDACTED} refresh_token=…mnop",
    ),
    (
        "/robot/sendBySession?session=0123456789abcdef0123456789abcdef",
        "/robot/sendBySession?session=…cdef",
    ),
    (
        "https://chat.example.com/hook?key=k-1234567890",
        f"https://chat.example.com/hook?key={REDACTED}",
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_redacts(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "POST /robot/send 200 1.2 ms",
        "relay: robot 5: send 1 failed (HTTP 500); retry at 1796461622111",
        "outgoing callback of robot 9 failed: cannot connect: All connection attempts failed",
        "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
        "writer stopped: 37 writes committed in 37 batches",
        "description:关键词不匹配;solution:请联系群管理员查看此机器人的关键词",
        "the template's design: a keyword in every title; monkey=banana; sign-in refused",
        "GET /api/robots/12/deliveries 200 3.1 ms",
        "token=…9fb3 and sign=[redacted] are named already",
        "",
    ],
)
def test_leaves_lines_without_secrets_alone(line: str) -> None:
    assert redact(line) == line


def test_json_log_lines_stay_json() -> None:
    line = json.dumps(
        {
            "message": f"POST /robot/send?access_token={TOKEN}",
            "payload": {"password": "correct horse", "secret": SECRET},
            "exception": f"ValueError: bad header ('token', 'out-abcdefgh1234')\n  sign={SIGN}",
        }
    )
    data = json.loads(redact(line))
    assert data["message"] == "POST /robot/send?access_token=…9fb3"
    assert data["payload"] == {"password": REDACTED, "secret": REDACTED}
    assert "out-abcdefgh1234" not in data["exception"] and SIGN not in data["exception"]


def test_no_generated_secret_survives_in_any_place() -> None:
    """Fresh tokens, secrets and signatures, in every place a log line may carry one."""
    for _ in range(50):
        token, secret = generate_token(), generate_secret()
        signature = sign(secret, 1_800_000_000_000)
        admin = "gong_" + secrets.token_urlsafe(32)
        cookie = "eyJ" + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode().rstrip("=")
        cookie += ".Z1mKdw." + secrets.token_urlsafe(20)
        outgoing = secrets.token_urlsafe(24)
        places = [
            f"GET /robot/send?access_token={token}&timestamp=1&sign={quote_plus(signature)}",
            f"{{'access_token': '{token}', 'secret': '{secret}', 'sign': '{signature}'}}",
            f"headers [('token', '{outgoing}'), ('sign', '{signature}')]",
            f"Authorization: Bearer {admin}",
            f"cookie: gong_session={cookie}",
            f"bare {token} {secret} {signature} {quote(signature, safe='')} {admin} {cookie}",
        ]
        for place in places:
            shown = redact(place)
            for value in (token, secret, signature, quote_plus(signature), admin, cookie, outgoing):
                assert value not in shown, (place, shown)


def test_last4() -> None:
    assert last4(TOKEN) == "…9fb3"
    assert last4("short") == "…"
    assert last4(None) == "…"
    assert last4("") == "…"
