"""Make the pictures of docs/integrations: each kind's typical delivery, as the web app shows it.

Needs a running Gong with its web app, an admin API token and a web app login (an admin
account), and Chromium (Debian's ``/usr/bin/chromium``, driven by the ``playwright`` package; no
browser download) with an emoji font (Debian's ``fonts-noto-color-emoji``). For each kind it
creates a robot in a fresh group, posts one fixture from ``tests/integrations/fixtures`` with the
source's real headers, opens the group in the web app and screenshots the rendered message to
``docs/integrations/images/<kind>.png``::

    python docs/integrations/make_images.py --base-url http://127.0.0.1:8000 \\
        --admin-token gong_… --username admin --password-stdin < password.txt
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integrations.deliveries import deliver  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: The delivery each kind's guide shows.
SHOWN = {
    "github": "pull_request_opened",
    "gitlab": "pipeline_failed",
    "codeup": "push",
    "jira": "issue_updated_status_resolved",
    "travis": "failed_push",
    "trello": "updateCard_moved_list",
    "alertmanager": "firing_multiple_alerts",
    "grafana": "firing_with_values_v11",
    "gitea": "workflow_run_completed_failure",
    "jenkins": "notification_finalized_failure",
    "sentry": "event_alert_triggered",
    "harbor": "scanning_completed_vulnerabilities",
    "uptime-kuma": "monitor_down",
}

#: The robot names shown as senders.
NAMES = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "codeup": "Codeup",
    "jira": "JIRA",
    "travis": "Travis CI",
    "trello": "Trello",
    "alertmanager": "Alertmanager",
    "grafana": "Grafana",
    "gitea": "Gitea",
    "jenkins": "Jenkins",
    "sentry": "Sentry",
    "harbor": "Harbor",
    "uptime-kuma": "Uptime Kuma",
    "template": "Deploys",
}

TEMPLATE = """{
  "msgtype": "markdown",
  "markdown": {
    "title": {{ ("Deploy " ~ payload.service ~ " " ~ payload.status) | json }},
    "text": {{ ("#### 🚀 " ~ (payload.service | md) ~ " " ~ payload.version ~ " → " ~ payload.env
                ~ "\\n\\nStatus **" ~ payload.status ~ "** · by " ~ payload.by
                ~ "\\n\\n[Release notes](" ~ payload.notes ~ ")") | json }}
  }
}"""
TEMPLATE_PAYLOAD = {
    "service": "payments",
    "version": "v2.14.0",
    "env": "生产",
    "status": "succeeded",
    "by": "张三",
    "notes": "https://example.com/releases/v2.14.0",
}


def post_all(base: str, token: str) -> tuple[int, dict[str, int]]:
    """Create a group and a robot per kind, post each kind's delivery; the message ids."""
    admin = {"Authorization": f"Bearer {token}"}
    ids: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=30) as http:
        group = http.post("/api/groups", json={"name": "Integrations"}, headers=admin)
        group.raise_for_status()
        group_id = int(group.json()["id"])
        for kind in [*SHOWN, "template"]:
            settings: dict[str, Any] = {"template": TEMPLATE} if kind == "template" else {}
            robot = http.post(
                f"/api/groups/{group_id}/robots",
                json={"name": NAMES[kind], "kind": kind, "settings": settings},
                headers=admin,
            )
            robot.raise_for_status()
            webhook = robot.json()["webhook"]
            if kind == "template":
                body = json.dumps(TEMPLATE_PAYLOAD, ensure_ascii=False).encode()
                headers = {"Content-Type": "application/json"}
            else:
                delivery = deliver(kind, SHOWN[kind], secret=None)
                body, headers = delivery.body, delivery.headers
            answer = http.post(webhook, content=body, headers=headers)
            if answer.json().get("errcode") != 0:
                raise SystemExit(f"{kind}: {answer.text}")
            page = http.get(f"/api/groups/{group_id}/messages?limit=1", headers=admin).json()
            ids[kind] = int(page["messages"][0]["id"])
    return group_id, ids


def screenshot(
    base: str, username: str, password: str, group_id: int, ids: dict[str, int], chromium: str
) -> None:
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 720, "height": 1000}, device_scale_factor=2)
        page.goto(f"{base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/groups/{group_id}")
        for kind, message_id in ids.items():
            element = page.locator(f"#m-{message_id}")
            element.wait_for(timeout=10_000)
            element.scroll_into_view_if_needed()
            time.sleep(0.2)
            element.screenshot(path=str(IMAGES / f"{kind}.png"))
            print(f"{kind}: {IMAGES / f'{kind}.png'}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--admin-token", required=True, help="An admin API token.")
    parser.add_argument("--username", required=True, help="A web app admin account.")
    parser.add_argument("--password", help="Its password (or --password-stdin).")
    parser.add_argument("--password-stdin", action="store_true")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    password = sys.stdin.readline().strip() if args.password_stdin else args.password
    if not password:
        parser.error("give --password or --password-stdin")
    base = args.base_url.rstrip("/")
    group_id, ids = post_all(base, args.admin_token)
    screenshot(base, args.username, password, group_id, ids, args.chromium)


if __name__ == "__main__":
    main()
