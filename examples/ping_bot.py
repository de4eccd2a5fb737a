#!/usr/bin/env python3
"""A DingTalk outgoing robot in one file, standard library only: it answers "@bot ping" with
"pong", and "@bot later TEXT" first with nothing, then a moment later through the
sessionWebhook — the same code works against DingTalk and against Gong.

    python examples/ping_bot.py --port 8900 --token "$TOKEN" [--secret SEC…]

Give the robot this URL (http://HOST:8900/) and token in Gong (``gong robot update ID
--outgoing-url http://HOST:8900/ --outgoing-token TOKEN``); with ``--secret`` (the robot's
signing secret) the bot also checks the ``timestamp`` and ``sign`` headers.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Signed callbacks older or newer than this are refused (DingTalk's rule: one hour).
MAX_SKEW_MS = 3_600_000


def expected_sign(secret: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(secret, timestamp + "\\n" + secret)) — not URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def verified(headers: Any, token: str, secret: str | None) -> bool:
    """The callback carries our token and, with a secret, a fresh and valid signature."""
    if not hmac.compare_digest(headers.get("token", "").encode(), token.encode()):
        return False
    if secret is None:
        return True
    timestamp = headers.get("timestamp", "")
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > MAX_SKEW_MS:
        return False
    return hmac.compare_digest(
        headers.get("sign", "").encode(), expected_sign(secret, timestamp).encode()
    )


def reply_later(webhook: str, text: str, delay: float = 0.3) -> None:
    """Answer through the sessionWebhook (valid 90 minutes), as a long job would."""

    def send() -> None:
        time.sleep(delay)
        if not webhook.startswith(("http://", "https://")):
            return
        body = json.dumps({"msgtype": "text", "text": {"content": text}}).encode()
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            webhook, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            print("sessionWebhook answered", answer.read().decode(), flush=True)

    threading.Thread(target=send, daemon=True).start()


def answer(callback: dict[str, Any]) -> dict[str, Any]:
    """What to say to a callback (DingTalk strips "@bot" but leaves the space after it)."""
    words = callback.get("text", {}).get("content", "").strip()
    if words.split(maxsplit=1)[:1] == ["ping"]:
        return {"msgtype": "text", "text": {"content": "pong"}}
    if words.startswith("later "):
        reply_later(callback["sessionWebhook"], "later: " + words[len("later ") :])
        return {"msgtype": "empty"}
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": "ping bot",
            "text": f"#### Hello {callback.get('senderNick', '')}\n\nSay **ping**.",
        },
    }


def make_handler(token: str, secret: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not verified(self.headers, token, secret):
                self._send(403, {"error": "not from our Gong"})
                return
            try:
                callback = json.loads(raw)
            except ValueError:
                self._send(400, {"error": "not JSON"})
                return
            self._send(200, answer(callback))

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            print("ping bot:", format % args, flush=True)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--token", required=True, help="The robot's outgoing token.")
    parser.add_argument("--secret", default=None, help="The robot's SEC… secret, if it signs.")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.token, args.secret))
    print(f"ping bot listening on http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
