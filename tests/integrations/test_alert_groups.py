"""Alert groups that fit the reader: payloads built here, posted over HTTP or rendered by the
sources, checked for counts, the shared part shown once, one line per alert, escaping, the
group's clock, the facts the hub keeps, and bad input that never crashes or overflows."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from gong.domain.alerts import fingerprint_of
from gong.domain.markdown import render_markdown
from gong.integrations import Alertmanager, Grafana, IntegrationConfig, Trello, preview
from gong.integrations.source import Delivery, Ignored, Rendered, Source
from gong.integrations.template import TemplateSource, render
from gong.protocol.errors import Errors, RobotError
from gong.protocol.limits import MAX_ALERT_MESSAGE_BYTES
from tests.integrations.conftest import MakeRobot, last_message, send
from tests.integrations.deliveries import deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SHANGHAI = ZoneInfo("Asia/Shanghai")
DESCRIPTION = (
    "The filesystem is almost full. Free space on the volume or grow it before writes fail; "
    "see the runbook for the usual suspects (logs, core dumps, old images)."
)
RUNBOOK = "https://runbooks.example.com/DiskFull"
STARTS = "2026-12-05T06:02:11.123456789Z"  # 14:02:11 in Shanghai
ENDS = "2026-12-05T06:20:00Z"


def _alert(i: int, *, firing: bool = True, **changes: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing" if firing else "resolved",
        "labels": {
            "alertname": "DiskFull",
            "severity": "critical",
            "instance": f"db-{i:02d}.prod:9100",
        },
        "annotations": {
            "summary": f"{90 + i % 10}% used on db-{i:02d}",
            "description": DESCRIPTION,
            "runbook_url": RUNBOOK,
        },
        "startsAt": STARTS,
        "endsAt": "0001-01-01T00:00:00Z" if firing else ENDS,
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=disk_used+%3E+0.9",
        "fingerprint": f"fp{i:04d}",
    }
    alert.update(changes)
    return alert


def _group(firing: int, resolved: int, *, common: bool = True) -> dict[str, Any]:
    alerts = [_alert(i) for i in range(firing)]
    alerts += [_alert(firing + i, firing=False) for i in range(resolved)]
    document: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "gong",
        "groupLabels": {"alertname": "DiskFull"},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": alerts,
    }
    if common:
        document["commonLabels"] = {"alertname": "DiskFull", "severity": "critical"}
        document["commonAnnotations"] = {"description": DESCRIPTION, "runbook_url": RUNBOOK}
    return document


def _rendered(document: Any, tz: dt.tzinfo = dt.UTC, source: Source | None = None) -> Rendered:
    raw = document if isinstance(document, bytes) else orjson.dumps(document)
    delivery = Delivery(headers={}, body=raw, document=raw, callback_url="", now_ms=0, tz=tz)
    return (source or Alertmanager()).message(delivery, IntegrationConfig())


def _text(rendered: Rendered) -> str:
    return rendered.message.body_text()


def _items(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith("- ")]


def _size(content: Any) -> int:
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def _failure(call: Any) -> str:
    with pytest.raises(RobotError) as caught:
        call()
    assert caught.value.error is Errors.PAYLOAD_INVALID
    detail: str = caught.value.params["detail"]
    return detail


# -- the shape --------------------------------------------------------------------------------


async def test_forty_alerts_in_one_compact_message(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """40 alerts (34 firing, 6 resolved) over HTTP, the group in Shanghai: both counts, the
    shared description once, every alert on its own line with its own instance, firing first,
    times on the group's clock, and the alert state in the API."""
    robot = await make_robot("alertmanager")
    answer = await client.patch(
        f"/api/groups/{robot['group_id']}",
        json={"timezone": "Asia/Shanghai"},
        headers=admin_headers,
    )
    assert answer.status_code == 200, answer.text
    body = json.dumps(_group(34, 6)).encode()
    sent = await send(client, robot, deliver("alertmanager", "x", document=body, secret=None))
    assert (sent.status_code, sent.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    card = message["content"]["actionCard"]
    assert card["title"] == "[FIRING:34, RESOLVED:6] DiskFull"
    text = card["text"]
    assert text.startswith("#### 🔥 34 firing, 6 resolved\n\n**DiskFull** · severity=critical  \n")
    assert text.count("The filesystem is almost full.") == 1
    assert text.count(f"[Runbook]({RUNBOOK})") == 1
    assert text.count("[Source](") == 1  # the same link for every alert: shown once
    items = _items(text)
    assert len(items) == 40
    assert [item[:4] for item in items] == ["- 🔥 "] * 34 + ["- ✅ "] * 6
    for i, item in enumerate(items):
        assert f"instance=db-{i:02d}.prod:9100 · {90 + i % 10}% used on db-{i:02d}" in item
    assert items[0].endswith(" · since 2026-12-05 14:02:11 CST")
    assert items[-1].endswith(" · resolved at 2026-12-05 14:20:00 CST after 17 min 49 s")
    assert " UTC" not in text
    # One list, then nothing: the list is the message's last block.
    assert text.split("\n\n")[-1] == "\n".join(items)
    assert _size(message["content"]) < 8_000
    alert = dict(message["alert"])
    assert isinstance(alert.pop("fired_at"), int)
    assert alert == {"state": "firing", "resolved_at": None, "firing": 34, "resolved": 6}


async def test_shared_parts_are_found_when_the_sender_leaves_them_out() -> None:
    """Without commonLabels and commonAnnotations the message is the same: Gong intersects."""
    given = _text(_rendered(_group(5, 2)))
    computed = _text(_rendered(_group(5, 2, common=False)))
    assert computed == given
    assert computed.count("The filesystem is almost full.") == 1


async def test_common_labels_the_alerts_contradict_are_not_hidden() -> None:
    """A commonLabels entry that some alert does not share stays on that alert's line."""
    document = _group(2, 0)
    document["commonLabels"]["instance"] = "db-00.prod:9100"
    text = _text(_rendered(document))
    assert "instance=db-01.prod:9100" in _items(text)[1]
    assert "instance=db-00.prod:9100" in _items(text)[0]


@pytest.mark.parametrize(
    ("firing", "resolved", "title", "heading"),
    [
        (3, 0, "[FIRING:3] DiskFull", "#### 🔥 3 alerts firing"),
        (1, 0, "[FIRING:1] DiskFull", "#### 🔥 1 alert firing"),
        (0, 2, "[RESOLVED:2] DiskFull", "#### ✅ 2 alerts resolved"),
        (3, 2, "[FIRING:3, RESOLVED:2] DiskFull", "#### 🔥 3 firing, 2 resolved"),
    ],
)
async def test_titles_and_headings_count_both_states(
    firing: int, resolved: int, title: str, heading: str
) -> None:
    rendered = _rendered(_group(firing, resolved))
    assert rendered.message.title() == title
    assert _text(rendered).startswith(heading + "\n\n")
    assert len(_items(_text(rendered))) == firing + resolved


async def test_resolved_alerts_come_after_the_firing_ones() -> None:
    document = _group(0, 0)
    document["alerts"] = [_alert(0, firing=False), _alert(1), _alert(2, firing=False), _alert(3)]
    items = _items(_text(_rendered(document)))
    assert [re.search(r"db-\d\d", item).group(0) for item in items] == [  # type: ignore[union-attr]
        "db-01",
        "db-03",
        "db-00",
        "db-02",
    ]


# -- escaping ---------------------------------------------------------------------------------


async def test_annotation_text_is_escaped() -> None:
    """``*``, ``_``, brackets and HTML in annotations and labels show literally."""
    document = _group(2, 0)
    for i, alert in enumerate(document["alerts"]):
        alert["annotations"]["summary"] = f"load *{i}* on __main__ [x](http://evil.example) <b>"
        alert["labels"]["path"] = f"/var/*_{i}_*"
    document["commonAnnotations"]["description"] = "Shared **bold** and _it_"
    for alert in document["alerts"]:
        alert["annotations"]["description"] = "Shared **bold** and _it_"
    text = _text(_rendered(document))
    assert "Shared \\*\\*bold\\*\\* and \\_it\\_" in text
    first = _items(text)[0]
    assert r"load \*0\* on \_\_main\_\_ \[x\](http://evil.example) \<b>" in first
    assert r"path=/var/\*\_0\_\*" in first
    html = render_markdown(text)
    assert "<em>" not in html and "<strong>bold" not in html
    assert not any("evil.example" in href for href in re.findall(r'href="([^"]*)"', html))
    assert "*0*" in html and "__main__" in html


# -- the group's clock ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "since", "resolved"),
    [
        (SHANGHAI, "since 2026-12-05 14:02:11 CST", "resolved at 2026-12-05 14:20:00 CST"),
        (dt.UTC, "since 2026-12-05 06:02:11 UTC", "resolved at 2026-12-05 06:20:00 UTC"),
        (
            ZoneInfo("America/New_York"),
            "since 2026-12-05 01:02:11 EST",
            "resolved at 2026-12-05 01:20:00 EST",
        ),
    ],
)
async def test_times_are_on_the_groups_clock(tz: dt.tzinfo, since: str, resolved: str) -> None:
    items = _items(_text(_rendered(_group(1, 1), tz)))
    assert items[0].endswith(since)
    assert items[1].endswith(f"{resolved} after 17 min 49 s")


async def test_grafana_values_and_times_on_the_groups_clock() -> None:
    document = json.loads(payload("grafana", "firing_two_alerts_docs"))
    text = _text(_rendered(document, SHANGHAI, Grafana()))
    items = _items(text)
    assert len(items) == 2
    assert "value: B=44.2394, C=1 · since 2021-10-12 15:51:03 CST" in items[0]
    assert "[Silence](" in items[0] and "[Source](" in items[0]
    assert text.count("[Runbook](https://myrunbook.com/runbook/1234)") == 1


async def test_preview_writes_times_in_the_zone_it_is_given() -> None:
    raw = orjson.dumps(_group(1, 0))
    message = preview(Alertmanager(), IntegrationConfig(), raw, tz=SHANGHAI)
    assert message.body_text().endswith("since 2026-12-05 14:02:11 CST")
    assert preview(Alertmanager(), IntegrationConfig(), raw).body_text().endswith(" UTC")


async def test_trello_due_dates_are_on_the_groups_clock() -> None:
    document = json.loads(payload("trello", "updateCard_moved_list"))
    document["action"]["data"]["old"] = {"due": None}
    document["action"]["data"]["card"]["due"] = "2026-12-01T09:00:00.000Z"
    rendered = _rendered(document, SHANGHAI, Trello())
    assert "to **2026-12-01 17:00:00 CST**" in _text(rendered)
    assert rendered.alert is None


# -- the facts the hub keeps ------------------------------------------------------------------


async def test_facts_name_every_alert() -> None:
    document = _group(2, 1)
    del document["alerts"][1]["fingerprint"]
    document["alerts"][2]["fingerprint"] = "f" * 300  # longer than the store keeps
    rendered = _rendered(document)
    facts = rendered.alert
    assert facts is not None
    assert facts.group_key == '{}:{alertname="DiskFull"}'
    assert facts.title == rendered.message.title() == "[FIRING:2, RESOLVED:1] DiskFull"
    assert (facts.firing, facts.resolved) == (2, 1)
    first, second, third = facts.items
    assert first.fingerprint == "fp0000"
    assert second.fingerprint == fingerprint_of(document["alerts"][1]["labels"])
    assert 0 < len(third.fingerprint) <= 64 and third.fingerprint != "f" * 64
    assert first.starts_at == 1_796_450_531_123
    assert (first.firing, first.ends_at) == (True, None)
    assert (third.firing, third.ends_at) == (False, 1_796_451_600_000)
    assert first.labels == document["alerts"][0]["labels"]


async def test_facts_without_group_key_or_times() -> None:
    document = _group(1, 0)
    del document["groupKey"]
    document["alerts"][0]["startsAt"] = "0001-01-01T00:00:00Z"
    facts = _rendered(document).alert
    assert facts is not None
    assert (facts.group_key, facts.items[0].starts_at) == (None, None)


# -- bad input --------------------------------------------------------------------------------


async def test_an_empty_alerts_list_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("grafana")
    document = _group(0, 0)
    body = json.dumps(document).encode()
    answer = await send(client, robot, deliver("grafana", "x", document=body, secret=None))
    assert answer.status_code == 400
    assert answer.json()["errcode"] == 400401
    assert "the alerts list is empty, so there is nothing to show" in answer.json()["errmsg"]
    assert await last_message(client, admin_headers, robot) is None
    detail = _failure(lambda: _rendered(document))
    assert detail == (
        "Alertmanager notification: the alerts list is empty, so there is nothing to show"
    )


async def test_alerts_without_labels_or_annotations() -> None:
    document = {"status": "firing", "alerts": [{"status": "firing"}, {"status": "resolved"}]}
    rendered = _rendered(document)
    assert rendered.message.title() == "[FIRING:1, RESOLVED:1] Alert"
    assert _items(_text(rendered)) == ["- 🔥 **Alert**", "- ✅ **Alert**"]
    assert rendered.alert is not None
    assert [a.fingerprint for a in rendered.alert.items] == [fingerprint_of({})] * 2


@pytest.mark.parametrize(
    "when",
    ["9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "not a time", "", "1970-01-01T00:00:00Z"],
)
async def test_absurd_timestamps_are_left_out(when: str) -> None:
    document = _group(1, 1)
    for alert in document["alerts"]:
        alert["startsAt"] = when
        alert["endsAt"] = when
    rendered = _rendered(document)
    assert _items(_text(rendered)) == [
        "- 🔥 instance=db-00.prod:9100 · 90% used on db-00",
        "- ✅ instance=db-01.prod:9100 · 91% used on db-01",
    ]
    assert rendered.alert is not None
    assert all(a.starts_at is None and a.ends_at is None for a in rendered.alert.items)


async def test_five_thousand_alerts_fill_the_message_and_count_the_rest(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """More alerts than one message holds: every line that fits, then one counted line; the
    counts of the shown and the counted add up; the facts keep all 5 000."""
    document = _group(4_000, 1_000)
    for i, alert in enumerate(document["alerts"]):
        alert["annotations"]["summary"] = f"marker-{i:04d} " + "disk filling up fast " * 6
    body = json.dumps(document).encode()
    robot = await make_robot("alertmanager")
    answer = await send(client, robot, deliver("alertmanager", "x", document=body, secret=None))
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    assert _size(message["content"]) <= MAX_ALERT_MESSAGE_BYTES
    text = message["content"]["actionCard"]["text"]
    items = _items(text)
    assert 500 < len(items) < 4_000  # all firing: the resolved ones are counted
    assert all(f"marker-{i:04d} " in item for i, item in enumerate(items))
    hidden = 5_000 - len(items)
    assert text.endswith(
        f"\n\n… and {hidden} more alerts ({4_000 - len(items)} firing, 1000 resolved)"
    )
    assert message["alert"]["firing"] == 4_000 and message["alert"]["resolved"] == 1_000
    rendered = _rendered(body)
    assert rendered.alert is not None and len(rendered.alert.items) == 5_000


async def test_megabyte_annotations_are_cut() -> None:
    shared = _group(1, 0)
    shared["alerts"][0]["annotations"]["description"] = "x" * 1_000_000
    del shared["commonAnnotations"]
    text = _text(_rendered(shared))
    assert "x" * 999 + "…" in text and "x" * 1_000 not in text
    several = _group(2, 0, common=False)
    for i, alert in enumerate(several["alerts"]):
        alert["annotations"]["description"] = str(i) * 1_000_000
        alert["labels"]["huge"] = "y" * 1_000_000
        alert["generatorURL"] = "http://example.com/" + "z" * 1_000_000
    rendered = _rendered(several)
    items = _items(_text(rendered))
    assert "0" * 199 + "…" in items[0] and "1" * 199 + "…" in items[1]
    assert "z" * 100 not in _text(rendered)  # a URL no sender makes is not a link
    assert _size(rendered.message.to_wire()) < 10_000


async def test_mutated_alerts_never_crash() -> None:
    """Odd values where alerts hold strings: a 400401 naming the field, never an exception."""
    for field, value in (
        ("labels", ["not", "a", "map"]),
        ("labels", {"n": 1}),
        ("status", None),
        ("fingerprint", 12),
    ):
        document = _group(2, 0)
        document["alerts"][1][field] = value
        detail = _failure(lambda document=document: _rendered(document))
        assert detail.startswith(f"Alertmanager notification: field alerts.1.{field}")


# -- the template robot's alerts --------------------------------------------------------------

ALERT_TEMPLATE = """{
  "msgtype": "markdown",
  "markdown": {"title": {{ ("Disk " ~ payload.state) | json }}, "text": "disk"},
  "alerts": [{% for host in payload.hosts %}{
    "status": {{ payload.state | json }},
    "fingerprint": {{ host | json }},
    "labels": {"host": {{ host | json }}, "owner": "13800000001"},
    "startsAt": "2026-12-05T06:02:11Z"{% if payload.state == "resolved" %},
    "endsAt": "2026-12-05T06:20:00Z"{% endif %}
  }{% if not loop.last %},{% endif %}{% endfor %}],
  "groupKey": "disk"
}"""


async def test_template_output_that_says_it_is_an_alert() -> None:
    rendered = render(ALERT_TEMPLATE, {"state": "resolved", "hosts": ["a", "b"]})
    assert rendered.message.to_wire() == {
        "msgtype": "markdown",
        "markdown": {"title": "Disk resolved", "text": "disk"},
    }
    facts = rendered.alert
    assert facts is not None
    assert (facts.group_key, facts.title, facts.firing, facts.resolved) == (
        "disk",
        "Disk resolved",
        0,
        2,
    )
    assert [a.fingerprint for a in facts.items] == ["a", "b"]
    assert facts.items[0].labels == {"host": "a", "owner": "13800000001"}
    assert (facts.items[0].starts_at, facts.items[0].ends_at) == (
        1_796_450_531_000,
        1_796_451_600_000,
    )


async def test_template_output_with_one_alert_object() -> None:
    template = (
        '{"msgtype": "text", "text": {"content": "down"},'
        ' "alert": {"status": "firing", "labels": {"job": "api"}}}'
    )
    rendered = render(template, {})
    assert rendered.message.to_wire() == {"msgtype": "text", "text": {"content": "down"}}
    assert rendered.alert is not None
    (item,) = rendered.alert.items
    assert (item.firing, item.fingerprint, rendered.alert.group_key) == (
        True,
        fingerprint_of({"job": "api"}),
        None,
    )


async def test_template_output_without_alerts_has_no_facts() -> None:
    rendered = render('{"msgtype": "text", "text": {"content": "hi"}, "groupKey": "x"}', {})
    assert rendered.alert is None


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        (
            '"alert": {"status": "burning"}',
            "the template's alert output: field alert.status is not valid: "
            "Input should be 'firing' or 'resolved'",
        ),
        (
            '"alerts": [{"status": "firing", "labels": {"n": 1}}]',
            "the template's alert output: field alerts.0.labels.n is not valid: "
            "Input should be a valid string",
        ),
        (
            '"alerts": [{"status": "firing", "startsAt": "yesterday"}]',
            "the template's alerts.0.startsAt is not an RFC 3339 time: 'yesterday'",
        ),
        (
            '"alerts": []',
            "the template's alert output names no alert: write an alert object or a non-empty "
            "alerts list",
        ),
        (
            '"alert": {"status": "firing"}, "alerts": [{"status": "firing"}]',
            "the template's alert output has both alert and alerts; write one of them",
        ),
        (
            '"alerts": {"status": "firing"}',
            "the template's alert output: field alerts is not valid: Input should be a valid list",
        ),
    ],
)
async def test_template_alert_output_of_the_wrong_shape(extra: str, detail: str) -> None:
    template = '{"msgtype": "text", "text": {"content": "x"}, ' + extra + "}"
    assert _failure(lambda: render(template, {})) == detail


async def test_template_alerts_reach_the_hub(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    robot = await make_robot("template", template=ALERT_TEMPLATE)
    answer = await client.post(
        f"/robot/send?access_token={robot['access_token']}",
        json={"state": "firing", "hosts": ["a", "b", "c"]},
    )
    assert (answer.status_code, answer.json()) == (200, {"errcode": 0, "errmsg": "ok"})
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    assert message["content"] == {
        "msgtype": "markdown",
        "markdown": {"title": "Disk firing", "text": "disk"},
    }
    alert = dict(message["alert"])
    assert isinstance(alert.pop("fired_at"), int)
    assert alert == {"state": "firing", "resolved_at": None, "firing": 3, "resolved": 0}


async def test_template_source_hands_over_the_facts() -> None:
    source = TemplateSource()
    raw = orjson.dumps({"state": "firing", "hosts": ["a"]})
    delivery = Delivery(headers={}, body=raw, document=raw, callback_url="", now_ms=0)
    rendered = source.message(delivery, IntegrationConfig(template=ALERT_TEMPLATE))
    assert rendered.alert is not None and rendered.alert.firing == 1
    with pytest.raises(Ignored):
        source.message(delivery, IntegrationConfig(template="{# nothing #}"))
