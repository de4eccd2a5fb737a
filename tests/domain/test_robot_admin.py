"""Robots, administered through :class:`~gong.domain.robot_admin.Robots` over the real stores of
each backend (a SQLite file and PostgreSQL), with the real integration settings rules, a
:class:`~gong.ratelimit.memory.MemoryLimiter` and a manual clock. Only the address checks and
the change listener are recordings (``tests/domain/test_administration.py`` runs the real SSRF
guard): every change is told once, with its robot, and a refused change is told nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gong.administration import IntegrationSettings
from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.errors import Conflict, Invalid, NotFound
from gong.domain.models import Group, Outgoing, Overflow, RateLimit, Robot, RobotKind, Upstream
from gong.domain.robot_admin import MAX_RELAY_CHAIN, Robots, merge_settings, required
from gong.domain.service import limiter_key
from gong.domain.specs import RobotPatch, RobotSpec
from gong.protocol.limits import MAX_AVATAR_URL
from gong.ratelimit.memory import MemoryLimiter
from gong.storage.groups import SqlGroups
from gong.storage.robots import SqlRobots
from tests.domain.admin_parts import Addresses, Changes, config_version, migrated

TEMPLATE = "{{ body.title }}"


def webhook(token: str) -> str:
    return f"https://gong.example.test/robot/send?access_token={token}"


@dataclass
class Setup:
    engine: AsyncEngine
    store: SqlRobots
    group_store: SqlGroups
    robots: Robots
    group: Group
    changes: Changes
    upstreams: Addresses
    outgoings: Addresses
    limiter: MemoryLimiter
    clock: ManualClock

    async def create(self, name: str = "r", **spec: Any) -> Robot:
        """A robot of the setup's group; nobody is told about it as far as tests look."""
        robot = await self.robots.create(RobotSpec(self.group.id, name, **spec))
        assert self.changes.take() == [robot.id]
        return robot

    async def refused(self, version: int, *robots: Robot) -> None:
        """Nothing changed: the robots are as they were, nobody was told, no version bump."""
        for robot in robots:
            assert await self.robots.get(robot.id) == robot
        assert self.changes.take() == []
        assert await config_version(self.engine) == version


async def _setup(settings: Settings, clock: ManualClock) -> AsyncIterator[Setup]:
    async with migrated(settings) as engine:
        group_store = SqlGroups(engine)
        store = SqlRobots(engine)
        changes, upstreams, outgoings = Changes(), Addresses("refused"), Addresses("refused")
        limiter = MemoryLimiter()
        robots = Robots(
            store=store,
            groups=group_store,
            clock=clock,
            kinds=IntegrationSettings(),
            check_upstream_address=upstreams,
            check_outgoing_address=outgoings,
            on_change=changes,
            limiter=limiter,
        )
        group = await group_store.insert_group("ops", clock.now_ms())
        yield Setup(
            engine,
            store,
            group_store,
            robots,
            group,
            changes,
            upstreams,
            outgoings,
            limiter,
            clock,
        )


@pytest.fixture
async def s(db_settings: Settings, clock: ManualClock) -> AsyncIterator[Setup]:
    """On each backend."""
    async for setup in _setup(db_settings, clock):
        yield setup


@pytest.fixture
async def lite(sqlite_settings: Settings, clock: ManualClock) -> AsyncIterator[Setup]:
    """On SQLite only: for the long tables of rules, which storage plays no part in."""
    async for setup in _setup(sqlite_settings, clock):
        yield setup


# -- the small rules -------------------------------------------------------------------------------


def test_required_trims_and_bounds_a_name() -> None:
    assert required("  ci  ", "robot name") == "ci"
    assert required("x" * 200, "robot name") == "x" * 200
    assert required(" " + "x" * 200 + " ", "robot name") == "x" * 200
    for empty in (None, "", "   ", "\t\n"):
        with pytest.raises(Invalid, match=r"^robot name cannot be empty$"):
            required(empty, "robot name")
    with pytest.raises(Invalid, match=r"^group name is longer than 200 characters$"):
        required("x" * 201, "group name")


def test_merge_settings_replaces_given_keys_and_removes_none() -> None:
    current = {"a": 1, "b": [2], "c": "three"}
    merged = merge_settings(current, {"b": [20], "c": None, "d": 4, "gone": None})
    assert merged == {"a": 1, "b": [20], "d": 4}
    assert current == {"a": 1, "b": [2], "c": "three"}  # the robot's own dict is untouched
    assert merge_settings(current, {}) == current
    assert merge_settings(current, {}) is not current


# -- create ----------------------------------------------------------------------------------------


async def test_create_cleans_the_settings_and_makes_a_token(s: Setup) -> None:
    robot = await s.robots.create(
        RobotSpec(
            s.group.id,
            "  ci  ",
            keywords=[" CI ", "CI", "告警"],
            ip_allow=["198.51.100.4", "203.0.113.7/24", "198.51.100.4/32"],
            rate_limit=RateLimit(5, 10, 30),
            overflow=Overflow.DIGEST,
            avatar_url="https://example.test/a.png",
        )
    )
    assert re.fullmatch(r"[0-9a-f]{64}", robot.access_token)
    assert (robot.group_id, robot.name, robot.kind) == (s.group.id, "ci", RobotKind.CUSTOM)
    assert robot.keywords == ("CI", "告警")
    assert robot.ip_allow == ("198.51.100.4", "203.0.113.0/24")
    assert robot.secret is None  # no signing asked
    assert robot.rate_limit == RateLimit(5, 10, 30)
    assert (robot.overflow, robot.avatar_url) == (Overflow.DIGEST, "https://example.test/a.png")
    assert robot.enabled and robot.settings == {}
    assert (robot.upstream, robot.outgoing) == (None, None)
    assert robot.created_at == robot.updated_at == s.clock.now_ms()
    assert s.changes.take() == [robot.id]

    assert await s.robots.get(robot.id) == robot
    assert await s.store.robot_by_token(robot.access_token) == robot
    assert await s.robots.stats(robot.id) == {"accepted": 0, "refused": 0}
    assert s.upstreams.checked == s.outgoings.checked == []  # no URL to check


async def test_signing_makes_a_secret_and_every_robot_gets_its_own(s: Setup) -> None:
    one = await s.create(signing=True)
    two = await s.create(signing=True, enabled=False)
    for robot in (one, two):
        assert robot.secret is not None and re.fullmatch(r"SEC[0-9a-f]{64}", robot.secret)
    assert one.secret != two.secret
    assert one.access_token != two.access_token
    assert one.enabled and not two.enabled
    assert (await s.robots.get(two.id)).secret == two.secret


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "a custom robot needs at least one security setting"),
        ({"name": "", "keywords": ["k"]}, "^robot name cannot be empty$"),
        ({"name": "   ", "keywords": ["k"]}, "^robot name cannot be empty$"),
        ({"name": "x" * 201, "keywords": ["k"]}, "^robot name is longer than 200 characters$"),
        ({"keywords": [f"k{i}" for i in range(11)]}, "at most 10 keywords, got 11"),
        ({"keywords": ["ok", "  "]}, "a keyword cannot be empty"),
        ({"keywords": ["x" * 65]}, "is longer than 64"),
        ({"ip_allow": ["2001:db8::/32"]}, "IPv6"),
        ({"ip_allow": ["300.1.1.1"]}, "not an IPv4 address"),
        (
            {"keywords": ["k"], "rate_limit": RateLimit(-1, 60, 600)},
            "rate limit must be between 0 and 1000000, got -1",
        ),
        (
            {"keywords": ["k"], "rate_limit": RateLimit(1_000_001, 60, 600)},
            "rate limit must be between 0 and 1000000, got 1000001",
        ),
        (
            {"keywords": ["k"], "rate_limit": RateLimit(20, 86_401, 600)},
            "rate window must be between 0 and 86400, got 86401",
        ),
        (
            {"keywords": ["k"], "rate_limit": RateLimit(20, 60, -1)},
            "block must be between 0 and 86400, got -1",
        ),
        (
            {"kind": RobotKind.GITHUB, "keywords": ["k"]},
            "keywords apply only to custom robots; a github robot",
        ),
        (
            {"kind": RobotKind.GITLAB, "signing": True},
            r"signing \(加签\) apply only to custom robots; a gitlab robot",
        ),
        ({"kind": RobotKind.TEMPLATE}, "a template robot needs a template"),
        (
            {"kind": RobotKind.TEMPLATE, "settings": {"template": "{{ unclosed"}},
            "the template does not compile",
        ),
        (
            {"kind": RobotKind.GITHUB, "settings": {"template": TEMPLATE}},
            "template does not apply to a github robot",
        ),
        (
            {"kind": RobotKind.TRAVIS, "settings": {"source_secret": "s"}},
            "Travis CI has no shared secret",
        ),
        (
            {"keywords": ["k"], "settings": {"source_secret": "s"}},
            "source_secret applies to integration robots, not to custom robots",
        ),
        (
            {"kind": RobotKind.GITHUB, "settings": {"only_events": "push"}},
            "only_events must be a list of event names",
        ),
        (
            {"keywords": ["k"], "upstream": Upstream(url="ftp://up.example.test/send")},
            r"the upstream must be an http\(s\) webhook URL",
        ),
        (
            {"keywords": ["k"], "upstream": Upstream(url=webhook("x"), limit=-1)},
            "upstream limit must be between 0 and 1000, got -1",
        ),
        (
            {"keywords": ["k"], "outgoing": Outgoing(url="https://bot.example.test/", token=" ")},
            "the outgoing token cannot be empty",
        ),
        (
            {"keywords": ["k"], "outgoing": Outgoing(url="mailto:x@example.test", token="t")},
            "the outgoing URL must be an http",
        ),
        (
            {"keywords": ["k"], "upstream": Upstream(url="https://refused.test/s?access_token=x")},
            "refused",
        ),
        (
            {"keywords": ["k"], "outgoing": Outgoing(url="https://refused.test/cb", token="t")},
            "refused",
        ),
    ],
)
async def test_create_refuses_what_breaks_a_rule(
    lite: Setup, spec: dict[str, Any], message: str
) -> None:
    spec = {"name": "r", **spec}
    version = await config_version(lite.engine)
    with pytest.raises(Invalid, match=message):
        await lite.robots.create(RobotSpec(lite.group.id, **spec))
    assert await lite.robots.list() == []
    await lite.refused(version)


async def test_a_name_of_200_after_trimming_is_allowed(lite: Setup) -> None:
    robot = await lite.create(" " + "名" * 200 + " ", keywords=["k"])
    assert robot.name == "名" * 200


async def test_integration_kinds_need_no_dingtalk_security(s: Setup) -> None:
    github = await s.create("gh", kind=RobotKind.GITHUB)
    assert (github.kind, github.keywords, github.secret, github.ip_allow) == (
        RobotKind.GITHUB,
        (),
        None,
        (),
    )
    # An IP allow list applies to every kind.
    grafana = await s.create("gf", kind=RobotKind.GRAFANA, ip_allow=["198.51.100.0/24"])
    assert grafana.ip_allow == ("198.51.100.0/24",)


async def test_the_kinds_settings_are_checked_and_cleaned(s: Setup) -> None:
    github = await s.create(
        "gh",
        kind=RobotKind.GITHUB,
        settings={"source_secret": "s3cret", "only_events": [" push ", "push", "issues"]},
    )
    assert github.settings == {"source_secret": "s3cret", "only_events": ["push", "issues"]}
    assert (await s.robots.get(github.id)).settings == github.settings
    template = await s.create("tpl", kind=RobotKind.TEMPLATE, settings={"template": TEMPLATE})
    assert template.settings == {"template": TEMPLATE}


async def test_no_robot_in_a_dissolved_group(s: Setup) -> None:
    await s.group_store.update_group(s.group.id, dissolved=True)
    version = await config_version(s.engine)
    with pytest.raises(Invalid, match=f"^group {s.group.id} is dissolved$"):
        await s.robots.create(RobotSpec(s.group.id, "r", keywords=["k"]))
    assert await s.robots.list() == []
    await s.refused(version)


async def test_no_robot_in_a_missing_group(s: Setup) -> None:
    version = await config_version(s.engine)
    missing = s.group.id + 100
    with pytest.raises(NotFound, match=f"group {missing} does not exist"):
        await s.robots.create(RobotSpec(missing, "r", keywords=["k"]))
    assert await s.robots.list() == []
    await s.refused(version)


async def test_upstream_and_outgoing_are_checked_and_trimmed_when_created(s: Setup) -> None:
    robot = await s.create(
        keywords=["k"],
        upstream=Upstream(url=f"  {webhook('up')}  ", secret=" SECup ", keyword=" 告警 "),
        outgoing=Outgoing(url=" https://bot.example.test/cb ", token=" tok "),
    )
    assert robot.upstream == Upstream(url=webhook("up"), secret="SECup", keyword="告警")
    assert robot.outgoing == Outgoing(url="https://bot.example.test/cb", token="tok")
    assert s.upstreams.checked == [webhook("up")]
    assert s.outgoings.checked == ["https://bot.example.test/cb"]
    assert await s.robots.get(robot.id) == robot


async def test_a_relay_chain_longer_than_followed_is_refused(s: Setup) -> None:
    # Each robot relays to the one made before it; the first to a webhook outside this Gong.
    previous = "outside"
    for n in range(MAX_RELAY_CHAIN - 1):
        hop = await s.create(f"hop{n}", keywords=["k"], upstream=Upstream(url=webhook(previous)))
        previous = hop.access_token
    version = await config_version(s.engine)
    with pytest.raises(Invalid, match="the relay chain of this upstream is too long"):
        await s.robots.create(
            RobotSpec(s.group.id, "last", keywords=["k"], upstream=Upstream(url=webhook(previous)))
        )
    assert len(await s.robots.list()) == MAX_RELAY_CHAIN - 1
    await s.refused(version)
    # An existing robot cannot join the chain at its head either.
    other = await s.create("other", keywords=["k"])
    version = await config_version(s.engine)
    with pytest.raises(Invalid, match="too long"):
        await s.robots.update(other.id, RobotPatch(upstream=Upstream(url=webhook(previous))))
    await s.refused(version, other)


# -- update ----------------------------------------------------------------------------------------


async def test_unset_fields_keep_their_value(s: Setup) -> None:
    robot = await s.create(
        keywords=["CI"],
        signing=True,
        ip_allow=["198.51.100.4"],
        rate_limit=RateLimit(5, 10, 30),
        overflow=Overflow.DIGEST,
        avatar_url="https://example.test/a.png",
        upstream=Upstream(url=webhook("up")),
        outgoing=Outgoing(url="https://bot.example.test/cb", token="tok"),
    )
    s.clock.advance(1_000)
    renamed = await s.robots.update(robot.id, RobotPatch(name=" renamed "))
    assert renamed == replace(robot, name="renamed", updated_at=s.clock.now_ms())
    assert await s.robots.get(robot.id) == renamed
    assert s.changes.take() == [robot.id]

    s.clock.advance(1)
    touched = await s.robots.update(robot.id, RobotPatch())
    assert touched == replace(renamed, updated_at=s.clock.now_ms())
    assert s.changes.take() == [robot.id]

    github = await s.create(
        "gh", kind=RobotKind.GITHUB, settings={"source_secret": "s"}, ip_allow=["192.0.2.1"]
    )
    assert await s.robots.update(github.id, RobotPatch(enabled=False)) == replace(
        github, enabled=False, updated_at=s.clock.now_ms()
    )


async def test_update_changes_what_it_is_given(s: Setup) -> None:
    robot = await s.create(keywords=["CI"], signing=True, ip_allow=["198.51.100.4"])
    assert robot.secret is not None

    updated = await s.robots.update(
        robot.id, RobotPatch(signing=False, keywords=[], overflow=Overflow.DIGEST)
    )
    assert (updated.secret, updated.keywords, updated.ip_allow) == (None, (), ("198.51.100.4",))
    assert updated.overflow is Overflow.DIGEST

    signed = await s.robots.update(robot.id, RobotPatch(signing=True))
    assert signed.secret is not None and re.fullmatch(r"SEC[0-9a-f]{64}", signed.secret)
    assert signed.secret != robot.secret
    # Signing already on: the secret is kept.
    assert (await s.robots.update(robot.id, RobotPatch(signing=True))).secret == signed.secret

    changed = await s.robots.update(
        robot.id,
        RobotPatch(
            keywords=[" a ", "a", "b"],
            ip_allow=["203.0.113.9/24"],
            avatar_url="https://example.test/b.png",
            enabled=False,
            rate_limit=RateLimit(0, 0, 0),
        ),
    )
    assert (changed.keywords, changed.ip_allow) == (("a", "b"), ("203.0.113.0/24",))
    assert (changed.avatar_url, changed.enabled) == ("https://example.test/b.png", False)
    assert changed.rate_limit == RateLimit(0, 0, 0)
    assert await s.robots.get(robot.id) == changed
    assert s.changes.take() == [robot.id] * 4


@pytest.mark.parametrize(
    ("spec", "patch"),
    [
        ({"keywords": ["k"]}, RobotPatch(keywords=[])),
        ({"signing": True}, RobotPatch(signing=False)),
        ({"ip_allow": ["198.51.100.4"]}, RobotPatch(ip_allow=[])),
        ({"keywords": ["k"], "signing": True}, RobotPatch(keywords=[], signing=False)),
        # Refused as a whole: the valid part of the change is not made either.
        ({"keywords": ["k"]}, RobotPatch(keywords=[], name="renamed", rate_limit=RateLimit(1))),
    ],
)
async def test_a_change_leaving_a_custom_robot_without_security_is_a_conflict(
    s: Setup, spec: dict[str, Any], patch: RobotPatch
) -> None:
    robot = await s.create(**spec)
    version = await config_version(s.engine)
    with pytest.raises(Conflict, match="a custom robot needs at least one security setting"):
        await s.robots.update(robot.id, patch)
    await s.refused(version, robot)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (RobotPatch(keywords=["k"]), "keywords apply only to custom robots; a github robot"),
        (RobotPatch(signing=True), r"signing \(加签\) apply only to custom robots"),
    ],
)
async def test_keywords_or_signing_for_an_integration_robot_are_a_conflict(
    s: Setup, patch: RobotPatch, message: str
) -> None:
    robot = await s.create("gh", kind=RobotKind.GITHUB)
    version = await config_version(s.engine)
    with pytest.raises(Conflict, match=message):
        await s.robots.update(robot.id, patch)
    await s.refused(version, robot)
    # What does fit the kind is taken.
    fenced = await s.robots.update(robot.id, RobotPatch(ip_allow=["192.0.2.1"], keywords=[]))
    assert fenced.ip_allow == ("192.0.2.1",)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (RobotPatch(name="  "), "^robot name cannot be empty$"),
        (RobotPatch(name="x" * 201), "^robot name is longer than 200 characters$"),
        (RobotPatch(rate_limit=RateLimit(-1, 60, 600)), "rate limit must be between 0 and"),
        (RobotPatch(rate_limit=RateLimit(20, 60, 86_401)), "block must be between 0 and"),
        (RobotPatch(upstream=Upstream(url="ftp://x.test/")), "must be an http\\(s\\) webhook URL"),
        (
            RobotPatch(outgoing=Outgoing(url="https://bot.example.test/", token="")),
            "the outgoing token cannot be empty",
        ),
        pytest.param(
            RobotPatch(keywords=["ok", " "]),
            "a keyword cannot be empty",
        ),
        pytest.param(
            RobotPatch(keywords=[f"k{i}" for i in range(11)]),
            "at most 10 keywords",
        ),
        pytest.param(
            RobotPatch(ip_allow=["2001:db8::/32"]),
            "IPv6",
        ),
    ],
)
async def test_a_value_that_breaks_a_rule_is_invalid_in_a_change_too(
    lite: Setup, patch: RobotPatch, message: str
) -> None:
    robot = await lite.create(keywords=["k"])
    version = await config_version(lite.engine)
    with pytest.raises(Invalid, match=message):
        await lite.robots.update(robot.id, patch)
    await lite.refused(version, robot)


@pytest.mark.parametrize(
    ("spec", "patch", "message"),
    [
        (
            {"kind": RobotKind.GITHUB},
            {"template": TEMPLATE},
            "template does not apply to a github robot",
        ),
        (
            {"keywords": ["k"]},
            {"source_secret": "s"},
            "source_secret applies to integration robots, not to custom robots",
        ),
        ({"kind": RobotKind.TRAVIS}, {"source_secret": "s"}, "Travis CI has no shared secret"),
        (
            {"kind": RobotKind.TEMPLATE, "settings": {"template": TEMPLATE}},
            {"travis_verify": True},
            "travis_verify does not apply to a template robot",
        ),
    ],
)
async def test_a_setting_foreign_to_the_kind_is_a_conflict(
    s: Setup, spec: dict[str, Any], patch: dict[str, Any], message: str
) -> None:
    robot = await s.create(**spec)
    version = await config_version(s.engine)
    with pytest.raises(Conflict, match=message):
        await s.robots.update(robot.id, RobotPatch(settings=patch))
    await s.refused(version, robot)


async def test_a_template_robot_keeps_its_template(s: Setup) -> None:
    robot = await s.create(
        "tpl", kind=RobotKind.TEMPLATE, settings={"template": TEMPLATE, "event_field": "kind"}
    )
    version = await config_version(s.engine)
    for removal in ({"template": None}, {"template": ""}):
        with pytest.raises(Conflict, match="a template robot needs a template"):
            await s.robots.update(robot.id, RobotPatch(settings=removal))
    # A template that does not compile is a bad value, not a conflict.
    with pytest.raises(Invalid, match="the template does not compile") as raised:
        await s.robots.update(robot.id, RobotPatch(settings={"template": "{% if %}"}))
    assert not isinstance(raised.value, Conflict)
    await s.refused(version, robot)

    replaced = await s.robots.update(
        robot.id, RobotPatch(settings={"template": "{{ body.text }}", "event_field": None})
    )
    assert replaced.settings == {"template": "{{ body.text }}"}
    assert s.changes.take() == [robot.id]


async def test_a_settings_patch_merges_into_the_robots_settings(s: Setup) -> None:
    robot = await s.create(
        "gh", kind=RobotKind.GITHUB, settings={"source_secret": "s1", "only_events": ["push"]}
    )
    merged = await s.robots.update(
        robot.id,
        RobotPatch(settings={"exclude_events": [" ping ", "ping"], "only_events": None}),
    )
    assert merged.settings == {"source_secret": "s1", "exclude_events": ["ping"]}
    replaced = await s.robots.update(robot.id, RobotPatch(settings={"source_secret": "s2"}))
    assert replaced.settings == {"source_secret": "s2", "exclude_events": ["ping"]}
    # Removing what is not there changes nothing; an empty patch neither.
    assert (
        await s.robots.update(robot.id, RobotPatch(settings={"only_events": None}))
    ).settings == replaced.settings
    assert (await s.robots.update(robot.id, RobotPatch(settings={}))).settings == replaced.settings
    assert (await s.robots.get(robot.id)).settings == replaced.settings
    assert s.changes.take() == [robot.id] * 4
    # A bad value of a key the kind takes is Invalid.
    version = await config_version(s.engine)
    current = await s.robots.get(robot.id)
    with pytest.raises(Invalid, match="only_events must be a list of event names") as raised:
        await s.robots.update(robot.id, RobotPatch(settings={"only_events": "push"}))
    assert not isinstance(raised.value, Conflict)
    await s.refused(version, current)


async def test_a_changed_rate_limit_starts_the_robots_window_afresh(s: Setup) -> None:
    limit = RateLimit(1, 60, 600)
    robot = await s.create(keywords=["k"], rate_limit=limit)
    other = await s.create("other", keywords=["k"], rate_limit=limit)
    now = s.clock.now_ms()
    for r in (robot, other):
        assert (await s.limiter.acquire(limiter_key(r.id), limit, now)).allowed
        assert not (await s.limiter.acquire(limiter_key(r.id), limit, now)).allowed  # blocked

    # A refused change resets nothing.
    with pytest.raises(Conflict):
        await s.robots.update(robot.id, RobotPatch(keywords=[], rate_limit=RateLimit(2, 60, 600)))
    assert not (await s.limiter.acquire(limiter_key(robot.id), limit, now)).allowed

    wider = RateLimit(2, 60, 600)
    changed = await s.robots.update(robot.id, RobotPatch(rate_limit=wider))
    assert changed.rate_limit == wider
    decision = await s.limiter.acquire(limiter_key(robot.id), wider, now)
    assert decision.allowed and decision.count == 1  # a new window, the block forgotten
    # Only the changed robot's window.
    assert not (await s.limiter.acquire(limiter_key(other.id), limit, now)).allowed


async def test_an_unchanged_rate_limit_keeps_the_window(s: Setup) -> None:
    limit = RateLimit(1, 60, 600)
    robot = await s.create(keywords=["k"], rate_limit=limit)
    now = s.clock.now_ms()
    key = limiter_key(robot.id)
    assert (await s.limiter.acquire(key, limit, now)).allowed
    assert not (await s.limiter.acquire(key, limit, now)).allowed
    await s.robots.update(robot.id, RobotPatch(rate_limit=RateLimit(1, 60, 600)))
    await s.robots.update(robot.id, RobotPatch(name="renamed", keywords=["k2"]))
    await s.robots.rotate_token(robot.id)
    await s.robots.set_enabled(robot.id, False)
    assert not (await s.limiter.acquire(key, limit, now)).allowed


async def test_a_robot_cannot_relay_to_its_own_webhook(s: Setup) -> None:
    robot = await s.create(keywords=["k"])
    version = await config_version(s.engine)
    with pytest.raises(Invalid, match="a robot cannot relay to its own webhook"):
        await s.robots.update(
            robot.id, RobotPatch(upstream=Upstream(url=webhook(robot.access_token)))
        )
    await s.refused(version, robot)


async def test_a_relay_loop_through_other_robots_is_refused(s: Setup) -> None:
    a = await s.create("a", keywords=["k"])
    b = await s.create("b", keywords=["k"], upstream=Upstream(url=webhook(a.access_token)))
    c = await s.create("c", keywords=["k"], upstream=Upstream(url=webhook(b.access_token)))
    version = await config_version(s.engine)
    for target in (b, c):  # a → b → a, a → c → b → a
        with pytest.raises(Invalid, match="this upstream relays back to the robot itself: a loop"):
            await s.robots.update(
                a.id, RobotPatch(upstream=Upstream(url=webhook(target.access_token)))
            )
    await s.refused(version, a, b, c)
    # Once b relays elsewhere there is no loop.
    await s.robots.update(b.id, RobotPatch(clear_upstream=True))
    looped = await s.robots.update(a.id, RobotPatch(upstream=Upstream(url=webhook(c.access_token))))
    assert looped.upstream == Upstream(url=webhook(c.access_token))
    assert s.upstreams.checked[-1] == webhook(c.access_token)


async def test_clear_upstream_and_clear_outgoing(s: Setup) -> None:
    robot = await s.create(
        keywords=["k"],
        upstream=Upstream(url=webhook("up")),
        outgoing=Outgoing(url="https://bot.example.test/cb", token="tok"),
    )
    no_upstream = await s.robots.update(robot.id, RobotPatch(clear_upstream=True))
    assert no_upstream == replace(robot, upstream=None, updated_at=s.clock.now_ms())
    neither = await s.robots.update(robot.id, RobotPatch(clear_outgoing=True))
    assert neither == replace(robot, upstream=None, outgoing=None, updated_at=s.clock.now_ms())
    assert await s.robots.get(robot.id) == neither
    assert s.changes.take() == [robot.id, robot.id]


async def test_the_upstream_and_outgoing_are_checked_when_changed(s: Setup) -> None:
    robot = await s.create(keywords=["k"])
    s.clock.advance(5)
    changed = await s.robots.update(
        robot.id,
        RobotPatch(
            upstream=Upstream(url=f" {webhook('up')} ", limit=5),
            outgoing=Outgoing(url=" https://bot.example.test/cb ", token=" tok "),
        ),
    )
    assert changed.upstream == Upstream(url=webhook("up"), limit=5)
    assert changed.outgoing == Outgoing(url="https://bot.example.test/cb", token="tok")
    assert (s.upstreams.checked, s.outgoings.checked) == (
        [webhook("up")],
        ["https://bot.example.test/cb"],
    )
    assert s.changes.take() == [robot.id]

    version = await config_version(s.engine)
    for patch in (
        RobotPatch(outgoing=Outgoing(url="https://refused.test/cb", token="t")),
        RobotPatch(outgoing=Outgoing(url="not a url", token="t")),
        RobotPatch(upstream=Upstream(url=webhook("refused"))),
        RobotPatch(upstream=Upstream(url=webhook("x"), window_s=0)),
    ):
        with pytest.raises(Invalid):
            await s.robots.update(robot.id, patch)
    await s.refused(version, changed)


async def test_changing_a_missing_robot_is_not_found(s: Setup) -> None:
    version = await config_version(s.engine)
    missing = 999
    with pytest.raises(NotFound, match=f"robot {missing} does not exist"):
        await s.robots.update(missing, RobotPatch(name="x"))
    with pytest.raises(NotFound):
        await s.robots.rotate_token(missing)
    with pytest.raises(NotFound):
        await s.robots.rotate_secret(missing)
    with pytest.raises(NotFound):
        await s.robots.set_enabled(missing, False)
    with pytest.raises(NotFound):
        await s.robots.delete(missing)
    with pytest.raises(NotFound):
        await s.robots.get(missing)
    await s.refused(version)


# -- tokens, secrets, enabling, deleting -----------------------------------------------------------


async def test_rotate_token_retires_the_old_webhook(s: Setup) -> None:
    robot = await s.create(keywords=["k"])
    s.clock.advance(3)
    rotated = await s.robots.rotate_token(robot.id)
    assert re.fullmatch(r"[0-9a-f]{64}", rotated.access_token)
    assert rotated == replace(robot, access_token=rotated.access_token, updated_at=s.clock.now_ms())
    assert rotated.access_token != robot.access_token
    assert await s.store.robot_by_token(robot.access_token) is None
    assert await s.store.robot_by_token(rotated.access_token) == rotated
    assert s.changes.take() == [robot.id]


async def test_rotate_secret_makes_a_new_one_and_turns_signing_on(s: Setup) -> None:
    signed = await s.create("signed", signing=True)
    rotated = await s.robots.rotate_secret(signed.id)
    assert rotated.secret is not None and re.fullmatch(r"SEC[0-9a-f]{64}", rotated.secret)
    assert rotated.secret != signed.secret
    assert rotated == replace(signed, secret=rotated.secret, updated_at=s.clock.now_ms())
    assert s.changes.take() == [signed.id]

    plain = await s.create("plain", keywords=["k"])
    assert plain.secret is None
    now_signed = await s.robots.rotate_secret(plain.id)
    assert now_signed.secret is not None and now_signed.secret != rotated.secret
    assert (await s.robots.get(plain.id)).secret == now_signed.secret
    assert s.changes.take() == [plain.id]


async def test_set_enabled(s: Setup) -> None:
    robot = await s.create(keywords=["k"])
    off = await s.robots.set_enabled(robot.id, False)
    assert off == replace(robot, enabled=False, updated_at=s.clock.now_ms())
    assert not (await s.robots.get(robot.id)).enabled
    assert (await s.robots.set_enabled(robot.id, True)).enabled
    assert (await s.robots.get(robot.id)).enabled
    assert s.changes.take() == [robot.id, robot.id]


async def test_delete(s: Setup) -> None:
    robot = await s.create(keywords=["k"])
    kept = await s.create("kept", keywords=["k"])
    await s.robots.delete(robot.id)
    assert s.changes.take() == [robot.id]
    with pytest.raises(NotFound, match=f"robot {robot.id} does not exist"):
        await s.robots.get(robot.id)
    assert await s.store.robot_by_token(robot.access_token) is None
    assert await s.robots.list() == [kept]
    version = await config_version(s.engine)
    with pytest.raises(NotFound):
        await s.robots.delete(robot.id)
    await s.refused(version, kept)


async def test_every_change_is_told_once_with_its_robot(s: Setup) -> None:
    seen = [await config_version(s.engine)]

    async def told(robot_id: int) -> None:
        assert s.changes.take() == [robot_id]
        now = await config_version(s.engine)
        assert now > seen[-1]
        seen.append(now)

    robot = await s.robots.create(RobotSpec(s.group.id, "r", keywords=["k"]))
    await told(robot.id)
    other = await s.robots.create(RobotSpec(s.group.id, "o", keywords=["k"]))
    await told(other.id)
    await s.robots.update(robot.id, RobotPatch(name="r2", rate_limit=RateLimit(3, 60, 600)))
    await told(robot.id)
    await s.robots.rotate_token(other.id)
    await told(other.id)
    await s.robots.rotate_secret(robot.id)
    await told(robot.id)
    await s.robots.set_enabled(robot.id, False)
    await told(robot.id)
    await s.robots.delete(other.id)
    await told(other.id)

    # Reads tell nobody.
    await s.robots.get(robot.id)
    await s.robots.list()
    await s.robots.list(s.group.id)
    await s.robots.stats(robot.id)
    await s.robots.kinds_in_use()
    assert s.changes.take() == []
    assert await config_version(s.engine) == seen[-1]


async def test_reads(s: Setup) -> None:
    other_group = await s.group_store.insert_group("other", s.clock.now_ms())
    a = await s.create("a", keywords=["k"])
    b = await s.create("b", kind=RobotKind.GITHUB)
    c = await s.robots.create(RobotSpec(other_group.id, "c", keywords=["k"]))
    assert await s.robots.list() == [a, b, c]
    assert await s.robots.list(s.group.id) == [a, b]
    assert await s.robots.list(other_group.id) == [c]
    with pytest.raises(NotFound, match="group 999 does not exist"):
        await s.robots.list(999)
    assert await s.robots.kinds_in_use() == {"custom": 2, "github": 1}
    assert await s.robots.stats(b.id) == {"accepted": 0, "refused": 0}


# -- avatar length, and keys no integration owns -------------------------------------------------


async def test_an_avatar_url_longer_than_its_limit_is_invalid(s: Setup) -> None:
    assert MAX_AVATAR_URL == 1000
    too_long = "https://example.test/" + "a" * MAX_AVATAR_URL
    with pytest.raises(Invalid):
        await s.robots.create(RobotSpec(s.group.id, "r", keywords=["k"], avatar_url=too_long))
    assert await s.robots.list() == []


async def test_a_template_robot_takes_a_key_no_integration_owns(s: Setup) -> None:
    robot = await s.create("tpl", kind=RobotKind.TEMPLATE, settings={"template": TEMPLATE})
    github = await s.create("gh", kind=RobotKind.GITHUB)
    # Other kinds pass such a key through.
    assert (await s.robots.update(github.id, RobotPatch(settings={"note": "x"}))).settings == {
        "note": "x"
    }
    changed = await s.robots.update(robot.id, RobotPatch(settings={"note": "x"}))
    assert changed.settings == {"template": TEMPLATE, "note": "x"}
