"""What the integration suites check again and again: a delivery posted and the message it left,
a change to a fixture's document, a refusal, a bad body, a message's size."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from tests.integrations.conftest import last_message, send
from tests.integrations.deliveries import SECRET, Delivery, deliver, payload

OK = {"errcode": 0, "errmsg": "ok"}
#: Changes a fixture's document in place, to make the payload of another event.
Change = Callable[[dict[str, Any]], None]


def set_paths(**values: Any) -> Change:
    """Set ``a__b__c`` paths in the document (``__`` separates keys; missing parents are made)."""

    def change(document: dict[str, Any]) -> None:
        for path, value in values.items():
            target = document
            *parents, last = path.split("__")
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = value

    return change


def fixture_document(source: str, name: str, change: Change | None = None) -> dict[str, Any]:
    """The parsed payload fixture ``name`` of ``source``, with ``change`` applied."""
    document: dict[str, Any] = json.loads(payload(source, name))
    if change is not None:
        change(document)
    return document


def delivery_of(source: str, name: str, document: dict[str, Any], **kw: Any) -> Delivery:
    """The delivery of fixture ``name`` of ``source`` carrying ``document`` (see ``deliver``)."""
    return deliver(source, name, document=json.dumps(document, ensure_ascii=False).encode(), **kw)


def opted_in(include: Iterable[str], **settings: Any) -> dict[str, Any]:
    """Robot ``settings`` with ``include_events`` when ``include`` names any."""
    include = list(include)
    return {**settings, "include_events": include} if include else settings


async def post(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    robot: dict[str, Any],
    delivery: Delivery,
) -> tuple[httpx.Response, dict[str, Any] | None]:
    """Post ``delivery`` to ``robot``: the answer, and the message it left (if any)."""
    answer = await send(client, robot, delivery)
    return answer, await last_message(client, admin_headers, robot)


async def shown(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    robot: dict[str, Any],
    delivery: Delivery,
) -> dict[str, Any]:
    """Post ``delivery``: it is accepted with ``ok`` and leaves a message, returned."""
    answer, message = await post(client, admin_headers, robot, delivery)
    assert (answer.status_code, answer.json()) == (200, OK), answer.text
    assert message is not None
    return message


def assert_ignored(answer: httpx.Response, message: dict[str, Any] | None, event: str) -> None:
    """Accepted but ignored as ``event``, shown only if the robot opts in, and not shown."""
    assert answer.status_code == 200
    assert answer.json()["errmsg"].startswith(f'ignored: event "{event}"')
    assert "include_events" in answer.json()["errmsg"]
    assert message is None


def result(answer: httpx.Response, message: dict[str, Any] | None) -> dict[str, Any]:
    """What a golden file holds of a delivery: the status, the answer and the message's content."""
    return {
        "status": answer.status_code,
        "answer": answer.json(),
        "message": message["content"] if message else None,
    }


def assert_refused(answer: httpx.Response, message: dict[str, Any] | None, why: str) -> None:
    """Refused as unauthenticated (403, 310001) for ``why``, without the secret, and not shown."""
    assert answer.status_code == 403
    body = answer.json()
    assert body["errcode"] == 310001
    assert why in body["errmsg"] and SECRET not in answer.text
    assert message is None


def assert_bad_body(answer: httpx.Response, message: dict[str, Any] | None, detail: str) -> None:
    """Refused as a bad body (400, 400401) for ``detail``, and not shown."""
    assert answer.status_code == 400
    assert answer.json()["errcode"] == 400401
    assert detail in answer.json()["errmsg"]
    assert message is None


def size(content: dict[str, Any]) -> int:
    """A message's size in bytes as JSON (spaced, so at least its compact size)."""
    return len(json.dumps(content, ensure_ascii=False).encode())


async def set_timezone(
    client: httpx.AsyncClient, admin_headers: dict[str, str], robot: dict[str, Any], zone: str
) -> None:
    """Put the robot's group on the clock of ``zone``."""
    answer = await client.patch(
        f"/api/groups/{robot['group_id']}", json={"timezone": zone}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.text


async def message_of(
    client: httpx.AsyncClient, admin_headers: dict[str, str], robot: dict[str, Any], message_id: int
) -> dict[str, Any]:
    """Message ``message_id`` as the robot's group lists it now (among its newest five)."""
    page = await client.get(
        f"/api/groups/{robot['group_id']}/messages?limit=5", headers=admin_headers
    )
    found: dict[str, Any] = next(m for m in page.json()["messages"] if m["id"] == message_id)
    return found
