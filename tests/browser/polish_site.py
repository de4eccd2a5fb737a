"""A seeded Gong server for the polish and accessibility browser suites: groups and members,
an admin and a member account, a robot of every kind, and one message of every type (a
markdown card with every heading level, a text that @-mentions everyone, a FeedCard whose
picture fails to load, a firing alert).

Each suite starts one server for its module (``start_site``) and signs in once per account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page

from gong.domain.models import RobotKind
from gong.integrations.samples import samples
from tests.helpers import ADMIN, ServerProcess, gong_cli, now_ms, signed_url

PASSWORDS = {"root": "root password 1", "zhang": "zhang password 1"}
OK = '{"errcode":0,"errmsg":"ok"}'
#: Pictures robots link to: img.example/ok… loads, img.example/broken… fails.
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270"><rect width="480" '
    'height="270" fill="#1677ff"/><circle cx="360" cy="80" r="46" fill="#fff" opacity=".45"/></svg>'
)
TEMPLATE = (
    '{"msgtype": "markdown", "markdown": {"title": {{ ("Deploy " ~ payload.service) | json }}, '
    '"text": {{ ("#### Deploy " ~ payload.service ~ " → " ~ payload.env ~ "\\n\\nStatus **" '
    '~ payload.status ~ "**") | json }}}}'
)
HEADINGS = "# 一级 h1\n## 二级 h2\n### 三级 h3\n#### 四级 h4\n##### 五级 h5\n###### 六级 h6\n正文"
MARKDOWN = (
    "#### 发布 2.4\n> 引用：先在预发验证\n\n**粗体** *斜体* [链接](https://example.com/notes)\n\n"
    "```\nkubectl rollout status deploy/web\n```\n\n| 表格 | 照原样 |\n|---|---|\n\n"
    "1. 第一步\n2. 第二步\n\n- 要点\n- 另一点"
)


@dataclass
class Site:
    server: ServerProcess
    groups: dict[str, int]
    members: dict[str, int]
    #: Robots by name: {"id", "token", "secret"}.
    robots: dict[str, dict[str, Any]]
    #: One robot id per kind (in the "robots" group).
    kinds: dict[str, int]
    states: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=ADMIN, timeout=10)

    def post(self, robot: str, body: dict[str, Any]) -> None:
        """Post as a robot of the seed through ``/robot/send`` (signed when it signs)."""
        info = self.robots[robot]
        url = signed_url(self.url, info["token"], info.get("secret"), now_ms())
        answer = httpx.post(url, json=body, timeout=10)
        assert answer.text == OK, (body, answer.text)

    def messages(self, group: str, limit: int = 20) -> list[dict[str, Any]]:
        with self.api() as api:
            answer = api.get(f"/api/groups/{self.groups[group]}/messages", params={"limit": limit})
        found: list[dict[str, Any]] = answer.json()["messages"]
        return found

    def context(
        self,
        browser: Browser,
        user: str | None,
        *,
        locale: str = "en-US",
        width: int = 1280,
        height: int = 800,
        javascript: bool = True,
    ) -> BrowserContext:
        """A browser context signed in as ``user`` (once per suite; the session is reused)."""
        if user and user not in self.states:
            first = browser.new_context(base_url=self.url, locale="en-US")
            page = first.new_page()
            page.goto("/login")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", PASSWORDS[user])
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/$"))
            self.states[user] = first.storage_state()
            first.close()
        context = browser.new_context(
            viewport={"width": width, "height": height},
            base_url=self.url,
            storage_state=self.states.get(user) if user else None,
            locale=locale,
            timezone_id="Asia/Shanghai",
            java_script_enabled=javascript,
        )
        context.route(re.compile(r"^https?://img\.example/ok"), _picture)
        context.route(re.compile(r"^https?://img\.example/broken"), _missing)
        return context


def _picture(route: Any) -> None:
    route.fulfill(status=200, content_type="image/svg+xml", body=PICTURE)


def _missing(route: Any) -> None:
    route.fulfill(status=404, content_type="text/plain", body="gone")


def ready(page: Page, url: str) -> None:
    """Open ``url`` and wait for gong.js to have set the page up."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def start_site(data_dir: Path) -> Site:
    """Start a server and seed it (see the module's docstring)."""
    server = ServerProcess(env={"GONG_LOGIN_ATTEMPTS": "100"}, data_dir=data_dir)
    server.start()
    try:
        return _seed(server)
    except BaseException:
        server.stop()
        raise


def _seed(server: ServerProcess) -> Site:
    unlimited = {"rate_limit": {"limit": 0}}
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as api:
        groups = {
            name: api.post("/api/groups", json={"name": name}).json()["id"]
            for name in ("ops", "dev", "robots", "scratch")
        }
        members: dict[str, int] = {}
        for name in ("ops", "dev", "robots"):
            zhang = api.post(
                f"/api/groups/{groups[name]}/members",
                json={"name": "张三", "mobile": "13800000001", "userId": "zhangsan"},
            ).json()
            members.setdefault("张三", zhang["id"])
        li = api.post(
            f"/api/groups/{groups['ops']}/members", json={"name": "李四", "mobile": "13800000002"}
        ).json()
        members["李四"] = li["id"]
        robots: dict[str, dict[str, Any]] = {}
        for name, spec in (
            ("CI", {"keywords": ["CI"], "signing": True}),
            ("Guarded", {"ip_allow": ["10.0.0.0/8"]}),
        ):
            made = api.post(
                f"/api/groups/{groups['ops']}/robots", json={"name": name, **spec, **unlimited}
            ).json()
            robots[name] = {
                "id": made["id"],
                "token": made["access_token"],
                "secret": made["secret"],
            }
        kinds: dict[str, int] = {}
        for kind in RobotKind:
            spec: dict[str, Any] = {"name": f"{kind} robot", "kind": str(kind), **unlimited}
            if kind is RobotKind.CUSTOM:
                spec["keywords"] = ["CI"]
            if kind is RobotKind.TEMPLATE:
                spec["settings"] = {"template": TEMPLATE}
            made = api.post(f"/api/groups/{groups['robots']}/robots", json=spec)
            assert made.status_code == 201, (kind, made.text)
            kinds[str(kind)] = made.json()["id"]
            robots[str(kind)] = {"id": made.json()["id"], "token": made.json()["access_token"]}
    env = {"GONG_DATA_DIR": str(server.data_dir)}
    gong_cli(
        ["user", "create", "root", "--admin", "--password-stdin"],
        env,
        input=PASSWORDS["root"] + "\n",
    )
    linked = [
        arg for g in ("ops", "dev", "robots") for arg in ("--member", f"{groups[g]}:13800000001")
    ]
    gong_cli(
        ["user", "create", "zhang", "--password-stdin", *linked],
        env,
        input=PASSWORDS["zhang"] + "\n",
    )
    site = Site(server, groups, members, robots, kinds)
    _messages(site)
    return site


def _messages(site: Site) -> None:
    """One message of every type in ``ops``, and a firing alert in ``robots``."""
    for body in (
        {
            "msgtype": "text",
            "text": {"content": "CI 构建失败 @13800000001，请看 https://ci.example.com/builds/42"},
            "at": {"atMobiles": ["13800000001"]},
        },
        {
            "msgtype": "text",
            "text": {"content": "CI @all 今晚 22:00 发布"},
            "at": {"isAtAll": True},
        },
        {"msgtype": "markdown", "markdown": {"title": "CI 标题层级", "text": HEADINGS}},
        {"msgtype": "markdown", "markdown": {"title": "CI 发布 2.4", "text": MARKDOWN}},
        {
            "msgtype": "link",
            "link": {
                "title": "CI · Release 2.4",
                "text": "Faster builds and many fixes.",
                "messageUrl": "https://example.com/release",
                "picUrl": "https://img.example/ok/release.png",
            },
        },
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "CI 部署",
                "text": "**web-1.2.3** passed every check.\n\nDeploy it?",
                "btnOrientation": "1",
                "btns": [
                    {"title": "Approve", "actionURL": "https://example.com/approve"},
                    {"title": "Reject", "actionURL": "https://example.com/reject"},
                ],
            },
        },
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {
                        "title": "CI 时代的火车向前开",
                        "messageURL": "https://example.com/1",
                        "picURL": "https://img.example/broken/train.png",
                    },
                    {
                        "title": "Gong 0.1 released",
                        "messageURL": "https://example.com/2",
                        "picURL": "https://img.example/broken/gong.png",
                    },
                ]
            },
        },
        {"msgtype": "image", "image": {"picURL": "https://img.example/broken/chart.png"}},
    ):
        site.post("CI", body)
    [alert] = [s for s in samples(RobotKind.ALERTMANAGER) if "firing" in s.name][:1] or list(
        samples(RobotKind.ALERTMANAGER)
    )[:1]
    token = site.robots["alertmanager"]["token"]
    answer = httpx.post(
        f"{site.url}/robot/send?access_token={token}",
        content=alert.document,
        headers={"Content-Type": "application/json", **alert.headers},
        timeout=10,
    )
    assert answer.json()["errcode"] == 0, answer.text
