"""Alert messages in a real browser (Debian's Chromium, driven by Playwright) against a real server.

Alertmanager and Grafana notifications built here are posted to real alert robots: a 40-alert
group collapses past its tenth alert behind a button and loses nothing; a resolved notification
turns the message it resolves to "Resolved" in place, live, and the API says so; a robot with a
quiet window counts repeats on the first message (×N), live; a group's time zone set in its
settings is the one the alert text uses. Screenshots go to ``docs/screenshots/alerts-*.png`` and
``relay-*.png`` (or to ``GONG_SCREENSHOTS_DIR``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page

from tests.browser.pages import SCREENSHOTS, sign_in
from tests.helpers import ADMIN, CHROMIUM, ServerProcess, gong_cli, need, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "alerts password 1"
SOURCE_SECRET = "alert-source-secret-1"
OK = {"errcode": 0, "errmsg": "ok"}
#: Catches any script a message might run, and CSP violations.
WATCH = """
window.__fired = [];
window.alert = window.confirm = window.prompt = (m) => { window.__fired.push(String(m)); };
document.addEventListener("securitypolicyviolation",
    (e) => window.__fired.push("csp:" + e.violatedDirective + ":" + e.blockedURI));
"""


@dataclass
class Site:
    server: ServerProcess
    api: httpx.Client
    states: dict[str, Any] = field(default_factory=dict)

    def group(self, name: str) -> int:
        answer = self.api.post("/api/groups", json={"name": name})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def robot(self, group_id: int, **spec: Any) -> dict[str, Any]:
        answer = self.api.post(f"/api/groups/{group_id}/robots", json=spec)
        assert answer.status_code == 201, answer.text
        robot: dict[str, Any] = answer.json()
        return robot

    def messages(self, group_id: int, limit: int = 50) -> list[dict[str, Any]]:
        answer = self.api.get(f"/api/groups/{group_id}/messages?limit={limit}")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["messages"]
        return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    # Relayed robots here send to robots of this same server (a stand-in for DingTalk).
    env = {"GONG_TIMEZONE": "UTC", "GONG_LOGIN_ATTEMPTS": "50", "GONG_OUTGOING_ALLOW_PRIVATE": "1"}
    with (
        running_server(tmp_path_factory.mktemp("alerts"), env, password=PASSWORD) as server,
        httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as api,
    ):
        yield Site(server, api)


@pytest.fixture(scope="module")
def browser(site: Site, chromium: Browser) -> Browser:
    return chromium


def _context(browser: Browser, site: Site, width: int = 1280, height: int = 860) -> BrowserContext:
    """A context signed in as the admin (once per module, then reusing the session)."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        base_url=site.server.url,
        storage_state=site.states.get("root"),
        locale="en-US",
        timezone_id="Asia/Shanghai",
    )
    context.add_init_script(WATCH)
    if "root" not in site.states:
        page = context.new_page()
        sign_in(page, PASSWORD)
        site.states["root"] = context.storage_state()
        page.close()
    return context


def _ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("body[data-live='1']")  # the live feed is connected


def _count(page: Page) -> int:
    return int(page.locator("#message-list .msg").count())


def _wait_count(page: Page, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('#message-list .msg').length === {count}", timeout=5000
    )


def _shot(page: Page, name: str, target: Locator | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    if target is None:
        page.screenshot(path=str(SCREENSHOTS / name))
    else:
        target.screenshot(path=str(SCREENSHOTS / name))


# -- payloads ------------------------------------------------------------------------------------


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


NEVER = "0001-01-01T00:00:00Z"


def _alert(
    name: str,
    instance: str,
    *,
    starts: dt.datetime,
    ends: dt.datetime | None = None,
    fingerprint: str | None = None,
    description: str = "CPU above 90% for 5 minutes",
    **extra: str,
) -> dict[str, Any]:
    """One alert of an Alertmanager notification; resolved when ``ends`` is given."""
    return {
        "status": "resolved" if ends else "firing",
        "labels": {
            "alertname": name,
            "severity": "critical",
            "job": "node",
            "instance": instance,
            **extra,
        },
        "annotations": {
            "summary": f"{name} on {instance}",
            "description": description,
            "runbook_url": "https://runbooks.example/cpu",
        },
        "startsAt": _iso(starts),
        "endsAt": _iso(ends) if ends else NEVER,
        "generatorURL": "https://prometheus.example/graph?g0.expr=cpu",
        "fingerprint": fingerprint or f"{abs(hash((name, instance))):016x}"[:16],
    }


def _notification(name: str, alerts: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) for one group of alerts (sharing a description)."""
    firing = any(a["status"] == "firing" for a in alerts)
    common = {"alertname": name, "severity": "critical", "job": "node"}
    return {
        "version": "4",
        "groupKey": key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "gong",
        "groupLabels": {"alertname": name},
        "commonLabels": common,
        "commonAnnotations": {"description": alerts[0]["annotations"]["description"]},
        "externalURL": "https://alertmanager.example",
        "alerts": alerts,
    }


def _deliver(site: Site, robot: dict[str, Any], body: dict[str, Any]) -> None:
    answer = httpx.post(
        robot["webhook"],
        json=body,
        headers={"Authorization": f"Bearer {SOURCE_SECRET}"},
        timeout=10,
    )
    assert answer.json() == OK, answer.text


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# -- tests ---------------------------------------------------------------------------------------


def test_forty_alerts_collapse_and_nothing_is_dropped(browser: Browser, site: Site) -> None:
    group = site.group("node alerts")
    robot = _alert_robot(site, group)
    started = _now() - dt.timedelta(minutes=7)
    forty = [_alert("HighCPU", f"web-{i:02d}:9100", starts=started) for i in range(40)]
    _deliver(site, robot, _notification("HighCPU", forty, '{}:{alertname="HighCPU"}'))

    context = _context(browser, site)
    page = context.new_page()
    _ready(page, f"/groups/{group}")
    first_id = page.locator("#message-list article[data-alert]").last.get_attribute(
        "data-message-id"
    )
    _check_collapsed(page.locator(f"#m-{first_id}"))
    # The same notification arriving live looks the same.
    before = _count(page)
    again = [_alert("DiskFull", f"db-{i:02d}:9100", starts=started) for i in range(40)]
    _deliver(site, robot, _notification("DiskFull", again, '{}:{alertname="DiskFull"}'))
    _wait_count(page, before + 1)
    live_id = page.locator("#message-list article[data-alert]").last.get_attribute(
        "data-message-id"
    )
    assert live_id != first_id
    live = page.locator(f"#m-{live_id}")
    _check_collapsed(live)
    page.locator("#messages").evaluate("(e) => { e.scrollTop = e.scrollHeight; }")
    _shot(page, "alerts-collapsed.png")

    # Keyboard: the button is a real button, Enter shows every alert, again hides them.
    button = live.locator("button.show-more")
    button.focus()
    page.keyboard.press("Enter")
    assert live.locator(".md li:visible").count() == 40
    assert (button.inner_text(), button.get_attribute("aria-expanded")) == ("Show fewer", "true")
    assert "db-39:9100" in live.locator(".md li").last.inner_text()
    page.keyboard.press("Enter")
    assert live.locator(".md li:visible").count() == 10

    # Nothing was dropped on the way: the stored message holds all 40 alerts.
    stored = site.messages(group, 2)
    assert [_state(m["alert"]) for m in stored] == [
        {"state": "firing", "resolved_at": None, "firing": 40, "resolved": 0}
    ] * 2
    text = stored[0]["content"]["actionCard"]["text"]
    assert all(f"db-{i:02d}:9100" in text for i in range(40))
    assert page.evaluate("window.__fired") == []
    context.close()


def _check_collapsed(message: Locator) -> None:
    """40 alerts: the header counts, 10 alerts shown, a button for the other 30; click: 40."""
    assert message.get_attribute("data-alert") == "firing"
    assert message.locator(".alert-badge").inner_text() == "Firing"
    assert re.search(r"\b40 (alerts )?firing", message.locator(".md h4").first.inner_text())
    items = message.locator(".md li")
    assert items.count() == 40  # all in the page, 30 of them hidden
    assert message.locator(".md li:visible").count() == 10
    button = message.locator("button.show-more")
    assert button.inner_text() == "Show 30 more"
    assert button.get_attribute("type") == "button"
    assert button.get_attribute("aria-expanded") == "false"
    assert button.get_attribute("aria-controls") == message.locator(".md ul").get_attribute("id")
    button.click()
    assert message.locator(".md li:visible").count() == 40
    button.click()  # and back, for the screenshot
    assert message.locator(".md li:visible").count() == 10


def _alert_robot(site: Site, group: int) -> dict[str, Any]:
    return site.robot(
        group, name="Alertmanager", kind="alertmanager", settings={"source_secret": SOURCE_SECRET}
    )


def test_firing_then_resolved_changes_the_message_live(browser: Browser, site: Site) -> None:
    group = site.group("checkout")
    robot = _alert_robot(site, group)
    context = _context(browser, site)
    page = context.new_page()
    _ready(page, f"/groups/{group}")
    page.evaluate("window.__page = 'not reloaded'")
    started = _now() - dt.timedelta(minutes=3)
    key = '{}:{alertname="CheckoutErrors"}'
    pair = [
        _alert("CheckoutErrors", "api-1:8080", starts=started, fingerprint="aaaa000000000001"),
        _alert("CheckoutErrors", "api-2:8080", starts=started, fingerprint="aaaa000000000002"),
    ]
    began = time.monotonic()
    _deliver(site, robot, _notification("CheckoutErrors", pair, key))
    _wait_count(page, 1)
    message = page.locator("#message-list article").last
    message_id = int(message.get_attribute("data-message-id") or 0)
    assert message.get_attribute("data-alert") == "firing"
    assert message.locator(".alert-badge").inner_text() == "Firing"
    assert message.locator(".alert-when").count() == 0
    message.evaluate("(el) => { el.__probe = 'same element'; }")

    # Both resolve: the same element turns "Resolved", with when and after how long.
    ended = _now() + dt.timedelta(seconds=1)
    resolved = [{**a, "status": "resolved", "endsAt": _iso(ended)} for a in pair]
    _deliver(site, robot, _notification("CheckoutErrors", resolved, key))
    page.wait_for_selector(f"#m-{message_id}[data-alert=resolved]", timeout=5000)
    assert time.monotonic() - began < 15
    original = page.locator(f"#m-{message_id}")
    assert original.evaluate("(el) => el.__probe") == "same element"
    assert page.evaluate("window.__page") == "not reloaded"
    assert original.locator(".alert-badge").inner_text() == "Resolved"
    when = original.locator(".alert-when").inner_text()
    assert re.fullmatch(r"resolved at \d\d:\d\d after \d+ (s|min( \d+ s)?)", when), when
    # The time is the group's (here the server's, UTC), not the browser's (Asia/Shanghai); the
    # whole date and time is in the title.
    resolved_at = int(original.locator(".alert-when time").get_attribute("data-ms") or 0)
    utc = dt.datetime.fromtimestamp(resolved_at / 1000, dt.UTC)
    assert when.startswith(f"resolved at {utc:%H:%M}")
    assert "UTC" in (original.locator(".alert-when time").get_attribute("title") or "")
    # ... and a short resolved line is posted as a new message, linking the original.
    _wait_count(page, 2)
    line = page.locator("#message-list article").last
    assert int(line.get_attribute("data-message-id") or 0) > message_id
    text = line.inner_text()
    assert "Resolved" in text and "CheckoutErrors" in text, text
    assert "api-1:8080" not in text and len(text) < 300  # not the whole group again
    link = line.locator("a", has_text="Original alert")
    assert link.get_attribute("href") == (
        f"{site.server.url}/groups/{group}?at={message_id}#m-{message_id}"
    )
    _shot(page, "alerts-resolved.png")

    # After a reload the server draws the same state.
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    again = page.locator(f"#m-{message_id}")
    assert again.get_attribute("data-alert") == "resolved"
    assert again.locator(".alert-when").inner_text() == when

    # The API says so too.
    stored = {m["id"]: m for m in site.messages(group)}
    assert _state(stored[message_id]["alert"]) == {
        "state": "resolved",
        "resolved_at": resolved_at,
        "firing": 0,
        "resolved": 2,
    }
    assert page.evaluate("window.__fired") == []
    context.close()


def _state(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert state without ``fired_at``, which is when the test's alerts started."""
    assert isinstance(alert["fired_at"], int)
    return {k: v for k, v in alert.items() if k != "fired_at"}


def test_a_partly_resolved_group_shows_both_counts(browser: Browser, site: Site) -> None:
    group = site.group("payments")
    robot = _alert_robot(site, group)
    context = _context(browser, site)
    page = context.new_page()
    _ready(page, f"/groups/{group}")
    started = _now() - dt.timedelta(minutes=9)
    key = '{}:{alertname="QueueBacklog"}'
    three = [
        _alert("QueueBacklog", f"mq-{i}:5672", starts=started, fingerprint=f"bbbb00000000000{i}")
        for i in range(3)
    ]
    _deliver(site, robot, _notification("QueueBacklog", three, key))
    _wait_count(page, 1)
    message_id = page.locator("#message-list article").last.get_attribute("data-message-id")
    original = page.locator(f"#m-{message_id}")
    original.evaluate("(el) => { el.__probe = 'same element'; }")
    one_resolved = [{**three[0], "status": "resolved", "endsAt": _iso(_now())}, *three[1:]]
    _deliver(site, robot, _notification("QueueBacklog", one_resolved, key))
    original.locator(".alert-counts").wait_for(timeout=5000)
    assert original.locator(".alert-counts").inner_text() == "2 firing · 1 resolved"
    assert original.get_attribute("data-alert") == "firing"
    assert original.locator(".alert-badge").inner_text() == "Firing"
    assert original.evaluate("(el) => el.__probe") == "same element"
    stored = {str(m["id"]): m for m in site.messages(group)}
    assert _state(stored[str(message_id)]["alert"]) == {
        "state": "firing",
        "resolved_at": None,
        "firing": 2,
        "resolved": 1,
    }
    context.close()


def test_repeats_in_the_quiet_window_are_counted_live(browser: Browser, site: Site) -> None:
    group = site.group("backups")
    robot = site.robot(
        group, name="Backup", keywords=["backup"], dedupe_window_s=600, rate_limit={"limit": 0}
    )
    token = robot["webhook"]
    body = {"msgtype": "text", "text": {"content": "backup of db-1 failed: disk full"}}
    assert httpx.post(token, json=body).json() == OK
    context = _context(browser, site)
    page = context.new_page()
    _ready(page, f"/groups/{group}")
    assert _count(page) == 1
    first = page.locator("#message-list article").last
    assert first.locator(".repeat-badge").count() == 0
    first.evaluate("(el) => { el.__probe = 'same element'; }")
    for _ in range(2):
        assert httpx.post(token, json=body).json() == OK
    badge = first.locator(".repeat-badge")
    page.wait_for_function(
        "() => (document.querySelector('#message-list .repeat-badge') || {}).textContent === '×3'",
        timeout=5000,
    )
    assert badge.get_attribute("title") == "posted 3 times in the quiet window"
    assert first.evaluate("(el) => el.__probe") == "same element"
    assert _count(page) == 1  # not posted again
    other = {"msgtype": "text", "text": {"content": "backup of db-2 done"}}
    assert httpx.post(token, json=other).json() == OK  # different text: posted
    _wait_count(page, 2)
    assert page.locator("#message-list .repeat-badge").count() == 1
    _shot(page, "alerts-repeat.png", page.locator("#message-list"))
    stored = site.messages(group)
    assert [(m["content"]["text"]["content"], m["repeat"]) for m in stored] == [
        ("backup of db-2 done", 1),
        ("backup of db-1 failed: disk full", 3),
    ]
    context.close()


def test_time_zone_set_in_the_group_settings(browser: Browser, site: Site) -> None:
    group = site.group("shanghai ops")
    robot = _alert_robot(site, group)
    context = _context(browser, site)
    page = context.new_page()
    page.goto(f"/groups/{group}/settings")
    zone = page.locator("#group-form input[name=timezone]")
    assert zone.input_value() == ""
    assert zone.get_attribute("placeholder") == "UTC (the server's)"
    assert page.locator("#time-zones option").first.get_attribute("value") == "Asia/Shanghai"
    zone.fill("Asia/Shanghia")  # a typo: refused with the service's words, nothing saved
    page.click("#group-form button[type=submit]")
    assert "is not a time zone" in page.locator(".form-error").inner_text()
    page.locator("#group-form input[name=timezone]").fill("Asia/Shanghai")
    page.click("#group-form button[type=submit]")
    page.wait_for_url(re.compile(r"/settings\?done=1$"))
    assert page.locator("#group-form input[name=timezone]").input_value() == "Asia/Shanghai"

    started = dt.datetime(2026, 12, 5, 6, 2, 11, tzinfo=dt.UTC)
    one = [_alert("HighLatency", "edge-1:443", starts=started)]
    _deliver(site, robot, _notification("HighLatency", one, '{}:{alertname="HighLatency"}'))
    _ready(page, f"/groups/{group}")
    text = page.locator("#message-list article[data-alert]").last.locator(".md").inner_text()
    assert "2026-12-05 14:02:11 CST" in text, text  # 06:02:11 UTC on the group's clock
    assert "UTC" not in text
    context.close()


def test_grafana_alerts_look_the_same(browser: Browser, site: Site) -> None:
    group = site.group("grafana")
    robot = site.robot(
        group, name="Grafana", kind="grafana", settings={"source_secret": SOURCE_SECRET}
    )
    started = _now() - dt.timedelta(minutes=12)
    alerts = []
    for i, value in enumerate((97.2, 93.5, 91.8)):
        alert = _alert(
            "HighMemory", f"cache-{i}:9100", starts=started, description="Memory above 90%"
        )
        alert.update(
            values={"B": value, "C": 1},
            valueString=f"[ var='B' labels={{instance=cache-{i}:9100}} value={value} ]",
            dashboardURL="https://grafana.example/d/mem",
            panelURL="https://grafana.example/d/mem?viewPanel=2",
            silenceURL="https://grafana.example/alerting/silence/new",
        )
        alerts.append(alert)
    body = _notification("HighMemory", alerts, '{}/{}:{alertname="HighMemory"}')
    body.update(title="[FIRING:3] HighMemory", orgId=1, state="alerting", message="")
    _deliver(site, robot, body)
    context = _context(browser, site)
    page = context.new_page()
    _ready(page, f"/groups/{group}")
    message = page.locator("#message-list article[data-alert]").last
    assert message.locator(".alert-badge").inner_text() == "Firing"
    assert re.search(r"\b3 (alerts )?firing", message.locator(".md h4").first.inner_text())
    assert message.locator(".md li").count() == 3
    _shot(page, "alerts-grafana.png")
    context.close()


def test_a_relayed_burst_reaches_the_upstream_with_its_content(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    """The upstream is a second Gong (as DingTalk-compatible as the relay needs), so what the
    DingTalk group would show can be seen."""
    dingtalk = ServerProcess(env={"GONG_TIMEZONE": "UTC"}, data_dir=tmp_path / "dingtalk")
    dingtalk.start()
    try:
        with httpx.Client(base_url=dingtalk.url, headers=ADMIN, timeout=10) as api:
            upstream_site = Site(dingtalk, api)
            upstream_group = upstream_site.group("DingTalk group")
            upstream = upstream_site.robot(
                upstream_group, name="Alerts", signing=True, rate_limit={"limit": 0}
            )
            _relayed_burst(site, upstream_site, upstream_group, upstream)
            gong_cli(
                ["user", "create", "root", "--admin", "--password-stdin"],
                {"GONG_DATA_DIR": str(dingtalk.data_dir)},
                input=PASSWORD + "\n",
            )
            context = _context(browser, upstream_site)
            page = context.new_page()
            _ready(page, f"/groups/{upstream_group}")
            assert page.locator("#message-list article").count() >= 2
            digest = page.locator("#message-list article").last  # its title in view
            digest.evaluate("(e) => e.scrollIntoView({block: 'start'})")
            _shot(page, "relay-digest.png")
            context.close()
    finally:
        dingtalk.stop()


def _relayed_burst(
    site: Site, upstream_site: Site, upstream_group: int, upstream: dict[str, Any]
) -> None:
    """Six alert groups posted at once to a robot relaying to ``upstream`` (2 sends per 4 s):
    every group's text arrives, folded into fewer messages."""
    relayed_group = site.group("relayed alerts")
    relayed = site.robot(
        relayed_group,
        name="Alertmanager",
        kind="alertmanager",
        settings={"source_secret": SOURCE_SECRET},
        rate_limit={"limit": 0},
        upstream={
            "url": upstream["webhook"],
            "secret": upstream["secret"],
            "limit": 2,
            "window_s": 4,
        },
    )
    started = _now() - dt.timedelta(minutes=4)
    names = [f"Disk{n}Full" for n in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot")]
    for i, name in enumerate(names):
        alerts = [
            _alert(name, f"store-{i}-{j}:9100", starts=started, description=f"marker-{name}")
            for j in range(3)
        ]
        _deliver(site, relayed, _notification(name, alerts, f'{{}}:{{alertname="{name}"}}'))
    deadline = time.monotonic() + 30
    texts: list[str] = []
    while time.monotonic() < deadline:
        texts = [str(m["content"]) for m in upstream_site.messages(upstream_group)]
        if all(any(f"marker-{name}" in t for t in texts) for name in names):
            break
        time.sleep(0.3)
    assert all(any(f"marker-{name}" in t for t in texts) for name in names), texts
    assert len(texts) < len(names)  # folded: fewer upstream messages than alert groups
