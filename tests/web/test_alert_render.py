"""How an alert message's state and a repeat count are drawn, on the page and in a live update."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from gong import i18n
from gong.domain.service import message_event
from gong.web.live.events import UpdateFrames
from gong.web.render import environment, message_status, message_view
from tests.web.test_render import stored


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Drawn in English (both languages: tests/web/test_i18n.py)."""
    with i18n.use("en"):
        yield


POSTED = 1_800_000_000_000
#: Twelve minutes and five seconds after the message was posted.
RESOLVED_AT = POSTED + 725_000
ALERT_TEXT = "#### 🔥 2 firing\n\n" + "\n".join(
    f"- **HighCPU** · instance=web-{i}" for i in range(2)
)


def alert_message(alert: dict[str, Any] | None, repeat: int = 1) -> Any:
    message = stored({"msgtype": "markdown", "markdown": {"title": "HighCPU", "text": ALERT_TEXT}})
    return dataclasses.replace(message, alert=alert, repeat=repeat)


def render(message: Any) -> str:
    return environment().get_template("_message.html").render(m=message_view(message))


def status_of(html: str) -> str:
    """The message's status element (what a live update replaces), or ``""``."""
    found = re.search(r'<span class="msg-status".*?</span>\s*</span>\s*(?=</header>)', html, re.S)
    return found.group(0).strip() if found else ""


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def firing(n: int = 2, resolved: int = 0) -> dict[str, Any]:
    return {"state": "firing", "resolved_at": None, "firing": n, "resolved": resolved}


def resolved(n: int = 2, at: int | None = RESOLVED_AT) -> dict[str, Any]:
    return {"state": "resolved", "resolved_at": at, "firing": 0, "resolved": n}


@pytest.mark.parametrize(
    ("alert", "repeat", "state", "shown"),
    [
        (firing(), 1, "firing", "Firing"),
        (firing(3, 2), 1, "firing", "Firing 3 firing · 2 resolved"),
        (resolved(), 1, "resolved", "Resolved resolved at 08:12 after 12 min 5 s"),
        (resolved(at=None), 1, "resolved", "Resolved"),  # posted already resolved
        (resolved(at=POSTED - 1000), 1, "resolved", "Resolved"),  # resolved before it was posted
        (resolved(at=POSTED), 1, "resolved", "Resolved"),
        (firing(), 3, "firing", "Firing ×3"),
        (None, 4, None, "×4"),
    ],
)
def test_the_status_beside_the_time(
    alert: dict[str, Any] | None, repeat: int, state: str | None, shown: str
) -> None:
    html = render(alert_message(alert, repeat))
    marked = re.search(r'<article [^>]*data-alert="(\w+)"', html)
    assert (marked.group(1) if marked else None) == state
    assert text_of(status_of(html)) == shown
    if state is not None:
        assert f'<span class="alert-badge alert-{state}">' in html
    if repeat > 1:
        assert f'title="posted {repeat} times in the quiet window">×{repeat}</span>' in html
    else:
        assert "repeat-badge" not in html


def test_resolved_time_is_a_time_element_the_page_formats() -> None:
    html = render(alert_message(resolved()))
    assert (
        f'resolved at <time datetime="2027-01-15T08:12:05+00:00" data-ms="{RESOLVED_AT}" '
        'data-format="when">08:12</time>'
    ) in html
    assert f'<span class="alert-after" data-to="{RESOLVED_AT}"> after 12 min 5 s</span>' in html


def test_after_how_long_counts_from_when_the_alerts_fired_if_the_state_says() -> None:
    fired = {**resolved(), "fired_at": POSTED - 3_600_000}
    html = render(alert_message(fired))
    assert (
        f'<span class="alert-after" data-from="{POSTED - 3_600_000}" data-to="{RESOLVED_AT}">'
        " after 1 h 12 min</span>"
    ) in html
    frame = UpdateFrames(environment()).from_event(
        orjson.dumps({"type": "message_update", "id": 1, "group_id": 3, "alert": fired})
    )
    assert frame is not None
    assert status_of(html) == orjson.loads(frame[0].split(b"data: ", 1)[1])["html"]


def test_a_plain_message_has_no_status() -> None:
    html = render(alert_message(None))
    assert "msg-status" not in html and "data-alert" not in html


def test_odd_values_are_drawn_safely() -> None:
    status = message_status(1, {"state": "<script>", "firing": 2, "resolved_at": "soon"}, "many")
    assert status.alert is not None and status.alert.state == "firing"
    assert status.alert.resolved_at is None
    assert status.repeat == 1
    assert message_status(1, {"state": "firing", "firing": "x"}, 1).alert is None
    assert message_status(1, "resolved", 0) == message_status(1, None, 1)  # type: ignore[arg-type]


def test_the_live_event_renders_as_the_stored_message() -> None:
    message = alert_message(firing(3, 2), repeat=2)
    event = orjson.loads(orjson.dumps(message_event(message.id, message)))
    assert (event["alert"], event["repeat"]) == (firing(3, 2), 2)
    assert render(event) == render(message)


def test_an_update_frame_carries_the_status_as_the_page_draws_it() -> None:
    frames = UpdateFrames(environment())
    event = {"type": "message_update", "id": 1, "group_id": 3, "alert": resolved(), "repeat": 2}
    published = orjson.dumps(event)
    frame = frames.from_event(published)
    assert frame is not None
    raw, only_for = frame
    assert only_for is None
    head, _, rest = raw.partition(b"\n")
    # No "id:" line: the reader's resume point stays at its newest message.
    assert head == b"event: message_update" and rest.startswith(b"data: ")
    assert raw.endswith(b"\n\n") and raw.count(b"\n") == 3
    data = orjson.loads(rest.removeprefix(b"data: "))
    assert {k: data[k] for k in ("id", "group_id", "alert", "repeat")} == {
        "id": 1,
        "group_id": 3,
        "alert": resolved(),
        "repeat": 2,
    }
    page = status_of(render(alert_message(resolved(), repeat=2)))
    # The same element; only "after 12 min 5 s" is left to the page, which knows when the
    # message was posted (the update does not say).
    assert data["html"] == page.replace(" after 12 min 5 s", "")
    assert frames.from_event(published) is frame  # rendered once, however many readers


def test_an_update_that_clears_everything_sends_an_empty_status() -> None:
    frames = UpdateFrames(environment())
    event = {"type": "message_update", "id": 9, "group_id": 3, "alert": None, "repeat": 1}
    frame = frames.from_event(orjson.dumps(event))
    assert frame is not None
    assert orjson.loads(frame[0].split(b"data: ", 1)[1])["html"] == ""


@pytest.mark.parametrize(
    "published",
    [
        b"not json",
        b"[]",
        orjson.dumps({"type": "message", "id": 1}),
        orjson.dumps({"type": "message_update", "group_id": 3}),  # no id: logged, skipped
    ],
)
def test_other_events_are_not_updates(published: bytes) -> None:
    assert UpdateFrames(environment()).from_event(published) is None
