"""The web app's first load: bytes on the wire and the time to a readable conversation.

A real ``gong serve`` (SQLite, in a temporary data directory) holds a group of 200 messages of
the kinds monitoring and CI post (text with @-mentions, markdown with code and tables, action
cards, alert groups). Chromium (``/usr/bin/chromium``) signs in, then opens the conversation
``--runs`` times with an empty cache and ``--runs`` times with a warm one. Each run reports:

- the bytes the page load transferred (HTML, CSS, scripts, the language's strings, images),
  from the browser's own accounting (CDP ``Network.loadingFinished``), by kind;
- ``readable``: navigation start to the moment the newest message is on screen with its local
  time written by the script (the conversation can be read), from ``performance.now()``;
- DOMContentLoaded and the load event.

Medians are printed and, with ``--json``, written as JSON. ``--language`` picks the page
language (``zh-CN`` by default, as Gong's users read it); ``--network 4g`` throttles the browser
to a phone on 4G (DevTools' preset), where bytes count.

    python bench/web.py                 # 200 messages, 7 runs each
    python bench/web.py --runs 3 --json /tmp/web.json
    PYTHONPATH=/tmp/gong-before/src python bench/web.py   # an older tree, same machine
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, free_port, server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "bench-password-1"
GONG = [sys.executable, "-m", "gong"]


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    done = subprocess.run(
        [*GONG, *args, "--json"],
        env={**os.environ, **env},
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _messages(count: int) -> list[dict[str, Any]]:
    """A day of a monitoring-and-CI group, cycling through the kinds it receives."""
    shapes: list[dict[str, Any]] = [
        {
            "msgtype": "text",
            "text": {"content": "【告警】订单服务 p99 延迟 812ms 超过阈值 500ms @13900000001"},
            "at": {"atMobiles": ["13900000001"]},
        },
        {
            "msgtype": "markdown",
            "markdown": {
                "title": "构建失败",
                "text": "### 构建失败 #{n}\n\n- 分支: `main`\n- 提交: `a1b2c3d` 修复登录\n\n"
                "| 阶段 | 结果 |\n|---|---|\n| test | ❌ |\n\n```\nAssertionError: 200 != 500\n```",
            },
        },
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "发布审批",
                "text": "### 发布 v2.{n}.0 到生产\n\n变更 12 项，等待审批。",
                "btnOrientation": "1",
                "btns": [
                    {"title": "批准", "actionURL": "https://ci.example.com/approve"},
                    {"title": "查看", "actionURL": "https://ci.example.com/view"},
                ],
            },
        },
        {
            "msgtype": "markdown",
            "markdown": {
                "title": "[FIRING:3] DiskFull",
                "text": "#### [FIRING:3] DiskFull\n\n**severity** critical\n\n"
                "- node-1 /data 97%\n- node-2 /data 95%\n- node-3 /data 93%",
            },
        },
        {
            "msgtype": "text",
            "text": {"content": "Deploy #{n} finished in 3m12s — all checks passed."},
        },
    ]
    out = []
    for n in range(count):
        shape = json.loads(json.dumps(shapes[n % len(shapes)]).replace("{n}", str(n)))
        out.append(shape)
    return out


def _prepare(data_dir: Path, port: int, count: int, language: str) -> tuple[dict[str, str], int]:
    env = {
        "GONG_DATA_DIR": str(data_dir),
        "GONG_PORT": str(port),
        "GONG_DEFAULT_LANGUAGE": language,
        "GONG_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    subprocess.run([*GONG, "init"], env={**os.environ, **env}, capture_output=True, check=True)
    group = _cli(env, "group", "create", "运维-告警")["id"]
    _cli(env, "member", "add", str(group), "--name", "周一", "--mobile", "13900000001")
    _cli(
        env,
        "user",
        "create",
        "reader",
        "--password-stdin",
        "--admin",
        "--member",
        f"{group}:13900000001",
        stdin=PASSWORD + "\n",
    )
    robot = _cli(
        env,
        "robot",
        "create",
        str(group),
        "--name",
        "监控",
        "--ip",
        "127.0.0.1",
        "--rate-limit",
        "0",
    )
    return env, int(group), str(robot["webhook"] if "webhook" in robot else robot["webhook_url"])


def _post_all(webhook: str, port: int, count: int) -> None:
    url = webhook.replace("http://gong.test", f"http://127.0.0.1:{port}")
    with httpx.Client(timeout=10) as client:
        for body in _messages(count):
            answer = client.post(url, json=body).json()
            if answer.get("errcode") != 0:
                raise RuntimeError(f"send refused: {answer}")


_READABLE = """() => {
  const items = document.querySelectorAll('#message-list .msg');
  const last = items[items.length - 1];
  if (!last) return false;
  const time = last.querySelector('time');
  const box = last.getBoundingClientRect();
  const shown = box.bottom > 0 && box.top < window.innerHeight;
  return shown && (!time || time.textContent.trim().length > 0);
}"""


#: ``--network``: none (loopback as it is), or a phone on 4G (Chrome DevTools' own preset:
#: 9 Mbit/s down, 1.5 Mbit/s up, 170 ms round trip).
NETWORKS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "4g": {
        "offline": False,
        "latency": 170,
        "downloadThroughput": 9_000_000 / 8,
        "uploadThroughput": 1_500_000 / 8,
    },
}


def _measure(base: str, group: int, runs: int, network: str = "none") -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for mode in ("cold", "warm"):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", "reader")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/**")
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                conditions = NETWORKS[network]
                if conditions is not None:
                    cdp.send("Network.emulateNetworkConditions", conditions)
                if mode == "cold":
                    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                else:
                    page.goto(f"{base}/groups/{group}")  # fill the cache once
                for _ in range(runs):
                    sizes: dict[str, str] = {}
                    transferred: dict[str, int] = defaultdict(int)

                    def sent(event: dict[str, Any], sizes: dict[str, str] = sizes) -> None:
                        sizes[event["requestId"]] = event.get("type", "Other")

                    def done(
                        event: dict[str, Any],
                        sizes: dict[str, str] = sizes,
                        transferred: dict[str, int] = transferred,
                    ) -> None:
                        kind = sizes.get(event["requestId"], "Other")
                        transferred[kind] += int(event.get("encodedDataLength", 0))

                    cdp.on("Network.responseReceived", sent)
                    cdp.on("Network.loadingFinished", done)
                    page.goto(f"{base}/groups/{group}", wait_until="commit")
                    page.wait_for_function(_READABLE, timeout=30_000, polling="raf")
                    readable = page.evaluate("performance.now()")
                    page.wait_for_load_state("load")
                    timing = page.evaluate(
                        "(() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
                    )
                    time.sleep(0.2)  # the last loadingFinished events
                    cdp.remove_listener("Network.responseReceived", sent)
                    cdp.remove_listener("Network.loadingFinished", done)
                    results[mode].append(
                        {
                            "readable_ms": readable,
                            "dcl_ms": timing["dcl"],
                            "load_ms": timing["load"],
                            "bytes": sum(transferred.values()),
                            "by_kind": dict(transferred),
                        }
                    )
                context.close()
        finally:
            browser.close()
    summary: dict[str, Any] = {}
    for mode, rows in results.items():
        kinds = sorted({k for row in rows for k in row["by_kind"]})
        summary[mode] = {
            "runs": len(rows),
            "readable_ms": round(statistics.median(r["readable_ms"] for r in rows), 1),
            "dcl_ms": round(statistics.median(r["dcl_ms"] for r in rows), 1),
            "load_ms": round(statistics.median(r["load_ms"] for r in rows), 1),
            "bytes": int(statistics.median(r["bytes"] for r in rows)),
            "by_kind": {
                k: int(statistics.median(r["by_kind"].get(k, 0) for r in rows)) for k in kinds
            },
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--language", default="zh-CN")
    parser.add_argument("--network", choices=sorted(NETWORKS), default="none")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gong-bench-web-") as tmp:
        env, group, webhook = _prepare(Path(tmp), port, args.messages, args.language)
        with server([*GONG, "serve"], port, env=env):
            _post_all(webhook, port, args.messages)
            summary = _measure(f"http://127.0.0.1:{port}", group, args.runs, args.network)
    summary["messages"] = args.messages
    summary["language"] = args.language
    summary["network"] = args.network
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
