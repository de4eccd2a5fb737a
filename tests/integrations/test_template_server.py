"""Template bombs against a real ``gong serve``: every family, through the preview API and through a
template robot's delivery. While one runs, ``/healthz`` and a custom robot's ``/robot/send``
answer within 100 ms; the bomb is answered within 3 s with the limit it broke; the server's own
process (``VmRSS`` of the ``gong serve`` process, not its render workers, whose memory is capped
on their own) grows by less than 100 MB."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gong.integrations.sandbox import MAX_INT_BITS, MAX_LENGTH
from tests.helpers import ADMIN_TOKEN, ServerProcess
from tests.integrations.test_template_pool import CPU_BOMB, GROWING_BOMB, MEMORY_BOMB, rss_kb

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FORBIDS = "the template did something the sandbox forbids: "
WIDTH = FORBIDS + f"a format width or precision larger than {MAX_LENGTH}"
RECURSION = "the template nests too deeply (recursion) and was stopped"
NESTING = "the template nests blocks or expressions too deeply to compile"
#: A payload nested 250 deep (previews encode up to 254), walked by a recursive loop.
DEEP_PAYLOAD = "[" * 250 + "]" * 250

#: family → (template, payload as JSON text, the error's detail)
BOMBS: dict[str, tuple[str, str, str]] = {
    "power": (
        "{{ (((9**256)**256)**256)**16 > 0 }}",
        "{}",
        FORBIDS + f"a power larger than {MAX_INT_BITS} bits",
    ),
    "ljust": ('{{ "x".ljust(2000000000) }}', "{}", FORBIDS + f"ljust() wider than {MAX_LENGTH}"),
    "center": (
        '{{ "x".center(2000000000) }}',
        "{}",
        FORBIDS + f"center() wider than {MAX_LENGTH}",
    ),
    "format": ('{{ "{:>2000000000}".format(1) }}', "{}", WIDTH),
    "printf": ('{{ "%2000000000d" % 1 }}', "{}", WIDTH),
    "repetition": (
        '{{ "x" * 2000000000 }}',
        "{}",
        FORBIDS + f"repetition longer than {MAX_LENGTH}",
    ),
    "range": (
        "{{ range(2000000000) | list | length }}",
        "{}",
        FORBIDS + f"range() longer than {MAX_LENGTH}",
    ),
    "recursion": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "{}", RECURSION),
    "deep-payload": (
        "{% for x in [payload] recursive %}{{ loop(x) }}{% endfor %}",
        DEEP_PAYLOAD,
        RECURSION,
    ),
    # What the sandbox lets through, the worker's hard limits stop.
    "memory": (MEMORY_BOMB, "{}", "the template used more than 256 MB and was stopped"),
    "growing-memory": (GROWING_BOMB, "{}", "the template used more than 256 MB and was stopped"),
    "cpu": (CPU_BOMB, "{}", "the template ran longer than 1 s and was stopped"),
}
JSON = {"Content-Type": "application/json"}


def preview_body(template: str, payload: str) -> str:
    return f'{{"template": {json.dumps(template)}, "payload": {payload}}}'


#: Refused when it is set, so it reaches only the preview.
DEEP_TEMPLATE = "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}"


@dataclass
class Gong:
    server: ServerProcess
    group_id: int
    custom_token: str
    #: VmRSS of the server process once it has rendered a template, in kB.
    baseline_kb: int = 0
    peak_kb: int = 0
    robots: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid


@pytest.fixture(scope="module")
def gong(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gong]:
    data = tmp_path_factory.mktemp("template-bombs") / "data"
    server = ServerProcess(env={"GONG_DATA_DIR": str(data)}, data_dir=data)
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as client:
            group = client.post("/api/groups", json={"name": "bombs"}).json()["id"]
            custom = client.post(
                f"/api/groups/{group}/robots",
                json={"name": "ci", "keywords": ["CI"], "rate_limit": {"limit": 0}},
            )
            assert custom.status_code == 201, custom.text
            gong = Gong(server, group, custom.json()["access_token"])
            warm = client.post(
                "/api/templates/preview", json={"template": "{{ payload }}", "payload": 1}
            )
            assert warm.status_code == 422  # "1" is not a message; the workers are up
        gong.baseline_kb = gong.peak_kb = rss_kb(gong.pid)
        yield gong
    finally:
        server.stop()
    assert "Traceback" not in server.log()
    # The server process (not its workers) stayed small through every bomb of the module.
    assert gong.peak_kb - gong.baseline_kb < 100_000, (gong.baseline_kb, gong.peak_kb)


async def probe(gong: Gong, bomb: asyncio.Future[httpx.Response]) -> list[tuple[str, float]]:
    """Call ``/healthz`` and ``/robot/send`` over and over until ``bomb`` is answered (at least
    three times each); how long each took. Samples the server's memory as it goes."""
    timings: list[tuple[str, float]] = []
    send = f"/robot/send?access_token={gong.custom_token}"
    text = {"msgtype": "text", "text": {"content": "CI still here"}}
    async with httpx.AsyncClient(base_url=gong.server.url, timeout=5) as client:
        while not bomb.done() or len(timings) < 6:
            started = time.monotonic()
            health = await client.get("/healthz")
            timings.append(("healthz", time.monotonic() - started))
            assert health.json() == {"status": "ok"}
            started = time.monotonic()
            sent = await client.post(send, json=text)
            timings.append(("robot/send", time.monotonic() - started))
            assert sent.json() == {"errcode": 0, "errmsg": "ok"}
            gong.peak_kb = max(gong.peak_kb, rss_kb(gong.pid))
            await asyncio.sleep(0.02)
    return timings


async def during(gong: Gong, call: Any) -> tuple[httpx.Response, float]:
    """Run ``call`` (the bomb) while probing; check the probes; its answer and how long it took."""
    async with httpx.AsyncClient(base_url=gong.server.url, headers=ADMIN, timeout=30) as client:
        started = time.monotonic()
        bomb = asyncio.ensure_future(call(client))
        await asyncio.sleep(0.05)  # let it reach a worker
        timings = await probe(gong, bomb)
        answer = await bomb
        took = time.monotonic() - started
    slow = [(name, round(seconds, 3)) for name, seconds in timings if seconds >= 0.1]
    assert not slow, f"answered slower than 100 ms while a template ran: {slow}"
    return answer, took


@pytest.mark.parametrize("family", list(BOMBS))
async def test_bomb_through_the_preview(gong: Gong, family: str) -> None:
    template, payload, detail = BOMBS[family]
    body = preview_body(template, payload)
    answer, took = await during(
        gong, lambda client: client.post("/api/templates/preview", content=body, headers=JSON)
    )
    assert answer.status_code == 422
    assert answer.json() == {"error": {"code": "invalid", "message": detail}}
    assert took < 3


@pytest.mark.parametrize("family", list(BOMBS))
async def test_bomb_through_a_template_robot(gong: Gong, family: str) -> None:
    template, payload, detail = BOMBS[family]
    async with httpx.AsyncClient(base_url=gong.server.url, headers=ADMIN) as client:
        made = await client.post(
            f"/api/groups/{gong.group_id}/robots",
            json={"name": family, "kind": "template", "settings": {"template": template}},
        )
        assert made.status_code == 201, made.text
    url = f"/robot/send?access_token={made.json()['access_token']}"
    answer, took = await during(
        gong, lambda client: client.post(url, content=payload, headers=JSON)
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "errcode": 400401,
        "errmsg": f"错误描述:{detail};解决方案:请确认此机器人的类型与发送方一致;",
    }
    assert took < 3


async def test_deeply_nested_template(gong: Gong) -> None:
    """Too deep to compile: the preview says so, and a robot cannot be given it."""
    answer, took = await during(
        gong,
        lambda client: client.post(
            "/api/templates/preview", json={"template": DEEP_TEMPLATE, "payload": {}}
        ),
    )
    assert (answer.status_code, answer.json()["error"]["message"]) == (422, NESTING)
    assert took < 3
    async with httpx.AsyncClient(base_url=gong.server.url, headers=ADMIN) as client:
        made = await client.post(
            f"/api/groups/{gong.group_id}/robots",
            json={"name": "deep", "kind": "template", "settings": {"template": DEEP_TEMPLATE}},
        )
    assert made.status_code == 422
    assert made.json()["error"]["message"] == NESTING


async def test_a_flood_of_bombs_is_refused_not_queued(gong: Gong) -> None:
    """Two workers render and eight deliveries wait; the rest are answered 系统繁忙 at once."""
    async with httpx.AsyncClient(base_url=gong.server.url, headers=ADMIN, timeout=30) as client:
        made = await client.post(
            f"/api/groups/{gong.group_id}/robots",
            json={"name": "flood", "kind": "template", "settings": {"template": CPU_BOMB}},
        )
        url = f"/robot/send?access_token={made.json()['access_token']}"

        async def deliver() -> tuple[int, Any, float]:
            started = time.monotonic()
            answer = await client.post(url, json={})
            return answer.status_code, answer.json(), time.monotonic() - started

        answers = await asyncio.gather(*(deliver() for _ in range(14)))
    refused = [(body, took) for status, body, took in answers if status == 503]
    stopped = [body for status, body, _ in answers if status == 400]
    assert len(refused) == 4 and len(stopped) == 10, answers
    assert all(body == {"errcode": -1, "errmsg": "系统繁忙"} for body, _ in refused)
    assert all(took < 0.5 for _, took in refused), refused
    assert all("ran longer than 1 s" in body["errmsg"] for body in stopped)
