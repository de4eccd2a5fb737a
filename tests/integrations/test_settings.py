"""Integration settings through the management API and the CLI: set, merged, validated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import gong_cli
from tests.integrations.conftest import MakeRobot

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_create_and_patch(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """Integration kinds need no DingTalk security; PATCH changes only the named settings."""
    robot = await make_robot("github", source_secret="s3cret", only_events=["push", "issues"])
    assert robot["kind"] == "github"
    assert robot["keywords"] == [] and robot["secret"] is None
    assert robot["settings"] == {"source_secret": "s3cret", "only_events": ["push", "issues"]}
    assert robot["webhook"] == f"http://gong.test/robot/send?access_token={robot['access_token']}"
    url = f"/api/robots/{robot['id']}"
    answer = await client.patch(
        url,
        json={"settings": {"source_secret": None, "exclude_events": ["push.x"]}},
        headers=admin_headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["settings"] == {
        "only_events": ["push", "issues"],
        "exclude_events": ["push.x"],
    }
    answer = await client.patch(url, json={"name": "gh"}, headers=admin_headers)
    assert answer.json()["settings"] == {
        "only_events": ["push", "issues"],
        "exclude_events": ["push.x"],
    }


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "github",
            {"keywords": ["CI"]},
            "keywords apply only to custom robots; a github robot is "
            "protected by its source secret (and optionally an IP allow list)",
        ),
        (
            "gitlab",
            {"signing": True},
            "signing (加签) apply only to custom robots; a gitlab robot "
            "is protected by its source secret (and optionally an IP allow list)",
        ),
        (
            "custom",
            {"keywords": ["k"], "settings": {"source_secret": "x"}},
            "source_secret applies to integration robots, not to custom robots",
        ),
        (
            "travis",
            {"settings": {"source_secret": "x"}},
            "Travis CI has no shared secret: it signs "
            "with its private key, which a travis robot checks (travis_verify, travis_public_key)",
        ),
        ("github", {"settings": {"template": "x"}}, "template does not apply to a github robot"),
        ("travis", {"settings": {"travis_public_key": "-----BEGIN PUBLIC KEY-----\nnope\n"}}, None),
        (
            "trello",
            {"settings": {"trello_callback_url": "ftp://x"}},
            "trello_callback_url must be an http(s) URL",
        ),
        (
            "grafana",
            {"settings": {"grafana_signature_header": "X Sig"}},
            "grafana_signature_header must be an HTTP header name (letters, digits and -)",
        ),
        (
            "github",
            {"settings": {"only_events": ["push", "bad name"]}},
            "only_events: 'bad name' is not an event name (1–100 characters, no spaces)",
        ),
        (
            "github",
            {"settings": {"source_secret": " padded "}},
            "source_secret cannot have spaces at its ends or control characters",
        ),
    ],
)
async def test_settings_are_validated(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    kind: str,
    body: dict[str, Any],
    message: str | None,
) -> None:
    first = await make_robot("github")
    answer = await client.post(
        f"/api/groups/{first['group_id']}/robots",
        json={"name": "r", "kind": kind, **body},
        headers=admin_headers,
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    if message is None:
        assert error["message"].startswith("travis_public_key is not a PEM RSA public key")
    else:
        assert error["message"] == message


async def test_unknown_setting_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    first = await make_robot("github")
    answer = await client.post(
        f"/api/groups/{first['group_id']}/robots",
        json={"name": "r", "kind": "github", "settings": {"sekret": "x"}},
        headers=admin_headers,
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("body.settings.sekret: Extra inputs")


async def test_cli_create_update_and_show(tmp_path: Path) -> None:
    env = {"GONG_DATA_DIR": str(tmp_path / "data")}
    group = json.loads(gong_cli(["group", "create", "dev", "--json"], env).stdout)
    template = tmp_path / "t.j2"
    template.write_text('{"msgtype":"text","text":{"content":{{ payload.msg | json }}}}')
    made = json.loads(
        gong_cli(
            [
                "robot",
                "create",
                str(group["id"]),
                "--name",
                "hooks",
                "--kind",
                "template",
                "--template",
                str(template),
                "--source-secret",
                "s3cret",
                "--exclude-event",
                "ping",
                "--set",
                "event_field=kind",
                "--json",
            ],
            env,
        ).stdout
    )
    assert made["kind"] == "template"
    assert made["settings"] == {
        "event_field": "kind",
        "source_secret": "s3cret",
        "template": template.read_text(),
        "exclude_events": ["ping"],
    }
    changed = json.loads(
        gong_cli(
            [
                "robot",
                "update",
                str(made["id"]),
                "--unset",
                "source_secret",
                "--only-event",
                "deploy",
                "--json",
            ],
            env,
        ).stdout
    )
    assert changed["settings"] == {
        "event_field": "kind",
        "template": template.read_text(),
        "exclude_events": ["ping"],
        "only_events": ["deploy"],
    }
    shown = gong_cli(["robot", "show", str(made["id"])], env).stdout
    assert "template:  1 line\n" in shown and "only_events: deploy" in shown
    broken = tmp_path / "broken.j2"
    broken.write_text("{% for %}")
    failed = gong_cli(
        [
            "robot",
            "create",
            str(group["id"]),
            "--name",
            "x",
            "--kind",
            "template",
            "--template",
            str(broken),
            "--json",
        ],
        env,
        check=False,
    )
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error"]["message"].startswith(
        "the template does not compile: Expected an expression"
    )
    github = json.loads(
        gong_cli(
            ["robot", "create", str(group["id"]), "--name", "gh", "--kind", "github", "--json"], env
        ).stdout
    )
    assert github["settings"] == {} and github["secret"] is None
