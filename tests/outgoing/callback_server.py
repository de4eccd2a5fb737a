"""A real HTTP server on 127.0.0.1 standing in for a robot's service: it records every callback
and answers as a test scripts it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from tests.helpers import serve_in_thread, stop_server


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b'{"msgtype":"empty"}'
    delay: float = 0.0


def text(content: str) -> Answer:
    return Answer(body=orjson.dumps({"msgtype": "text", "text": {"content": content}}))


@dataclass
class CallbackServer:
    """Answers with ``answers`` in turn (the last one repeats), or with ``respond(request)``."""

    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    respond: Callable[[Received], Answer] | None = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dingtalk"

    def start(self) -> CallbackServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                outer.received.append(request)
                if outer.respond is not None:
                    answer = outer.respond(request)
                else:
                    index = min(len(outer.received), len(outer.answers)) - 1
                    answer = outer.answers[index]
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:  # the caller gave up (timeout)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None

    def wait(self, count: int, limit_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + limit_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} callbacks, wanted {count}"
        return self.received
