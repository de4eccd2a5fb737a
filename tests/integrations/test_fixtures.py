"""Every fixture, posted over HTTP with its source's real headers, against a golden message.

Each fixture goes to two robots of its kind: one with a source secret (the delivery signed with
the test secret as the source would sign it) and one without (the delivery unsigned). Both must
answer the same and post the same message, compared in full with
``golden/<source>/<fixture>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import (
    FIXTURES,
    GOLDEN,
    SECRET,
    SOURCES,
    all_fixtures,
    deliver,
    travis_test_public_pem,
)

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
CASES = all_fixtures()


async def test_fixture_copies_are_identical_and_complete() -> None:
    """The suite's copies of ``../shared/fixtures`` are byte-for-byte the same, none missing;
    the fixtures it adds are each named in their source's ``INDEX.md``."""
    if not SHARED.is_dir():
        pytest.skip("../shared/fixtures is not beside this checkout")
    shared = {p.relative_to(SHARED): p.read_bytes() for p in SHARED.rglob("*") if p.is_file()}
    ours = {p.relative_to(FIXTURES): p.read_bytes() for p in FIXTURES.rglob("*") if p.is_file()}
    payloads = [name for name in shared if name.name != "INDEX.md"]
    assert sorted(set(shared) - set(ours)) == []
    assert [name for name in payloads if shared[name] != ours[name]] == []
    assert {p.parts[0] for p in shared} <= set(SOURCES)
    # Fixtures of the suite's own (new events, new kinds) each say where they came from.
    for name in sorted(set(ours) - set(shared)):
        if name.suffix == ".json":
            index = (FIXTURES / name.parts[0] / "INDEX.md").read_text(encoding="utf-8")
            assert name.name.removesuffix(".headers.json").removesuffix(".json") in index, name


def _settings(source: str, signed: bool) -> dict[str, Any]:
    if source == "travis":
        return (
            {"travis_public_key": travis_test_public_pem()} if signed else {"travis_verify": False}
        )
    return {"source_secret": SECRET} if signed else {}


@pytest.mark.parametrize(("source", "name"), CASES, ids=[f"{s}/{n}" for s, n in CASES])
async def test_fixture(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    name: str,
) -> None:
    results = []
    for signed in (True, False):
        settings = _settings(source, signed)
        if source == "travis" and name == "failed_push" and signed:
            settings = {}  # the real captured signature, checked with Travis CI's real keys
        robot = await make_robot(source, **settings)
        callback = f"http://gong.test/robot/send?access_token={robot['access_token']}"
        delivery = deliver(source, name, secret=SECRET if signed else None, callback_url=callback)
        answer = await send(client, robot, delivery)
        message = await last_message(client, admin_headers, robot)
        results.append(
            {
                "status": answer.status_code,
                "answer": answer.json(),
                "message": message["content"] if message else None,
            }
        )
        if message is not None:
            assert message["sender"] == {
                "type": "robot",
                "name": f"{source} robot",
                "user_id": None,
            }
            assert message["payload"] == json.loads(
                (FIXTURES / source / f"{name}.json").read_bytes()
            )
    assert results[0] == results[1], "signed and unsigned deliveries differ"
    golden(GOLDEN / source / f"{name}.json", results[0])
    if results[0]["message"] is not None:
        size = len(json.dumps(results[0]["message"], ensure_ascii=False, separators=(",", ":")))
        assert size <= 20_000
