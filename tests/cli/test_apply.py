"""``gong apply`` and ``gong export``: configuration as code, run as a user runs them, in a child
process on a real data directory (and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import re
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from gong import configfile
from gong.administration import Administration, open_administration
from gong.clock import SystemClock
from gong.config import Settings
from gong.domain.passwords import verify_password
from gong.schemas.records import GroupOut, robot_out
from gong.storage.accounts import Accounts
from tests.helpers import gong_cli, running_server

T = TypeVar("T")
FILES = Path(__file__).parent / "apply"
EXAMPLE = (FILES / "example.yaml").read_text(encoding="utf-8")
FULL = (FILES / "full.yaml").read_text(encoding="utf-8")
AM_SECRET = "am-shared-secret-7f3e"
UPSTREAM_URL = "http://127.0.0.1:9/robot/send?access_token=" + "ab" * 32
#: The variables full.yaml reads.
SECRETS = {
    "AM_SECRET": AM_SECRET,
    "UPSTREAM_URL": UPSTREAM_URL,
    "UPSTREAM_SECRET": "SEC" + "cd" * 32,
    "OUTGOING_TOKEN": "outgoing-token-9a8b",
    "GRAFANA_SECRET": "grafana-secret-5c6d",
    "ALICE_PASSWORD": "alice pass phrase",
    "BOB_PASSWORD": "bob pass phrase",
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("GONG_DATABASE_URL", raising=False)
    monkeypatch.delenv("GONG_OUTGOING_ALLOW_PRIVATE", raising=False)
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    return {
        "GONG_DATA_DIR": str(tmp_path / "data"),
        "GONG_PUBLIC_URL": "https://gong.example.com",
        "AM_SECRET": AM_SECRET,
    }


def write(tmp_path: Path, text: str, name: str = "gong.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def gong(env: dict[str, str], *args: str, code: int = 0, input: str | None = None) -> Any:
    """Run ``gong``; the parsed JSON with ``--json``, else the finished process."""
    done = gong_cli(list(args), env, input=input, check=False)
    assert done.returncode == code, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "--json" in args else done


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        data_dir=Path(env["GONG_DATA_DIR"]),
        public_url=env["GONG_PUBLIC_URL"],
        database_url=env.get("GONG_DATABASE_URL"),
    )


def stored(env: dict[str, str], read: Callable[[Administration], Awaitable[T]]) -> T:
    """What the database holds, read in this process (quicker than a ``gong`` command)."""

    async def reading() -> T:
        async with open_administration(settings_of(env)) as admin:
            return await read(admin)

    return asyncio.run(reading())


def robots(env: dict[str, str]) -> dict[str, Any]:
    """Every robot by name, as ``gong robot list --json`` shows it."""

    async def read(admin: Administration) -> dict[str, Any]:
        config = settings_of(env)
        return {
            r.name: robot_out(r, config).model_dump(mode="json") for r in await admin.robots.list()
        }

    return stored(env, read)


def groups(env: dict[str, str]) -> list[dict[str, Any]]:
    async def read(admin: Administration) -> list[dict[str, Any]]:
        return [GroupOut.of(g).model_dump(mode="json") for g in await admin.groups.list()]

    return stored(env, read)


def test_the_example_creates_everything_and_prints_webhooks_and_secrets_once(
    tmp_path: Path, env: dict[str, str]
) -> None:
    file = write(tmp_path, EXAMPLE)
    made = gong(env, "apply", file, "--json")
    assert made["changed"] is True
    assert [(c["action"], c["subject"], c["name"]) for c in made["changes"]] == [
        ("create", "group", "机房-北"),
        ("create", "member", "机房-北/周一"),
        ("create", "robot", "机房-北/北区巡检"),
        ("create", "robot", "机房-北/北区加签"),
        ("create", "robot", "机房-北/北区告警"),
    ]
    alerts = made["changes"][4]["fields"]
    assert {"field": "settings.source_secret", "old": None, "new": "${AM_SECRET}"} in alerts
    created = {r["robot"]: r for r in made["created"]}
    assert set(created) == {"北区巡检", "北区加签", "北区告警"}
    saved = robots(env)
    for name, robot in created.items():
        assert robot["group"] == "机房-北"
        assert robot["webhook"] == saved[name]["webhook"]
        assert robot["webhook"].startswith("https://gong.example.com/robot/send?access_token=")
        assert robot["secret"] == saved[name]["secret"]
    assert created["北区加签"]["secret"].startswith("SEC")
    assert created["北区巡检"]["secret"] is None
    assert saved["北区巡检"]["keywords"] == ["机房告警"]
    assert saved["北区告警"]["kind"] == "alertmanager"
    members = stored(env, lambda admin: admin.groups.members(1))
    assert [(m.name, m.mobile) for m in members] == [("周一", "13911110001")]
    assert AM_SECRET not in json.dumps(made)

    again = gong(env, "apply", file, "--json")
    assert again == {
        "dry_run": False,
        "changed": False,
        "counts": {"create": 0, "change": 0, "delete": 0},
        "changes": [],
        "created": [],
    }
    assert robots(env) == saved  # not saved again: updated_at is as it was
    said = gong(env, "apply", file)
    assert said.stdout.strip() == f"No changes: everything is as {file} says."


def test_people_see_the_diff_the_webhooks_and_the_secret(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = gong(env, "apply", write(tmp_path, EXAMPLE))
    saved = robots(env)
    lines = done.stdout.splitlines()
    assert lines[:5] == [
        "+ group 机房-北",
        "+ member 机房-北/周一",
        "    name: 周一",
        "    mobile: 13911110001",
        "+ robot 机房-北/北区巡检",
    ]
    assert "    settings.source_secret: ${AM_SECRET}" in lines
    assert "Applied: 5 created, 0 changed, 0 deleted." in lines
    for robot in saved.values():
        assert f"    webhook: {robot['webhook']}" in lines
    assert f"    secret:  {saved['北区加签']['secret']}" in lines
    assert AM_SECRET not in done.stdout + done.stderr


def test_dry_run_prints_the_diff_and_changes_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    file = write(tmp_path, EXAMPLE)
    planned = gong(env, "apply", file, "--dry-run")
    assert "+ robot 机房-北/北区告警" in planned.stdout.splitlines()
    assert planned.stdout.splitlines()[-1] == (
        "5 to create, 0 to change, 0 to delete. Dry run: nothing was changed."
    )
    assert groups(env) == []

    gong(env, "apply", file)
    before = robots(env)
    changed = EXAMPLE.replace("[机房告警]", "[机房告警, 温度]").replace(
        "${AM_SECRET}", "${NEW_SECRET}"
    )
    planned = gong(
        {**env, "NEW_SECRET": "another"}, "apply", write(tmp_path, changed), "--dry-run", "--json"
    )
    assert planned["changed"] is False
    assert planned["changes"] == [
        {
            "action": "change",
            "subject": "robot",
            "name": "机房-北/北区巡检",
            "fields": [{"field": "keywords", "old": ["机房告警"], "new": ["机房告警", "温度"]}],
        },
        {
            "action": "change",
            "subject": "robot",
            "name": "机房-北/北区告警",
            "fields": [{"field": "settings.source_secret", "old": "***", "new": "${NEW_SECRET}"}],
        },
    ]
    assert robots(env) == before


def test_a_changed_keyword_changes_only_that_robot(tmp_path: Path, env: dict[str, str]) -> None:
    gong(env, "apply", write(tmp_path, EXAMPLE))
    before = robots(env)
    changed = write(tmp_path, EXAMPLE.replace("[机房告警]", "[机房告警, 温度]"), "changed.yaml")
    done = gong(env, "apply", changed)
    assert done.stdout.splitlines() == [
        "~ robot 机房-北/北区巡检",
        '    keywords: ["机房告警"] → ["机房告警","温度"]',
        "Applied: 0 created, 1 changed, 0 deleted.",
    ]
    after = robots(env)
    assert after["北区巡检"]["keywords"] == ["机房告警", "温度"]
    assert after["北区巡检"]["updated_at"] >= before["北区巡检"]["updated_at"]
    assert after["北区巡检"]["access_token"] == before["北区巡检"]["access_token"]
    assert {k: v for k, v in after.items() if k != "北区巡检"} == {
        k: v for k, v in before.items() if k != "北区巡检"
    }
    assert gong(env, "apply", changed, "--json")["changes"] == []


def test_prune_deletes_what_the_file_no_longer_names_after_asking(
    tmp_path: Path, env: dict[str, str]
) -> None:
    gong(env, "apply", write(tmp_path, EXAMPLE))
    fewer = write(tmp_path, EXAMPLE.replace("      - name: 北区加签\n        signing: true\n", ""))
    kept = gong(env, "apply", fewer)
    assert kept.stdout.startswith("No changes")
    assert "北区加签" in robots(env)

    refused = gong(env, "apply", fewer, "--prune", "--json", code=1)
    assert refused["error"]["code"] == "confirmation_needed"
    assert "--yes" in refused["error"]["message"]
    declined = gong(env, "apply", fewer, "--prune", code=1, input="n\n")
    assert "- robot 机房-北/北区加签" in declined.stdout.splitlines()
    assert "Apply these changes? 1 of them delete." in declined.stdout
    assert "北区加签" in robots(env)

    pruned = gong(env, "apply", fewer, "--prune", "--yes", "--json")
    assert [(c["action"], c["name"]) for c in pruned["changes"]] == [("delete", "机房-北/北区加签")]
    assert set(robots(env)) == {"北区巡检", "北区告警"}
    confirmed = gong(
        env, "apply", write(tmp_path, "groups: []\n", "empty.yaml"), "--prune", input="y\n"
    )
    assert "- group 机房-北" in confirmed.stdout.splitlines()
    assert [g["dissolved"] for g in groups(env)] == [True]


def test_a_secret_written_in_the_file_is_refused_with_its_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    file = write(tmp_path, EXAMPLE.replace("${AM_SECRET}", "hunter2-literal"))
    done = gong(env, "apply", file, code=1)
    assert done.stderr.strip() == (
        f"error: {file}:14:26: groups[0].robots[2].settings.source_secret: a secret is not "
        "written in the file: write ${VARIABLE} and set the environment variable"
    )
    assert "hunter2-literal" not in done.stdout + done.stderr
    assert groups(env) == []


def test_a_variable_that_is_not_set_is_named(tmp_path: Path, env: dict[str, str]) -> None:
    file = write(tmp_path, EXAMPLE)
    del env["AM_SECRET"]
    answer = gong(env, "apply", file, "--json", code=1)
    assert answer["error"]["problems"] == [
        {
            "file": file,
            "line": 14,
            "column": 26,
            "field": "groups[0].robots[2].settings.source_secret",
            "message": "the environment variable AM_SECRET is not set",
        }
    ]
    assert groups(env) == []


def test_an_unknown_key_is_refused_with_its_line_and_field(
    tmp_path: Path, env: dict[str, str]
) -> None:
    file = write(tmp_path, EXAMPLE.replace("keywords:", "keyword:"))
    done = gong(env, "apply", file, code=1)
    assert done.stderr.strip() == (
        f"error: {file}:8:9: groups[0].robots[0].keyword: keyword is not a known key here"
    )


def test_a_value_of_the_wrong_type_is_refused_with_its_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    wrong = EXAMPLE.replace("[机房告警]", "机房告警").replace('"13911110001"', "13911110001")
    file = write(tmp_path, wrong)
    done = gong(env, "apply", file, code=1)
    assert done.stderr.strip().splitlines() == [
        f'error: {file}:5:17: groups[0].members[0].mobile: text is expected: write it in quotes, "13911110001"',
        f"error: {file}:8:19: groups[0].robots[0].keywords: Input should be a valid list",
    ]
    broken = write(tmp_path, "groups:\n  - name: [a\n", "broken.yaml")
    assert gong(env, "apply", broken, code=1).stderr.startswith(f"error: {broken}:3:1: ")


def test_every_fault_the_services_find_is_reported_before_anything_changes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The rules are the services' (the SSRF guard too): a rehearsal finds every fault first."""
    faulty = FULL.replace("timezone: Asia/Shanghai", "timezone: Mars/Olympus")
    file = write(tmp_path, faulty)
    answer = gong(env | SECRETS, "apply", file, "--json", code=1)
    problems = [(p["line"], p["field"], p["message"]) for p in answer["error"]["problems"]]
    assert problems[0][:2] == (3, "groups[0]")
    assert "'Mars/Olympus' is not a time zone" in problems[0][2]
    assert problems[1][:2] == (22, "groups[0].robots[1]")
    assert "GONG_OUTGOING_ALLOW_PRIVATE=1" in problems[1][2]  # loopback: refused by the guard
    assert len(problems) == 2
    assert groups(env) == []

    kind = write(tmp_path, EXAMPLE, "a.yaml")
    gong(env, "apply", kind)
    changed = write(tmp_path, EXAMPLE.replace("kind: alertmanager", "kind: grafana"), "b.yaml")
    done = gong(env, "apply", changed, code=1)
    assert done.stderr.strip() == (
        f"error: {changed}:12:15: groups[0].robots[2].kind: robot 北区告警 is of kind "
        "alertmanager, and a robot's kind cannot change: delete it first, or give the new robot "
        "another name"
    )


def _variables(exported: str) -> dict[str, str]:
    """The variables an export's header names, with the secrets full.yaml gave them."""
    given = {
        "upstream.url of ops/relay": "UPSTREAM_URL",
        "upstream.secret of ops/relay": "UPSTREAM_SECRET",
        "outgoing.token of ops/relay": "OUTGOING_TOKEN",
        "settings.source_secret of ops/alerts": "AM_SECRET",
        "settings.source_secret of ops/panels": "GRAFANA_SECRET",
    }
    found = dict(re.findall(r"^#   (GONG_\w+)\s+(.+)$", exported, flags=re.MULTILINE))
    assert sorted(found.values()) == sorted(given)
    return {name: SECRETS[given[what]] for name, what in found.items()}


def test_export_then_apply_changes_nothing(
    tmp_path: Path, env: dict[str, str], db_settings: Settings
) -> None:
    """Every setting survives an export, on each storage backend."""
    env |= {"GONG_OUTGOING_ALLOW_PRIVATE": "1", "GONG_DATA_DIR": str(db_settings.data_dir)}
    if db_settings.database_url:
        env["GONG_DATABASE_URL"] = db_settings.database_url
    file = write(tmp_path, FULL)
    gong(env | SECRETS, "apply", file)
    assert gong(env | SECRETS, "apply", file, "--json")["changes"] == []
    exported = gong(env, "export").stdout
    for secret in SECRETS.values():
        assert secret not in exported
    assert "ab" * 32 not in exported  # the upstream's token
    target = tmp_path / "exported.yaml"
    assert gong(env, "export", str(target)).stdout.strip() == f"Written to {target}."
    assert target.read_text(encoding="utf-8") == exported
    again = gong(env | _variables(exported), "apply", str(target), "--json")
    assert again["changes"] == []
    saved = robots(env)
    assert saved["ci"]["rate_limit"] == {"limit": 5, "window_s": 30, "block_s": 60}
    assert saved["relay"]["upstream"]["fit"] == "split"
    assert saved["board"]["settings"]["event_field"] == "kind"
    made = {g["name"]: g for g in groups(env)}
    assert made["old-team"]["dissolved"] is True
    assert made["ops"]["timezone"] == "Asia/Shanghai"


def test_the_alertmanager_secret_comes_from_the_environment(
    tmp_path: Path, env: dict[str, str]
) -> None:
    made = gong(env, "apply", write(tmp_path, EXAMPLE), "--json")
    webhook = next(r["webhook"] for r in made["created"] if r["robot"] == "北区告警")
    token = webhook.rpartition("access_token=")[2]

    alerts = stored(env, lambda admin: admin.robots.list())[2]
    assert alerts.name == "北区告警"
    assert alerts.settings["source_secret"] == AM_SECRET
    body = (
        Path(__file__).parents[1] / "integrations/fixtures/alertmanager/resolved.json"
    ).read_bytes()
    with running_server(Path(env["GONG_DATA_DIR"])) as server:
        url = f"{server.url}/robot/send?access_token={token}"
        for secret, status in ((AM_SECRET, 200), ("not-the-secret", 403)):
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
            answer = httpx.post(url, content=body, headers=headers, timeout=10)
            assert answer.status_code == status, answer.text
    assert answer.json()["errcode"] != 0


def test_accounts_are_created_and_linked(tmp_path: Path, env: dict[str, str]) -> None:
    people = (
        EXAMPLE
        + "accounts:\n"
        + "  - username: Zhou\n"
        + "    password: ${ZHOU_PASSWORD}\n"
        + '    members: ["机房-北:13911110001"]\n'
    )
    file = write(tmp_path, people)
    missing = gong(env, "apply", file, code=1)
    assert "the environment variable ZHOU_PASSWORD is not set" in missing.stderr
    env["ZHOU_PASSWORD"] = "zhou pass phrase"
    done = gong(env, "apply", file)
    assert "+ account zhou" in done.stdout.splitlines()
    assert "    password: ${ZHOU_PASSWORD}" in done.stdout.splitlines()
    assert "+ link zhou → 机房-北/周一" in done.stdout.splitlines()
    assert "zhou pass phrase" not in done.stdout + done.stderr
    [user] = gong(env, "user", "list", "--json")
    assert (user["username"], user["admin"]) == ("zhou", False)
    assert [m["name"] for m in user["members"]] == ["周一"]

    zhou = stored(env, lambda admin: Accounts(admin.engine, SystemClock()).find_user("zhou"))
    assert zhou is not None
    assert asyncio.run(verify_password(zhou.password_hash, "zhou pass phrase"))
    assert gong(env, "apply", file, "--json")["changes"] == []

    # A renamed member is added again, and keeps its account.
    renamed = write(tmp_path, people.replace("name: 周一", "name: 周一一"), "renamed.yaml")
    done = gong(env, "apply", renamed)
    assert done.stdout.splitlines()[:2] == ["~ member 机房-北/周一", "    name: 周一 → 周一一"]
    [user] = gong(env, "user", "list", "--json")
    assert [m["name"] for m in user["members"]] == ["周一一"]
    promoted = write(tmp_path, people.replace("username: Zhou", "username: zhou\n    admin: true"))
    assert gong(env, "apply", promoted, "--json")["changes"][-1]["fields"] == [
        {"field": "admin", "old": False, "new": True}
    ]


def test_a_new_account_needs_a_password(tmp_path: Path, env: dict[str, str]) -> None:
    file = write(tmp_path, "accounts:\n  - username: amy\n")
    done = gong(env, "apply", file, code=1)
    assert done.stderr.strip() == (
        f"error: {file}:2:5: accounts[0]: the account amy is new: give its password as "
        "password: ${VARIABLE}"
    )


def test_help_names_the_options(env: dict[str, str]) -> None:
    assert {"apply", "export"} <= set(re.findall(r"│ (\w+)", gong(env, "--help").stdout))
    shown = gong(env, "apply", "--help").stdout
    for option in ("--dry-run", "--prune", "--yes", "--json"):
        assert option in shown


def test_the_package_exports_exactly_its_public_names() -> None:
    public = {
        name
        for name, value in vars(configfile).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(configfile.__all__) == public
    assert len(configfile.__all__) == len(set(configfile.__all__))


def _faults(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(configfile.FileErrors) as caught:
        configfile.parse(text, "f.yaml", environ or {})
    return [str(p) for p in caught.value.problems]


def test_references_are_read_only_where_a_secret_or_a_url_may_be() -> None:
    text = (
        "groups:\n"
        "  - name: g\n"
        "    robots:\n"
        "      - name: t\n"
        "        kind: template\n"
        "        settings:\n"
        '          template: \'{"x": "${NOT_READ}"}\'\n'
        "        upstream:\n"
        "          url: ${URL}\n"
    )
    document = configfile.parse(text, "f.yaml", {"URL": UPSTREAM_URL})
    robot = document.config.groups[0].robots[0]
    assert robot.settings is not None
    assert robot.settings.template == '{"x": "${NOT_READ}"}'
    assert robot.upstream is not None
    assert robot.upstream.url == UPSTREAM_URL
    assert document.references == {("groups", 0, "robots", 0, "upstream", "url"): "URL"}
    literal = "accounts:\n  - username: amy\n    password: hunter2hunter2\n"
    assert _faults(literal) == [
        "f.yaml:3:15: accounts[0].password: a secret is not written in the file: write "
        "${VARIABLE} and set the environment variable"
    ]


def test_what_no_single_entry_shows_is_a_fault_too() -> None:
    assert _faults("groups:\n  - name: a\n    name: b\n") == [
        "f.yaml:3:5: groups[0].name: name is given twice"
    ]
    twice = (
        "groups:\n"
        "  - name: g\n"
        "    members:\n"
        '      - {name: a, mobile: "1"}\n'
        '      - {name: b, mobile: "1"}\n'
        "  - name: g\n"
        "accounts:\n"
        "  - username: amy\n"
        "    members: [no-colon]\n"
    )
    assert _faults(twice) == [
        "f.yaml:5:27: groups[0].members[1].mobile: mobile 1 is named twice",
        "f.yaml:6:11: groups[1].name: group g is named twice",
        'f.yaml:9:15: accounts[0].members[0]: a link is written "<group name>:<mobile or '
        "userId>\", got 'no-colon'",
    ]
    assert _faults("---\ngroups: []\n---\n") == [
        "f.yaml:3:1: but found another document (expected a single document in the stream)"
    ]
    assert _faults("- a\n") == ["f.yaml:1:1: the file is a mapping: groups and accounts"]
