"""Robots, administered: every way of creating or changing a robot comes through :class:`Robots`.

The REST API, the web pages, the CLI and the first-start bootstrap are thin callers. This
service owns the rules: the security a robot of each kind needs (:mod:`gong.domain.robots`),
the kind's own settings (a :class:`KindRules`, given by the integrations), where an upstream or
outgoing URL may point (the one SSRF guard, given as :data:`AddressCheck`), relay loops, and
telling the caches: after every change it awaits its :class:`ChangeListener`, so when a call
returns the send path already sees the change.
"""

from __future__ import annotations

import builtins
import dataclasses
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gong.clock import Clock
from gong.domain.errors import Conflict, Invalid
from gong.domain.models import IgnoredEvent, Outgoing, Robot, RobotKind, Upstream
from gong.domain.ports import GroupStore, Limiter, RobotStore
from gong.domain.robots import (
    check_outgoing_settings,
    check_settings,
    check_upstream,
    upstream_token,
)
from gong.domain.service import limiter_key
from gong.domain.specs import RobotPatch, RobotSpec
from gong.i18n import Text, core
from gong.protocol.limits import MAX_AVATAR_URL, MAX_DEDUPE_WINDOW, MAX_MENTION_LABELS, MAX_NAME
from gong.protocol.signing import generate_secret, generate_token

__all__ = [
    "AddressCheck",
    "ChangeListener",
    "KindRules",
    "Robots",
    "merge_settings",
    "required",
]

#: The longest relay chain followed when looking for a loop.
MAX_RELAY_CHAIN = 32

#: Checks where a URL points before it is saved (the SSRF guard); raises
#: :class:`~gong.domain.errors.Invalid` naming why it is refused.
AddressCheck = Callable[[str], Awaitable[None]]


class ChangeListener(Protocol):
    async def __call__(self, robot_id: int | None) -> None:
        """Groups, members or robots changed here (``robot_id``: the robot that did, if one)."""
        ...


async def _nobody(robot_id: int | None) -> None:
    """No cache to tell (a CLI process: servers notice the configuration version)."""


async def _anywhere(url: str) -> None:
    """No address check."""


class KindRules(Protocol):
    """The settings each kind of robot takes (``gong.integrations.config`` implements them)."""

    def check(self, kind: RobotKind, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings cleaned; raises :class:`~gong.domain.errors.Invalid`."""
        ...

    def owned(self, kind: RobotKind) -> frozenset[str]:
        """The setting keys a robot of ``kind`` takes."""
        ...

    def showing(
        self, settings: Mapping[str, Any], ignored: Sequence[IgnoredEvent]
    ) -> dict[str, Any]:
        """The settings patch that shows ``ignored`` events; raises ``Invalid`` when there
        is nothing to change."""
        ...


class _NoKindSettings:
    def check(self, kind: RobotKind, settings: Mapping[str, Any]) -> dict[str, Any]:
        return dict(settings)

    def owned(self, kind: RobotKind) -> frozenset[str]:
        return frozenset()

    def showing(
        self, settings: Mapping[str, Any], ignored: Sequence[IgnoredEvent]
    ) -> dict[str, Any]:
        raise Invalid(core.lazy("this robot has no event settings"))


def required(value: str | None, what: str | Text) -> str:
    """A name trimmed, neither empty nor longer than :data:`MAX_NAME`.

    Raises:
        Invalid: naming ``what``.
    """
    value = (value or "").strip()
    if not value:
        raise Invalid(core.lazy("%(what)s cannot be empty", what=what))
    if len(value) > MAX_NAME:
        raise Invalid(
            core.lazy("%(what)s is longer than %(most)s characters", what=what, most=MAX_NAME)
        )
    return value


def avatar(url: str) -> str:
    """A robot's avatar URL, at most :data:`~gong.protocol.limits.MAX_AVATAR_URL` characters.

    Raises:
        Invalid: it is longer.
    """
    if len(url) > MAX_AVATAR_URL:
        raise Invalid(
            core.lazy("the avatar URL is longer than %(most)s characters", most=MAX_AVATAR_URL)
        )
    return url


#: The kinds whose messages are alert groups, with labels to take owners from.
ALERT_KINDS = frozenset(
    {
        RobotKind.ALERTMANAGER,
        RobotKind.GRAFANA,
        RobotKind.TEMPLATE,
        RobotKind.SENTRY,
        RobotKind.UPTIME_KUMA,
    }
)
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def dedupe_window(seconds: int) -> int:
    """A quiet window in seconds: 0 (off) up to a day.

    Raises:
        Invalid: out of range.
    """
    if not 0 <= seconds <= MAX_DEDUPE_WINDOW:
        raise Invalid(
            core.lazy(
                "the quiet window must be 0 (off) to %(most)s seconds", most=MAX_DEDUPE_WINDOW
            )
        )
    return seconds


def mention_labels(kind: RobotKind, labels: Sequence[str]) -> tuple[str, ...]:
    """Alert label names to take owners from, for a robot of ``kind``.

    Raises:
        Invalid: not a label name, too many, or the kind's messages are not alerts.
    """
    clean = tuple(dict.fromkeys(label.strip() for label in labels if label.strip()))
    if not clean:
        return ()
    if kind not in ALERT_KINDS:
        kinds = ", ".join(sorted(str(k) for k in ALERT_KINDS))
        raise Invalid(
            core.lazy(
                "%(kind)s robots do not post alerts: owners come from labels of %(kinds)s robots",
                kind=kind,
                kinds=kinds,
            )
        )
    if len(clean) > MAX_MENTION_LABELS:
        raise Invalid(core.lazy("at most %(most)s mention labels", most=MAX_MENTION_LABELS))
    for label in clean:
        if not _LABEL_NAME.fullmatch(label) or len(label) > 100:
            raise Invalid(
                core.lazy("%(label)r is not a label name (letters, digits and _)", label=label)
            )
    return clean


def merge_settings(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``patch`` applied: given keys replace, keys given as None are removed."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@dataclass(slots=True)
class Robots:
    store: RobotStore
    groups: GroupStore
    clock: Clock
    kinds: KindRules = dataclasses.field(default_factory=_NoKindSettings)
    check_upstream_address: AddressCheck = _anywhere
    check_outgoing_address: AddressCheck = _anywhere
    on_change: ChangeListener = _nobody
    #: Given, a changed rate limit starts the robot's window afresh.
    limiter: Limiter | None = None

    # -- reads -----------------------------------------------------------------------------

    async def get(self, robot_id: int) -> Robot:
        return await self.store.get_robot(robot_id)

    async def list(self, group_id: int | None = None) -> builtins.list[Robot]:
        if group_id is not None:
            await self.groups.get_group(group_id)
        return await self.store.list_robots(group_id)

    async def stats(self, robot_id: int) -> dict[str, int]:
        """Accepted and refused calls of the robot."""
        return await self.store.robot_stats(robot_id)

    async def kinds_in_use(self) -> dict[str, int]:
        """How many robots there are of each kind."""
        return await self.store.robot_kinds()

    async def ignored_events(self, robot_id: int) -> builtins.list[IgnoredEvent]:
        """What the robot received and did not show, and why, the most recently seen first.

        Raises:
            NotFound: no such robot.
        """
        await self.store.get_robot(robot_id)
        return await self.store.ignored_events(robot_id)

    # -- changes ---------------------------------------------------------------------------

    async def create(self, spec: RobotSpec) -> Robot:
        """Create a robot; it answers at once on every server of this process.

        Raises:
            NotFound: no such group.
            Invalid: a rule is broken (named), or the group is dissolved.
        """
        name = required(spec.name, core.lazy("robot name"))
        keywords, ips = check_settings(
            kind=spec.kind,
            keywords=spec.keywords,
            signing=spec.signing,
            ip_allow=spec.ip_allow,
            rate_limit=spec.rate_limit,
        )
        settings = self.kinds.check(spec.kind, spec.settings)
        group = await self.groups.get_group(spec.group_id)
        if group.dissolved:
            raise Invalid(core.lazy("group %(id)s is dissolved", id=spec.group_id))
        quiet = dedupe_window(spec.dedupe_window_s)
        labels = mention_labels(spec.kind, spec.mention_labels)
        access_token = generate_token()
        upstream = await self._upstream(spec.upstream, access_token)
        outgoing = await self._outgoing(spec.outgoing)
        now = self.clock.now_ms()
        robot = await self.store.insert_robot(
            Robot(
                id=0,
                group_id=group.id,
                name=name,
                kind=spec.kind,
                access_token=access_token,
                secret=generate_secret() if spec.signing else None,
                keywords=keywords,
                ip_allow=ips,
                enabled=spec.enabled,
                rate_limit=spec.rate_limit,
                overflow=spec.overflow,
                avatar_url=avatar(spec.avatar_url),
                settings=settings,
                created_at=now,
                updated_at=now,
                upstream=upstream,
                outgoing=outgoing,
                dedupe_window_s=quiet,
                mention_labels=labels,
            )
        )
        await self.on_change(robot.id)
        return robot

    async def update(self, robot_id: int, patch: RobotPatch) -> Robot:
        """Change some settings; the robot must still satisfy every rule.

        Raises:
            NotFound: no such robot.
            Conflict: the change is valid on its own but not for this robot (its kind, the
                security a custom robot must keep, a template robot's template).
            Invalid: a value breaks a rule (named), or an URL may not be used.
        """
        current = await self.store.get_robot(robot_id)
        changes: dict[str, Any] = {}
        keywords = current.keywords if patch.keywords is None else patch.keywords
        signing = (current.secret is not None) if patch.signing is None else patch.signing
        ips = current.ip_allow if patch.ip_allow is None else patch.ip_allow
        limit = current.rate_limit if patch.rate_limit is None else patch.rate_limit
        # The values alone (refused as Invalid), then whether they fit this robot (Conflict).
        check_settings(
            kind=RobotKind.CUSTOM, keywords=keywords, signing=True, ip_allow=ips, rate_limit=limit
        )
        try:
            check_settings(
                kind=current.kind,
                keywords=keywords,
                signing=signing,
                ip_allow=ips,
                rate_limit=current.rate_limit,
            )
        except Invalid as exc:
            raise Conflict(exc.text) from None
        clean_keywords, clean_ips = check_settings(
            kind=current.kind, keywords=keywords, signing=signing, ip_allow=ips, rate_limit=limit
        )
        changes.update(keywords=clean_keywords, ip_allow=clean_ips, rate_limit=limit)
        if signing and current.secret is None:
            changes["secret"] = generate_secret()
        elif not signing:
            changes["secret"] = None
        if patch.name is not None:
            changes["name"] = required(patch.name, core.lazy("robot name"))
        if patch.avatar_url is not None:
            changes["avatar_url"] = avatar(patch.avatar_url)
        for name in ("overflow", "enabled"):
            if (value := getattr(patch, name)) is not None:
                changes[name] = value
        if patch.settings is not None:
            changes["settings"] = self._settings(current, patch.settings)
        if patch.clear_upstream:
            changes["upstream"] = None
        if patch.upstream is not None:
            changes["upstream"] = await self._upstream(patch.upstream, current.access_token)
        if patch.clear_outgoing:
            changes["outgoing"] = None
        if patch.outgoing is not None:
            changes["outgoing"] = await self._outgoing(patch.outgoing)
        if patch.upstream_fit is not None:
            upstream = changes.get("upstream", current.upstream)
            if upstream is None:
                raise Conflict(
                    core.lazy("this robot has no upstream: give one before how messages fit it")
                )
            changes["upstream"] = dataclasses.replace(upstream, fit=patch.upstream_fit)
        if patch.dedupe_window_s is not None:
            changes["dedupe_window_s"] = dedupe_window(patch.dedupe_window_s)
        if patch.mention_labels is not None:
            mention_labels(RobotKind.ALERTMANAGER, patch.mention_labels)  # the values alone
            try:
                changes["mention_labels"] = mention_labels(current.kind, patch.mention_labels)
            except Invalid as exc:
                raise Conflict(exc.text) from None
        robot = await self._save(current, changes)
        if self.limiter is not None and limit != current.rate_limit:
            await self.limiter.reset(limiter_key(robot_id))
        return robot

    async def show_events(self, robot_id: int, events: Sequence[str]) -> Robot:
        """Show from now on these events the robot ignored (all of them when ``events`` is
        empty): its filters and opt-ins change as :meth:`KindRules.showing` says, and their
        ignored-event records are dropped.

        Raises:
            NotFound: no such robot.
            Conflict: none of ``events`` is in the robot's ignored events, or all are shown
                already.
        """
        current = await self.store.get_robot(robot_id)
        recorded = await self.store.ignored_events(robot_id)
        wanted = set(events)
        chosen = [item for item in recorded if not wanted or item.event in wanted]
        if not chosen:
            named: str | Text = ", ".join(sorted(wanted)) or core.lazy("any event")
            raise Conflict(
                core.lazy("robot %(id)s has not ignored %(named)s", id=robot_id, named=named)
            )
        try:
            patch = self.kinds.showing(current.settings, chosen)
        except Invalid as exc:
            raise Conflict(exc.text) from None
        robot = await self.update(robot_id, RobotPatch(settings=patch))
        await self.store.forget_ignored(robot_id, sorted({item.event for item in chosen}))
        return robot

    async def rotate_token(self, robot_id: int) -> Robot:
        """A new access token; the old webhook URL stops working at once."""
        return await self._save(await self.get(robot_id), {"access_token": generate_token()})

    async def rotate_secret(self, robot_id: int) -> Robot:
        """A new signing secret (turns signing on if it was off)."""
        return await self._save(await self.get(robot_id), {"secret": generate_secret()})

    async def set_enabled(self, robot_id: int, enabled: bool) -> Robot:
        return await self._save(await self.get(robot_id), {"enabled": enabled})

    async def delete(self, robot_id: int) -> None:
        await self.store.delete_robot(robot_id)
        await self.on_change(robot_id)

    # -- rules -----------------------------------------------------------------------------

    def _settings(self, robot: Robot, patch: Mapping[str, Any]) -> dict[str, Any]:
        """The robot's settings with ``patch`` applied, checked for its kind."""
        merged = merge_settings(robot.settings, patch)
        try:
            owned = self.kinds.owned(robot.kind)
            foreign = {k: v for k, v in patch.items() if v is not None and k not in owned}
            # Keys foreign to the kind are checked with what the robot keeps (a template robot
            # keeps its template); with none, the robot must still be whole without them.
            # (its stored template, already checked: a new one's value is checked below).
            stored = robot.settings.get("template")
            kept = {"template": stored} if stored and merged.get("template") else {}
            self.kinds.check(robot.kind, {**kept, **foreign})
        except Invalid as exc:
            raise Conflict(exc.text) from None
        return self.kinds.check(robot.kind, merged)

    async def _upstream(self, upstream: Upstream | None, own_token: str) -> Upstream | None:
        if upstream is None:
            return None
        upstream = check_upstream(upstream)
        await self.check_upstream_address(upstream.url)  # where it points, first
        check_upstream(upstream, own_token)  # then whether it is the robot's own webhook
        await self._check_relay_loop(own_token, upstream)
        return upstream

    async def _outgoing(self, outgoing: Outgoing | None) -> Outgoing | None:
        if outgoing is None:
            return None
        outgoing = check_outgoing_settings(outgoing)
        await self.check_outgoing_address(outgoing.url)
        return outgoing

    async def _check_relay_loop(self, own_token: str, upstream: Upstream) -> None:
        """Refuse an upstream that leads, through robots of this Gong, back to the robot."""
        token = upstream_token(upstream.url)
        for _ in range(MAX_RELAY_CHAIN):
            if token is None:
                return
            if hmac.compare_digest(token.encode(), own_token.encode()):
                raise Invalid(core.lazy("this upstream relays back to the robot itself: a loop"))
            following = await self.store.robot_by_token(token)
            next_hop = None if following is None else following.upstream
            token = None if next_hop is None else upstream_token(next_hop.url)
        raise Invalid(core.lazy("the relay chain of this upstream is too long"))

    async def _save(self, current: Robot, changes: dict[str, Any]) -> Robot:
        robot = dataclasses.replace(current, updated_at=self.clock.now_ms(), **changes)
        saved = await self.store.save_robot(robot, tuple(changes))
        await self.on_change(saved.id)
        return saved
