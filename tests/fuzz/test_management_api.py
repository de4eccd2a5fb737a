"""Schemathesis generates requests from Gong's own OpenAPI document and checks the answers.

``test_management_api_conforms_to_its_openapi`` sends every kind of request (schema-valid and
not) to a real server: no answer may be a 5xx, a request the schema refuses must be refused, and
every answer must match the schema it is documented with.

``test_schema_valid_requests_are_accepted`` is the other direction (``positive_data_acceptance``):
only schema-valid requests, for every operation, in process against a started app with an admin
token, and none may be refused except for the state it meets:

* 404 — the record is gone or was never there: the robot and member that the DELETE operations
  target are deleted by their first call;
* 409 — the request conflicts with stored data: a member's mobile or userId already in the
  group, a PATCH that does not fit the stored robot (keywords or a setting its kind does not
  take, the last security setting of a custom robot removed), a message recalled already (the
  seeded message the DELETE targets is recalled by its first call).

401 and 403 are not allowed: the admin token is always valid, and CSRF (403) applies to web
sessions only. Everything else the schema allows must be accepted, so the schema states every
rule of the request bodies. What no JSON Schema can state is supplied, not skipped: hosts
resolve (the outbound guards answer yes: DNS is the network's, not the request's), and the fields
whose validity is not a pattern — a Jinja2 template that compiles and renders the payload into
a message, a PEM key, a printable secret, an IDNA host, an integer written without ``.0`` in a
message, a search query of 2 to 10 words without control characters — get values from lists of
valid ones (``supply_valid_values``). The path ids are fixed
to records set up first, each operation's to one whose state lets every valid request through:
the stored state that is still answered 422 (docs/management-api.md) stays out of reach — the
group that PATCH may dissolve is not the one robots and messages go to, the robot previewed is a
template robot, and no generated upstream names a robot of this server.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gong.config import Settings
from gong.domain.models import RobotKind
from gong.domain.passwords import hash_password_sync
from gong.protocol.messages import parse_message
from gong.storage.accounts import Accounts
from gong.web.app import GongApp, build_api
from gong.web.pages import install
from tests.helpers import ADMIN_TOKEN, ServerProcess, create_robot, gong_cli

pytestmark = pytest.mark.slow


def test_management_api_conforms_to_its_openapi(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"GONG_DATA_DIR": str(data), "GONG_SQLITE_SYNCHRONOUS": "NORMAL"}
    gong_cli(["group", "create", "g", "--json"], env)
    gong_cli(["member", "add", "1", "--name", "m", "--mobile", "1", "--json"], env)
    gong_cli(["robot", "create", "1", "--name", "r", "--keyword", "k", "--json"], env)
    server = ServerProcess(env=env, data_dir=data)
    server.start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: Bearer {ADMIN_TOKEN}",
                "--max-examples",
                "25",
                "--seed",
                "7",
                # Run in process below, where ids are fixed to records that exist.
                "--exclude-checks",
                "positive_data_acceptance",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-6000:]
        assert " passed" in run.stdout
        assert "Traceback" not in server.log()
    finally:
        server.stop()


# -- schema-valid requests are accepted ------------------------------------------------------------

#: A template that renders any JSON payload into a text message (its JSON, cut short).
ANY_PAYLOAD = '{"msgtype":"text","text":{"content":{{ payload | json | cut(500) | json }}}}'
TEMPLATES = [
    ANY_PAYLOAD,
    '{"msgtype":"markdown","markdown":{"title":"t","text":{{ payload | json | md | json }}}}',
    '{% if headers %}{"msgtype":"empty"}{% else %}' + ANY_PAYLOAD + "{% endif %}",
]
PEM_KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=1024)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
SECRETS = ["s", "whsec_0123456789abcdef", "a secret with spaces", "密钥-1"]
#: Search queries by the rules no JSON Schema states (domain/search.py ``parse_query``).
QUERIES = ["fuzz", "消息", "k 消息", "100%", "a_b", '" * ( ) NEAR AND']
OUTGOING_URLS = [
    "https://bot.example.com/dingtalk",
    "http://203.0.113.7:8080/hook?x=1",
    "https://[2001:db8::1]/a#",
    "https://例え.jp./回调",
]

# The records the ids below name (set up by ``seed`` in this order).
GROUP, OTHER_GROUP = 1, 2
CUSTOM_ROBOT, TEMPLATE_ROBOT, DOOMED_ROBOT = 1, 2, 3
DOOMED_MEMBER = 2
MESSAGE = 1
ACCOUNT = "root"


def _openapi() -> dict[str, object]:
    api = build_api()
    install(api)
    return api.openapi()


schema = schemathesis.openapi.from_dict(
    _openapi(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20240611,
            "generation": {"mode": "positive", "max-examples": 12, "deterministic": True},
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409"]},
                # Its probes bypass the in-process app; the run against a server covers it.
                "ignored_auth": {"enabled": False},
            },
            "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
            "parameters": {
                "group_id": GROUP,
                "robot_id": CUSTOM_ROBOT,
                "member_id": DOOMED_MEMBER,
                "message_id": MESSAGE,
                "as_user": ACCOUNT,
            },
            "operations": [
                {
                    "include-name": "PATCH /api/groups/{group_id}",
                    "parameters": {"group_id": OTHER_GROUP},
                },
                {
                    "include-name": "DELETE /api/robots/{robot_id}",
                    "parameters": {"robot_id": DOOMED_ROBOT},
                },
                {
                    "include-name": "POST /api/robots/{robot_id}/preview",
                    "parameters": {"robot_id": TEMPLATE_ROBOT},
                },
            ],
        }
    ),
)


class _AnyHost:
    """An outbound guard for which every host resolves to an address it may reach."""

    async def check_url(self, url: str) -> None:
        return None


class _FuzzedGong(GongApp):
    """Gong with the network left out: guards that let every host through, and outgoing
    callbacks that reach a service answering "nothing to post"."""

    async def startup(self) -> None:
        await super().startup()
        self.runtime.callbacks.guard = _AnyHost()  # type: ignore[assignment]
        self.runtime.relay.guard = _AnyHost()  # type: ignore[assignment]
        # The administration checks where a URL points when it is saved, with guards of its own.
        self.runtime.robots.check_outgoing_address = _AnyHost().check_url
        self.runtime.robots.check_upstream_address = _AnyHost().check_url
        self.runtime.callbacks._transport = httpx.MockTransport(
            lambda _request: httpx.Response(200, json={"msgtype": "empty"})
        )


async def seed(settings: Settings) -> None:
    """The records the fixed ids name."""
    app = GongApp(settings)
    await app.startup()
    try:
        runtime = app.runtime
        group = await runtime.groups.create("fuzz")
        await runtime.groups.create("patched")
        await runtime.groups.add_member(group.id, name="m", mobile="13800000001", user_id="m")
        await runtime.groups.add_member(group.id, name="doomed", mobile="13800000002")
        robot = await create_robot(runtime, group.id, name="r", keywords=["k"])
        await create_robot(
            runtime, group.id, name="t", kind=RobotKind.TEMPLATE, settings={"template": ANY_PAYLOAD}
        )
        await create_robot(runtime, group.id, name="doomed", keywords=["k"])
        accounts = Accounts(app.runtime.engine, app.runtime.clock)
        await accounts.create_user(ACCOUNT, hash_password_sync("fuzz-password"), is_admin=True)
        # The message the message ids name (recalled by the first DELETE, then 409).
        view = await runtime.directory.get(robot.access_token)
        assert view is not None
        body = {"msgtype": "text", "text": {"content": "k 消息 fuzz 100% a_b"}}
        stored = await runtime.hub.accept_from_robot(
            view, parse_message(body), orjson.dumps(body).decode()
        )
        assert stored.message_id == MESSAGE
    finally:
        await app.shutdown()


@pytest.fixture(scope="module")
def gong(tmp_path_factory: pytest.TempPathFactory) -> GongApp:
    """A Gong app with the records above; schemathesis runs its lifespan around each test."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("positive"),
        admin_token=ADMIN_TOKEN,
        sqlite_synchronous="NORMAL",
    )
    asyncio.run(seed(settings))
    return _FuzzedGong(settings)


def _pick(values: list[str], drawn: object) -> str:
    """One of ``values``, chosen by the value drawn in its place (so runs repeat)."""
    return values[len(str(drawn)) % len(values)]


def supply_valid_values(case: schemathesis.Case) -> None:
    """Put valid values where validity is not a pattern: templates, PEM keys, printable secrets,
    the outgoing URL (its host must be a valid IDNA name), integers written as integers, search
    queries. What the schema itself rules out stays as drawn: null, a blank template or
    secret."""
    if case.operation.label == "GET /api/search" and case.query and "q" in case.query:
        case.query["q"] = _pick(QUERIES, case.query["q"])
    body = case.body
    if not isinstance(body, dict):
        return
    if case.operation.label == "POST /api/templates/preview" and body["template"].strip():
        body["template"] = _pick(TEMPLATES, body["template"])
    settings = body.get("settings")
    if isinstance(settings, dict):
        for key, values in (
            ("template", TEMPLATES),
            ("travis_public_key", [PEM_KEY]),
            ("source_secret", SECRETS),
        ):
            if isinstance(settings.get(key), str) and settings[key].strip():
                settings[key] = _pick(values, settings[key])
    outgoing = body.get("outgoing")
    if isinstance(outgoing, dict):
        outgoing["url"] = _pick(OUTGOING_URLS, outgoing["url"])
    # JSON Schema's integer 5 is also 5.0; a message's numbers are read as written, and only
    # an integer written as one is a mobile, user id or msgUuid (protocol/messages.py).
    at = body.get("at")
    for key in ("atMobiles", "atUserIds", "atDingtalkIds"):
        if isinstance(at, dict) and isinstance(at.get(key), list):
            at[key] = [int(v) if isinstance(v, float) else v for v in at[key]]
    if isinstance(body.get("msgUuid"), float):
        body["msgUuid"] = int(body["msgUuid"])


@schema.parametrize()
def test_schema_valid_requests_are_accepted(case: schemathesis.Case, gong: GongApp) -> None:
    supply_valid_values(case)
    case.call_and_validate(app=gong)
