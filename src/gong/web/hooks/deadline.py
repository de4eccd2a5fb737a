"""A deadline for request bodies, so a client that trickles its body in cannot hold a
connection (and the request's memory) for ever.

A request's body must arrive within ``GONG_BODY_TIMEOUT`` seconds of the first read. Past that,
the read raises :class:`BodyTimeout`: the lean handlers (``/robot/send``, ``sendBySession``)
answer with their own refusal, and :class:`BodyDeadline` makes the framework app answer HTTP 408;
both with ``Connection: close``, because the rest of the body is never read.

It costs the send path almost nothing: there is one timer per process, not one per request. A
task reading a body registers itself with its deadline (a dict insert); one timer callback, armed
for the earliest deadline, cancels the tasks still reading past theirs, and the read turns that
cancellation into :class:`BodyTimeout`, as ``asyncio.timeout`` does. ``asyncio.timeout`` itself
arms and cancels a timer for each request, which measured several times the cost.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

from fastapi import HTTPException

__all__ = ["BodyDeadline", "BodyTimeout", "Deadlines", "RequestTimeout"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: A timer may fire a little before its time (libuv counts whole milliseconds).
_SLACK = 0.005


class BodyTimeout(Exception):
    """The request body did not arrive before its deadline."""


class Deadlines:
    """The body-read deadlines of one event loop's requests, enforced by one timer."""

    __slots__ = ("_armed_for", "_expired", "_loop", "_reading", "_timer", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def reading(self, deadline: float | None = None) -> _Reading:
        """A ``with`` block in which the current task may await body chunks until ``deadline``
        (event loop time; default: ``seconds`` from now); past it, the block raises
        :class:`BodyTimeout`."""
        loop = self._loop
        task = None if loop is None else asyncio.current_task(loop)
        if loop is None or task is None:  # the first read, or a new event loop (as in tests)
            running = asyncio.get_running_loop()
            if running is not loop:
                self._loop = loop = running
                self._reading.clear()
                self._expired.clear()
                self._timer, self._armed_for = None, math.inf
            task = asyncio.current_task(loop)
            if task is None:  # pragma: no cover - ASGI apps always run in a task
                raise RuntimeError("a request body is read outside of a task")
        if deadline is None:
            deadline = loop.time() + self.seconds
        return _Reading(self, loop, task, deadline)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = deadline
        self._timer = loop.call_at(deadline, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer, self._armed_for = None, math.inf
        now = loop.time() + _SLACK
        nearest = math.inf
        for task, deadline in self._reading.items():
            if deadline <= now:
                if task not in self._expired:
                    self._expired.add(task)
                    task.cancel()
            elif deadline < nearest:
                nearest = deadline
        if nearest < math.inf:
            self._arm(loop, nearest)


class _Reading:
    """One task's body read under a deadline (see :meth:`Deadlines.reading`)."""

    __slots__ = ("_cancelling", "_deadline", "_loop", "_owner", "_task")

    def __init__(
        self,
        owner: Deadlines,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any],
        deadline: float,
    ) -> None:
        self._owner = owner
        self._loop = loop
        self._task = task
        self._deadline = deadline
        self._cancelling = 0

    def __enter__(self) -> None:
        owner, deadline = self._owner, self._deadline
        self._cancelling = self._task.cancelling()
        owner._reading[self._task] = deadline
        if deadline < owner._armed_for:
            owner._arm(self._loop, deadline)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        owner, task = self._owner, self._task
        owner._reading.pop(task, None)
        if owner._expired and task in owner._expired:
            owner._expired.discard(task)
            # Ours was the only cancellation: it means the deadline, not a shutdown.
            if task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise BodyTimeout from None


class RequestTimeout(HTTPException):
    """HTTP 408: the body did not arrive in time (answered by the app's HTTP error handler)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"the request body did not arrive within {seconds:g} s (GONG_BODY_TIMEOUT)"
        )


class BodyDeadline:
    """ASGI middleware: an HTTP request's body must arrive within the deadline, counted from
    the app's first read; past it the read raises :class:`RequestTimeout` (HTTP 408), and the
    answer closes the connection. Reads after the body is complete (a wait for the client to
    leave) have no deadline."""

    def __init__(self, app: ASGIApp, deadlines: Deadlines) -> None:
        self.app = app
        self.deadlines = deadlines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadlines = self.deadlines
        deadline: float | None = None
        complete = expired = started = False

        async def timed_receive() -> Message:
            nonlocal deadline, complete, expired
            if complete:
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + deadlines.seconds
            try:
                with deadlines.reading(deadline):
                    message = await receive()
            except BodyTimeout:
                expired = True
                raise RequestTimeout(deadlines.seconds) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if expired:
                    message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, timed_receive, closing_send)
        except RequestTimeout as error:
            if started:
                return  # an error handler has answered already
            body = json.dumps({"error": {"code": "request_timeout", "message": error.detail}})
            await closing_send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"%d" % len(body.encode())),
                    ],
                }
            )
            await closing_send({"type": "http.response.body", "body": body.encode()})
