"""A fake DingTalk: a small real HTTP server speaking the robot API's exact wire answers.

Only for what Gong cannot reach in tests (oapi.dingtalk.com). It checks the signature like
DingTalk (when given the secret), deduplicates ``msgUuid`` like DingTalk, and answers from a
script: DingTalk JSON bodies (HTTP 200), other HTTP statuses, or a dropped connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gong.protocol.signing import verify
from tests.helpers import serve_in_thread, stop_server

OK = b'{"errcode":0,"errmsg":"ok"}'
BUSY = '{"errcode":-1,"errmsg":"系统繁忙"}'.encode()
THROTTLED = '{"errcode":410100,"errmsg":"发送速度太快而限流"}'.encode()
THROTTLED_OLD = b'{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}'
SIGN_MISMATCH = (
    '{"errcode":310000,"errmsg":"description:机器人发送签名不匹配;solution:请确认签名和生成签名的'
    "时间戳必须都放在调用的网址中，请确认机器人的密钥加密和填写正确;link:请参考本接口对应文档获得具体"
    '要求，或者在https://open.dingtalk.com/document/  搜索相关文档;"}'
).encode()
KEYWORD = (
    '{"errcode":310000,"errmsg":"description:关键词不匹配;solution:请联系群管理员查看此机器人的'
    '关键词，并在发送的信息中包含此关键词;"}'
).encode()
TOKEN = b'{"errcode":300005,"errmsg":"token is not exist"}'


@dataclass(frozen=True)
class Answer:
    """``body`` with ``status``; ``drop``: read the request, then close without answering."""

    body: bytes = OK
    status: int = 200
    drop: bool = False


@dataclass
class Received:
    at: float
    query: dict[str, str]
    body: dict[str, Any]
    answered: int | None  # the errcode sent back (None: no answer)


@dataclass
class FakeDingTalk:
    secret: str | None = None
    token: str = "fake-token"
    script: deque[Answer] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    #: Messages accepted (errcode 0), once per msgUuid, as DingTalk would show them.
    delivered: list[dict[str, Any]] = field(default_factory=list)
    _uuids: set[str] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/robot/send?access_token={self.token}"

    def answer(self, *answers: Answer | bytes) -> None:
        """Queue answers for the next requests (then ``OK`` again)."""
        for a in answers:
            self.script.append(a if isinstance(a, Answer) else Answer(a))

    def start(self) -> FakeDingTalk:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                fake._handle(self, raw)

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        body = json.loads(raw)
        with self._lock:
            answer = self.script.popleft() if self.script else Answer()
            if answer.body == OK and answer.status == 200 and not answer.drop:
                answer = self._check(query, body)
            if (answer.status == 200 and json.loads(answer.body)["errcode"] == 0) or answer.drop:
                uuid = body.get("msgUuid")
                if uuid is None or uuid not in self._uuids:
                    self.delivered.append(body)
                if uuid is not None:
                    self._uuids.add(uuid)
            errcode = None
            if not answer.drop and answer.status == 200:
                errcode = json.loads(answer.body)["errcode"]
            self.received.append(Received(time.monotonic(), query, body, errcode))
        if answer.drop:
            handler.close_connection = True
            handler.connection.close()
            return
        handler.send_response(answer.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)

    def _check(self, query: dict[str, str], body: dict[str, Any]) -> Answer:
        if query.get("access_token") != self.token:
            return Answer(TOKEN)
        if self.secret is not None:
            timestamp, sign = query.get("timestamp"), query.get("sign")
            if not timestamp or not sign or not verify(self.secret, timestamp, sign):
                return Answer(SIGN_MISMATCH)
        return Answer(OK)
