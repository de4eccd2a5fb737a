"""The body-read deadline: one timer for every reader, a refusal past it, nothing else cancelled.

Deadlines here are tens of milliseconds of real time (an event loop's timer is what is tested);
``tests/e2e/test_body_deadline.py`` checks the answers of a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

from gong.protocol.errors import Errors, RobotError
from gong.web.hooks.deadline import BodyDeadline, BodyTimeout, Deadlines, RequestTimeout
from gong.web.hooks.robot_api import read_body

Message = MutableMapping[str, Any]
SHORT = 0.05


def chunks(*parts: bytes, stall: bool = False) -> Any:
    """A ``receive`` that hands out ``parts`` (the last with ``more_body`` false unless
    ``stall``), then waits for ever, as a client that stopped sending."""
    queue = list(parts)

    async def receive() -> Message:
        if queue:
            body = queue.pop(0)
            return {"type": "http.request", "body": body, "more_body": stall or bool(queue)}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


async def test_a_stalled_body_is_refused_at_the_deadline() -> None:
    deadlines = Deadlines(SHORT)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RobotError) as refused:
        await read_body(chunks(b'{"msg', stall=True), 20_000, None, deadlines)
    assert refused.value.error is Errors.BODY_TIMEOUT
    assert SHORT <= loop.time() - started < SHORT + 0.5
    assert not deadlines._reading  # nothing left behind
    assert not deadlines._expired


async def test_a_body_in_time_is_read_and_costs_no_timer_afterwards() -> None:
    deadlines = Deadlines(SHORT)
    assert await read_body(chunks(b'{"a":', b"1}"), 20_000, None, deadlines) == b'{"a":1}'
    assert not deadlines._reading
    await asyncio.sleep(SHORT * 2)  # the armed timer fires, finds nobody, and is not re-armed
    assert deadlines._timer is None


async def test_only_the_late_reader_is_refused() -> None:
    deadlines = Deadlines(SHORT)
    gate = asyncio.Event()

    async def in_time() -> bytes:
        async def receive() -> Message:
            await gate.wait()
            return {"type": "http.request", "body": b"{}", "more_body": False}

        return await read_body(receive, 20_000, None, deadlines)

    fine = asyncio.create_task(in_time())
    late = asyncio.create_task(read_body(chunks(stall=True), 20_000, None, deadlines))
    await asyncio.sleep(SHORT / 5)
    gate.set()
    assert await fine == b"{}"
    with pytest.raises(RobotError):
        await late


async def test_a_real_cancellation_stays_a_cancellation() -> None:
    deadlines = Deadlines(SHORT)
    reader = asyncio.create_task(read_body(chunks(stall=True), 20_000, None, deadlines))
    await asyncio.sleep(0)
    reader.cancel()  # the server shuts down: not a slow client
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert not deadlines._reading


async def test_the_timer_and_a_shutdown_at_once_is_a_cancellation() -> None:
    deadlines = Deadlines(SHORT)
    reader = asyncio.create_task(read_body(chunks(stall=True), 20_000, None, deadlines))
    await asyncio.sleep(0)
    deadlines._reading[reader] = 0.0  # its deadline has passed: the timer cancels it …
    deadlines._expire(asyncio.get_running_loop())
    reader.cancel()  # … and so does a shutdown, before the reader runs again
    with pytest.raises(asyncio.CancelledError):
        await reader


async def test_reading_outside_the_with_block_is_never_cancelled() -> None:
    deadlines = Deadlines(SHORT)
    with pytest.raises(BodyTimeout), deadlines.reading():
        await asyncio.sleep(1)
    await asyncio.sleep(SHORT * 2)  # no cancellation leaks out of the block


# -- the framework's middleware ---------------------------------------------------------------


async def _call(app: Any, receive: Any) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/x", "headers": []}
    await BodyDeadline(app, Deadlines(SHORT))(scope, receive, send)
    return sent


async def test_the_middleware_answers_408_and_closes() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        raise AssertionError("unreachable")

    sent = await _call(app, chunks(b"{", stall=True))
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"request_timeout" in sent[1]["body"]


async def test_the_middleware_lets_the_app_answer_the_timeout() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await receive()
            await receive()
        except RequestTimeout as error:
            headers = [(b"content-type", b"text/plain")]
            await send({"type": "http.response.start", "status": 408, "headers": headers})
            await send({"type": "http.response.body", "body": str(error.detail).encode()})

    sent = await _call(app, chunks(b"{", stall=True))
    assert sent[0]["headers"] == [(b"content-type", b"text/plain"), (b"connection", b"close")]


async def test_no_deadline_once_the_body_is_complete() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["body"] == b"{}"
        # Waiting for the client to leave (as a streamed answer does) has no deadline.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(receive(), SHORT * 3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = await _call(app, chunks(b"{}"))
    assert sent[0] == {"type": "http.response.start", "status": 200, "headers": []}
