"""GitLab's and Codeup's events beyond the fixtures: each event's message against a golden file,
opt-in events (successful CI, edited comments, emoji) ignored until ``include_events`` names them,
code in comments kept as code, huge payloads cut to fit, bad tokens and bodies refused, and every
packaged sample shown."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import httpx
import pytest

from gong.integrations.gitlab import QUIET, event_name
from tests.integrations.checks import (
    OK,
    Change,
    delivery_of,
    fixture_document,
    opted_in,
    set_paths,
    shown,
)
from tests.integrations.conftest import MakeRobot, golden, last_message, send
from tests.integrations.deliveries import GOLDEN, SECRET, Delivery, deliver, payload

#: Every test here shares the module's app (see conftest.py), so runs in its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _both(*changes: Change) -> Change:
    def change(document: dict[str, Any]) -> None:
        for one in changes:
            one(document)

    return change


_FENCED = (
    "Please keep the guard:\n\n"
    "```suggestion:-0+0\n"
    "if user is None:  # *not* a [link](x)\n"
    "    return <nothing>\n"
    "```\n\n"
    "Otherwise **looks good**."
)
_DIFF_NOTE = set_paths(
    object_attributes__type="DiffNote",
    object_attributes__note=_FENCED,
    object_attributes__position={
        "base_sha": "a" * 40,
        "start_sha": "a" * 40,
        "head_sha": "b" * 40,
        "old_path": "app/models/user.rb",
        "new_path": "app/models/user.rb",
        "position_type": "text",
        "old_line": None,
        "new_line": 12,
    },
)


def _emoji_on_merge_request(document: dict[str, Any]) -> None:
    document.pop("note")
    document.pop("issue")
    document["object_attributes"].update(
        name="rocket",
        action="revoke",
        awardable_type="MergeRequest",
        awarded_on_url="http://example.com/flightjs/Flight/-/merge_requests/7",
    )
    document["merge_request"] = {
        "iid": 7,
        "title": "Speed up *the* build",
        "url": "http://example.com/flightjs/Flight/-/merge_requests/7",
    }


#: (source, base fixture, golden name, include_events, change)
CASES: list[tuple[str, str, str, list[str], Change]] = [
    ("gitlab", "deployment_success", "deployment_failed", [], set_paths(status="failed")),
    (
        "gitlab",
        "deployment_success",
        "deployment_canceled_production",
        [],
        set_paths(
            status="canceled",
            environment="production",
            environment_tier="production",
            environment_external_url="https://example.com",
        ),
    ),
    (
        "gitlab",
        "deployment_success",
        "deployment_failed_api",
        [],
        set_paths(
            status="failed", deployable_id=None, deployable_url=None, environment_external_url=None
        ),
    ),
    (
        "gitlab",
        "deployment_success",
        "deployment_running",
        ["deployment.running"],
        set_paths(status="running"),
    ),
    (
        "gitlab",
        "release_create",
        "release_update_named",
        [],
        set_paths(action="update", name="Version 1.1 *final*", description="- first\n- second"),
    ),
    ("gitlab", "release_create", "release_delete", [], set_paths(action="delete")),
    (
        "gitlab",
        "feature_flag_on",
        "feature_flag_off",
        [],
        set_paths(object_attributes__active=False, object_attributes__description=None),
    ),
    (
        "gitlab",
        "wiki_page_create",
        "wiki_page_update",
        [],
        set_paths(object_attributes__action="update", object_attributes__message="Fix *the* typo"),
    ),
    (
        "gitlab",
        "wiki_page_create",
        "wiki_page_delete",
        [],
        set_paths(object_attributes__action="delete"),
    ),
    ("gitlab", "emoji_award", "emoji_award", ["emoji"], set_paths()),
    ("gitlab", "emoji_award", "emoji_revoke_merge_request", ["emoji"], _emoji_on_merge_request),
    ("gitlab", "note_merge_request", "note_merge_request_diff", [], _DIFF_NOTE),
    (
        "gitlab",
        "note_issue",
        "note_issue_update",
        ["note.issue.update"],
        set_paths(
            object_attributes__action="update", object_attributes__note="Hello world, edited"
        ),
    ),
    ("gitlab", "pipeline_success", "pipeline_success", ["pipeline.success"], set_paths()),
    ("gitlab", "job_success", "job_success", ["job.success"], set_paths()),
    ("gitlab", "job_created", "job_created", ["job"], set_paths()),
    (
        "gitlab",
        "job_created",
        "job_failed_retried",
        [],
        set_paths(build_status="failed", build_duration=81.4, build_allow_failure=True),
    ),
    (
        "codeup",
        "push",
        "tag_push",
        [],
        set_paths(
            object_kind="tag_push",
            ref="refs/tags/v1.0.0",
            before="0" * 40,
        ),
    ),
    (
        "codeup",
        "merge_request_opened",
        "note_merge_request_diff",
        [],
        _both(
            set_paths(
                object_kind="note",
                object_attributes={
                    "note": _FENCED,
                    "noteable_type": "MergeRequest",
                    "url": "https://codeup.aliyun.com/demo/demo/merge_requests/1#note_3",
                },
                merge_request={"iid": 1, "title": "MS-Viewport"},
                repository={"name": "demo", "homepage": "https://codeup.aliyun.com/demo/demo"},
            ),
            _DIFF_NOTE,
        ),
    ),
]


@pytest.mark.parametrize(
    ("source", "base", "name", "include", "change"), CASES, ids=[f"{c[0]}/{c[2]}" for c in CASES]
)
async def test_event(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    base: str,
    name: str,
    include: list[str],
    change: Change,
) -> None:
    document = fixture_document(source, base, change)
    robot = await make_robot(source, **opted_in(include))
    message = await shown(
        client, admin_headers, robot, delivery_of(source, base, document, secret=None)
    )
    golden(GOLDEN / source / "events" / f"{name}.json", message["content"])


#: Opt-in events: (source, base fixture, change, event name, an include_events that names it).
OPT_IN = [
    ("gitlab", "pipeline_success", set_paths(), "pipeline.success", "pipeline"),
    ("gitlab", "job_success", set_paths(), "job.success", "job.success"),
    ("gitlab", "job_created", set_paths(), "job.created", "job.*"),
    ("gitlab", "pipeline_running", set_paths(), "pipeline.running", "pipeline.running"),
    ("gitlab", "emoji_award", set_paths(), "emoji.award", "emoji"),
    (
        "gitlab",
        "deployment_success",
        set_paths(status="running"),
        "deployment.running",
        "deployment",
    ),
    (
        "gitlab",
        "note_commit",
        set_paths(object_attributes__action="update"),
        "note.commit.update",
        "note.commit",
    ),
    (
        "codeup",
        "merge_request_opened",
        set_paths(
            object_kind="note",
            object_attributes={"note": "ok", "noteable_type": "MergeRequest", "action": "update"},
            merge_request={"iid": 1, "title": "MS-Viewport"},
        ),
        "note.merge_request.update",
        "note",
    ),
]


@pytest.mark.parametrize(
    ("source", "base", "change", "event", "include"), OPT_IN, ids=[c[3] for c in OPT_IN]
)
async def test_opt_in_events(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    base: str,
    change: Change,
    event: str,
    include: str,
) -> None:
    """Ignored (and nothing posted) by default; shown once include_events names the event or
    a family of it."""
    document = fixture_document(source, base, change)
    quiet = await make_robot(source)
    answer = await send(client, quiet, delivery_of(source, base, document, secret=None))
    assert answer.json() == {
        "errcode": 0,
        "errmsg": f'ignored: event "{event}" is shown only when the robot opts in (include_events)',
    }
    assert await last_message(client, admin_headers, quiet) is None
    shown = await make_robot(source, include_events=[include])
    answer = await send(client, shown, delivery_of(source, base, document, secret=None))
    assert answer.json() == OK
    assert await last_message(client, admin_headers, shown) is not None


async def test_quiet_and_shown_states() -> None:
    """Failures and deployments are shown; successes and in-progress runs are opt-in."""
    for name in ("pipeline.failed", "pipeline.canceled", "job.failed", "job.canceled"):
        assert name not in QUIET
    for name in ("deployment.success", "deployment.failed", "deployment.canceled"):
        assert name not in QUIET
    for name in ("pipeline.success", "job.success", "job.running", "job.pending", "job.created"):
        assert name in QUIET
    assert {"deployment.running", "deployment.created", "emoji", "note.issue.update"} <= QUIET


@pytest.mark.parametrize(
    ("document", "name"),
    [
        ({"object_kind": "deployment", "status": "failed"}, "deployment.failed"),
        (
            {"object_kind": "feature_flag", "object_attributes": {"active": False}},
            "feature_flag.off",
        ),
        ({"object_kind": "release", "action": "delete"}, "release.delete"),
        (
            {"object_kind": "wiki_page", "object_attributes": {"action": "update"}},
            "wiki_page.update",
        ),
        ({"object_kind": "emoji", "object_attributes": {"action": "award"}}, "emoji.award"),
        (
            {"object_kind": "note", "object_attributes": {"noteable_type": "Issue"}},
            "note.issue",
        ),
        (
            {
                "object_kind": "note",
                "object_attributes": {"noteable_type": "Commit", "action": "update"},
            },
            "note.commit.update",
        ),
        ({"object_kind": "build", "build_status": "failed"}, "job.failed"),
    ],
)
async def test_event_names(document: dict[str, Any], name: str) -> None:
    assert event_name(document, "GitLab") == name


async def test_code_in_a_comment_stays_code(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot
) -> None:
    """A fenced block in a comment keeps its fences and its code as written (no escapes, no
    hard breaks inside); the file and line of a diff comment are named."""
    document = fixture_document("gitlab", "note_merge_request", _DIFF_NOTE)
    robot = await make_robot("gitlab")
    await send(client, robot, delivery_of("gitlab", "note_merge_request", document, secret=None))
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    text = message["content"]["actionCard"]["text"]
    assert "> ```suggestion:-0+0\n> if user is None:  # *not* a [link](x)\n" in text
    assert ">     return <nothing>\n> ```" in text
    assert "File: **app/models/user.rb**, line 12" in text


def _huge(source: str, base: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(payload(source, base))
    big = "x" * 1_000_000
    if base == "pipeline_failed":
        build = document["builds"][0]
        document["builds"] = [
            dict(copy.deepcopy(build), id=i, name=f"job-{i}-{'y' * 200}", status="failed")
            for i in range(5_000)
        ]
        document["object_attributes"]["ref"] = "r" * 5_000
    elif base == "release_create":
        document["description"] = "```\n" + big
        document["assets"]["links"] = [
            {"name": f"asset {i}", "url": f"https://example.net/{i}"} for i in range(5_000)
        ]
    elif base == "note_merge_request":
        document["object_attributes"]["note"] = "```\n" + big
        document["merge_request"]["title"] = big
    elif base == "deployment_success":
        document["commit_title"] = big
        document["environment"] = "e" * 50_000
    elif base == "wiki_page_create":
        document["object_attributes"]["title"] = big
        document["object_attributes"]["message"] = big
    elif base == "job_failed":
        document["build_name"] = big
        document["runner"]["description"] = big
    return document


@pytest.mark.parametrize(
    "base",
    [
        "pipeline_failed",
        "release_create",
        "note_merge_request",
        "deployment_success",
        "wiki_page_create",
        "job_failed",
    ],
)
async def test_huge_payload_fits(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_robot: MakeRobot, base: str
) -> None:
    robot = await make_robot("gitlab")
    answer = await send(
        client, robot, delivery_of("gitlab", base, _huge("gitlab", base), secret=None)
    )
    assert answer.json() == OK
    message = await last_message(client, admin_headers, robot)
    assert message is not None
    size = len(json.dumps(message["content"], ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= 20_000


@pytest.mark.parametrize(
    ("source", "base", "header"),
    [
        ("gitlab", "deployment_success", "X-Gitlab-Token"),
        ("gitlab", "emoji_award", "X-Gitlab-Token"),
        ("codeup", "merge_request_opened", "X-Codeup-Token"),
    ],
)
async def test_token_refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    source: str,
    base: str,
    header: str,
) -> None:
    robot = await make_robot(source, source_secret=SECRET, include_events=["emoji"])
    missing = deliver(source, base, secret=None)
    wrong = deliver(source, base)
    wrong.headers[header] = "not the secret"
    for delivery in (missing, wrong):
        answer = await send(client, robot, delivery)
        assert answer.status_code == 403
        assert answer.json()["errcode"] == 310001
        assert SECRET not in answer.text
    assert await last_message(client, admin_headers, robot) is None
    answer = await send(client, robot, deliver(source, base))
    assert answer.json() == OK


@pytest.mark.parametrize(
    ("source", "base"),
    [("gitlab", "deployment_success"), ("gitlab", "feature_flag_on"), ("codeup", "push")],
)
async def test_truncated_json(
    client: httpx.AsyncClient, make_robot: MakeRobot, source: str, base: str
) -> None:
    robot = await make_robot(source)
    raw = payload(source, base)
    answer = await send(client, robot, deliver(source, base, document=raw[: len(raw) // 2]))
    assert answer.json()["errcode"] == 400401
    assert "not valid JSON" in answer.json()["errmsg"]


async def test_feature_flag_without_state(client: httpx.AsyncClient, make_robot: MakeRobot) -> None:
    robot = await make_robot("gitlab")
    document = fixture_document(
        "gitlab", "feature_flag_on", set_paths(object_attributes__active="yes")
    )
    answer = await send(client, robot, delivery_of("gitlab", "feature_flag_on", document))
    assert answer.json()["errcode"] == 400401
    assert "field active" in answer.json()["errmsg"]


def _samples(kind: str) -> list[str]:
    folder = resources.files("gong.integrations.samples") / kind
    return sorted(
        e.name.removesuffix(".json")
        for e in folder.iterdir()
        if e.name.endswith(".json") and not e.name.endswith(".headers.json")
    )


SAMPLES = [(kind, name) for kind in ("gitlab", "codeup") for name in _samples(kind)]


@pytest.mark.parametrize(("kind", "name"), SAMPLES, ids=[f"{k}/{n}" for k, n in SAMPLES])
async def test_sample_is_shown(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    make_robot: MakeRobot,
    kind: str,
    name: str,
) -> None:
    """Each packaged sample is a delivery a robot with default settings shows."""
    folder = resources.files("gong.integrations.samples") / kind
    body = (folder / f"{name}.json").read_bytes()
    headers = json.loads((folder / f"{name}.headers.json").read_bytes())
    assert len(body) < 30_000
    assert not any("token" in h.lower() for h in headers)
    robot = await make_robot(kind)
    answer = await send(client, robot, Delivery(body, headers))
    assert answer.json() == OK, name
    assert await last_message(client, admin_headers, robot) is not None


async def test_samples_cover_the_shown_events() -> None:
    assert {"deployment_success", "release_create", "feature_flag_on", "wiki_page_create"} <= set(
        _samples("gitlab")
    )
    assert {"push", "tag_push", "merge_request_opened", "note_merge_request"} == set(
        _samples("codeup")
    )
