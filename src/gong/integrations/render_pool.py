"""Templates rendered in worker processes, under limits that no single operation can escape.

The sandbox (:mod:`gong.integrations.sandbox`) refuses the big operations it can see coming, and
the render's trace function stops loops at the time limit; but one C-level operation (a ``join``
of a long list, say) still runs to its end, and in the server's own process it would stall every
request and could take gigabytes. So the server renders in a few worker processes:

- a worker caps its address space (``RLIMIT_AS``) at what it uses when it starts plus
  ``memory_mb``: an allocation past that fails at once (MemoryError), and the caller gets "the
  template used more than N MB and was stopped"; a worker that grew by half that is replaced;
- the caller waits at most ``time_limit`` + :data:`GRACE_S` for the answer; a worker that has not
  answered by then is killed (SIGKILL) and replaced, and the caller gets "the template ran longer
  than N s and was stopped";
- at most ``workers`` renders run and ``max_waiting`` wait; more are refused at once with
  ``系统繁忙`` (HTTP 503 for integration senders, so they retry later), and the refusal is logged.

A worker is a fresh interpreter (``python -c``, never a fork of the threaded server, and without
multiprocessing's re-import of the program's main script) that imports only this module and
Jinja2, talks over a socket pair, and gets no secrets: only the environment variables that find
Python and set the locale. Workers start on the first render and keep their compiled
templates cached by text, so a template robot compiles once per worker. The event loop never
waits on a worker: :meth:`RenderPool.run` runs the blocking part (a template source's
``process``, which calls :meth:`RenderPool.render_text`) in one of the pool's threads, one per
worker. Without the ``resource`` module or ``/proc`` to size the cap (not Linux), workers run
without a memory cap; the time limit holds everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from gong.integrations.source import invalid
from gong.integrations.template import render_text
from gong.protocol.errors import Errors, RobotError

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_WORKERS", "GRACE_S", "RenderPool"]

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
DEFAULT_MEMORY_MB = 256
#: How long past the time limit a worker may take to answer before it is killed, in seconds.
GRACE_S = 0.5
#: Renders that may wait for a worker, per worker, before more are refused.
WAITING_PER_WORKER = 4

_MB = 1024 * 1024
#: A render quicker than this cannot have touched much memory: no need to read the peak.
_QUICK_S = 0.005
T = TypeVar("T")

# Requests and answers cross the socket in ``marshal`` form: the fastest for JSON values, and
# unlike pickle it does not recurse on the Python stack, so any payload JSON allows (1 024 deep)
# gets through. Both ends are this program.

#: A render request: template text, its context (JSON values), time limit, output limit.
_Request = tuple[str, dict[str, Any], float, int]
#: A worker's answer: the text, or the error's detail; and whether the worker is retiring.
_Reply = tuple[str | None, str | None, bool]


# -- in the worker -------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    """A ``kB`` line of ``/proc/self/status`` (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _limit_memory(memory_mb: int) -> bool:
    """Cap this process's address space at its present size plus ``memory_mb``; False where the
    platform has no ``resource`` module or no ``/proc`` to size it."""
    try:
        import resource
    except ImportError:
        return False
    size_kb = _status_kb("VmSize")
    if size_kb is None:
        return False
    limit = size_kb * 1024 + memory_mb * _MB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return True


def _worker_main() -> None:
    """A worker process's entry point: ``python -c`` with the socket's fd and the memory cap."""
    fd, memory_mb = (int(arg) for arg in sys.argv[1:3])
    _serve(Connection(fd), memory_mb)


def _serve(conn: Connection, memory_mb: int) -> None:
    """A worker's loop: render requests until the pool closes its end of the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    limited = _limit_memory(memory_mb)
    retire_kb = (_status_kb("VmRSS") or 0) + memory_mb * 1024 // 2
    while True:
        try:
            request: _Request = marshal.loads(conn.recv_bytes())  # noqa: S302 - from the server
        except EOFError:
            return
        source, context, time_limit, max_output = request
        started = time.perf_counter()
        text: str | None = None
        detail: str | None = None
        try:
            text = render_text(
                source,
                context,
                time_limit=time_limit,
                max_output=max_output,
                memory_limit_mb=memory_mb if limited else None,
            )
        except RobotError as error:
            detail = error.params.get("detail") or error.error.name
        # Memory a big render took may stay with the process: start afresh past half the cap.
        quick = time.perf_counter() - started < _QUICK_S
        retiring = not quick and (_status_kb("VmHWM") or 0) > retire_kb
        reply: _Reply = (text, detail, retiring)
        conn.send_bytes(marshal.dumps(reply))
        if retiring:
            return


# -- in the server -------------------------------------------------------------------------------


_WORKER_CODE = f"from {__name__} import _worker_main; _worker_main()"
#: What a worker keeps of the server's environment: how to find Python, and the locale. No
#: secrets (admin token, database or Redis URL) where templates run.
_WORKER_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LC_", "PYTHON", "VIRTUAL_ENV")


def _worker_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_WORKER_ENV)}


@dataclass(eq=False, slots=True)
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection


class RenderPool:
    """A few worker processes that render templates within hard time and memory limits.

    Thread-safe; processes start on the first render. :meth:`close` stops them.
    """

    def __init__(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        memory_mb: int = DEFAULT_MEMORY_MB,
        max_waiting: int | None = None,
        grace: float = GRACE_S,
    ) -> None:
        self.workers = workers
        self.memory_mb = memory_mb
        self.max_waiting = WAITING_PER_WORKER * workers if max_waiting is None else max_waiting
        self.grace = grace
        #: One slot per worker: a running worker, or None where one is to be started.
        self._slots: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(workers):
            self._slots.put(None)
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._pending = 0
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Calls of :meth:`run` rendering or waiting."""
        return self._pending

    @property
    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        with self._lock:
            return [worker.process.pid for worker in self._live]

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in one of the pool's threads, where it may call :meth:`render_text`.

        Raises:
            RobotError: ``系统繁忙`` when ``workers`` calls are running and ``max_waiting`` are
                waiting already.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the render pool is closed")
            if self._pending >= self.workers + self.max_waiting:
                log.warning(
                    "template render refused as busy: %d running or waiting "
                    "(%d workers, %d may wait)",
                    self._pending,
                    self.workers,
                    self.max_waiting,
                )
                raise RobotError(
                    Errors.SYSTEM_BUSY,
                    detail=f"the template renderer is busy ({self._pending} renders running or "
                    "waiting); try again later",
                )
            self._pending += 1
            if self._threads is None:
                self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="gong-template")
            threads = self._threads
        future = threads.submit(work, *args)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _future: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    def render_text(
        self, source: str, context: Mapping[str, Any], *, time_limit: float, max_output: int
    ) -> str:
        """The template's output, rendered by a worker (this blocks: call it under :meth:`run`).

        Raises:
            RobotError: 400401 naming what went wrong, as
                :func:`~gong.integrations.template.render_text` does, or the limit that got the
                worker killed.
        """
        try:
            request = marshal.dumps((source, dict(context), time_limit, max_output))
        except ValueError as exc:  # not JSON values, or nested past 2 000 (JSON allows 1 024)
            raise invalid(f"the payload cannot be rendered: {exc}") from None
        worker = self._slots.get()
        try:
            if worker is None or worker.process.poll() is not None:
                if worker is not None:
                    self._stop(worker)
                    worker = None
                worker = self._start()
            text, detail, retiring = self._ask(worker, request, time_limit)
            if retiring:
                self._stop(worker, kill=False)
                worker = None
        except _Lost as lost:
            worker = None
            raise invalid(str(lost)) from None
        finally:
            self._slots.put(worker)
        if text is None:
            raise invalid(detail or "the template failed")
        return text

    def _ask(self, worker: _Worker, request: bytes, time_limit: float) -> _Reply:
        """The worker's answer; :class:`_Lost` (the worker stopped) when it does not answer in
        time or dies."""
        wait = time_limit + self.grace
        try:
            worker.conn.send_bytes(request)
            if worker.conn.poll(wait):
                reply: _Reply = marshal.loads(worker.conn.recv_bytes())  # noqa: S302 - our worker
                return reply
            log.warning("template worker %s killed: no answer in %g s", worker.process.pid, wait)
            problem = f"the template ran longer than {time_limit:g} s and was stopped"
        except (EOFError, OSError):
            if self._closed:
                problem = "the server stopped while the template rendered"
            else:
                log.warning("template worker %s died while rendering", worker.process.pid)
                problem = (
                    f"the template used more than {self.memory_mb} MB (or crashed its worker) "
                    "and was stopped"
                )
        self._stop(worker)
        raise _Lost(problem)

    def _start(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the render pool is closed")
        ours, theirs = socket.socketpair()
        with theirs:
            fd = theirs.fileno()
            process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code, no shell
                [sys.executable, "-c", _WORKER_CODE, str(fd), str(self.memory_mb)],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                env=_worker_env(),
            )
        worker = _Worker(process, Connection(ours.detach()))
        with self._lock:
            self._live.add(worker)
        return worker

    def _stop(self, worker: _Worker, *, kill: bool = True) -> None:
        """Stop a worker (at once with ``kill``, else when it has read the end of its pipe)."""
        with self._lock:
            if worker not in self._live:
                return
            self._live.discard(worker)
        worker.conn.close()
        process = worker.process
        if kill:
            process.kill()
        try:
            process.wait(1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop the workers (idle ones at the end of their pipe, busy ones at once) and the
        threads; renders in progress fail, later ones raise RuntimeError."""
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
        idle: list[_Worker] = []
        for _ in range(self.workers):
            try:
                worker = self._slots.get_nowait()
            except queue.Empty:
                break
            if worker is not None:
                idle.append(worker)
            self._slots.put(None)  # a later render finds the pool closed, not an empty queue
        for worker in idle:
            self._stop(worker, kill=False)
        with self._lock:
            busy = list(self._live)
        for worker in busy:
            self._stop(worker)


class _Lost(Exception):
    """A worker was stopped before it answered; the message says which limit it broke."""
