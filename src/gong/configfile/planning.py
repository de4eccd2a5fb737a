"""What applying a file changes: the file compared, field by field, with what is stored.

The comparison is a rehearsal (:mod:`gong.configfile.rehearsal`): each entry is created or
changed by the real services over in-memory stores, so every rule is checked and every value is
cleaned exactly as applying it would; an entry whose rehearsed record equals the stored one is
left alone. Records are found by name: groups by their name, members by mobile, else userId,
else name within their group, robots by name within their group, accounts by username.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gong.administration import Administration
from gong.configfile.changes import (
    Action,
    AddMember,
    Change,
    CreateAccount,
    CreateGroup,
    CreateRobot,
    DeleteAccount,
    DeleteRobot,
    FieldChange,
    Link,
    Plan,
    RemoveMember,
    ReplaceMember,
    Step,
    Unlink,
    UpdateAccount,
    UpdateGroup,
    UpdateRobot,
)
from gong.configfile.document import (
    SECRET_FIELDS,
    AccountEntry,
    Document,
    FileErrors,
    GroupEntry,
    Path,
    Problem,
    reference,
)
from gong.configfile.rehearsal import rehearse
from gong.domain.errors import GongError, Invalid
from gong.domain.groups import Groups
from gong.domain.models import Group, Member, Robot
from gong.domain.robot_admin import Robots
from gong.domain.specs import RobotPatch, RobotSpec
from gong.domain.users import User, check_password, clean_username
from gong.i18n import Text, core
from gong.redact import redact
from gong.storage.accounts import Accounts
from gong.web.api.schemas import IntegrationSettingsIn, MemberIn, RobotIn

__all__ = ["MASK", "plan"]

#: How a stored secret is shown.
MASK = "***"
#: The settings a file names: the integration settings (other features' keys pass through).
SETTING_KEYS = frozenset(IntegrationSettingsIn.model_fields)
_URL_FIELDS = frozenset({("upstream", "url"), ("outgoing", "url")})


async def plan(
    admin: Administration, accounts: Accounts, document: Document, *, prune: bool
) -> Plan:
    """The changes that make the database say what ``document`` says; nothing is written.

    ``prune`` also removes what the file does not name: groups are dissolved (as the
    management API does), members, robots, accounts and account links are deleted.

    Raises:
        FileErrors: an entry that the services refuse, or that cannot be told apart, each with
            its line.
    """
    groups, robots = rehearse(admin)
    return await _Planner(document, groups, robots, accounts, prune).run()


def _group_facts(group: Group) -> dict[str, Any]:
    return {
        "timezone": group.timezone or "",
        "retention_days": group.retention_days or 0,
        "retention_count": group.retention_count or 0,
        "dissolved": group.dissolved,
    }


def _member_facts(member: Member) -> dict[str, Any]:
    return {"name": member.name, "mobile": member.mobile, "userId": member.user_id}


def _robot_facts(robot: Robot) -> dict[str, Any]:
    """A robot's settings by their names in the file (``rate_limit.limit``), as JSON values."""
    facts: dict[str, Any] = {
        "kind": str(robot.kind),
        "keywords": list(robot.keywords),
        "signing": robot.secret is not None,
        "ip_allow": list(robot.ip_allow),
        "rate_limit.limit": robot.rate_limit.limit,
        "rate_limit.window_s": robot.rate_limit.window_s,
        "rate_limit.block_s": robot.rate_limit.block_s,
        "overflow": str(robot.overflow),
        "avatar_url": robot.avatar_url,
        "enabled": robot.enabled,
    }
    for key in sorted(robot.settings):
        if key in SETTING_KEYS and robot.settings[key] is not None:
            facts[f"settings.{key}"] = robot.settings[key]
    for name, target in (("upstream", robot.upstream), ("outgoing", robot.outgoing)):
        if target is not None:
            facts.update((f"{name}.{k}", v) for k, v in target.to_settings().items())
    facts["dedupe_window_s"] = robot.dedupe_window_s
    facts["mention_labels"] = list(robot.mention_labels)
    return facts


def _full_patch(spec: RobotSpec, current: Robot) -> RobotPatch:
    """Every setting of ``spec`` as a change to ``current``: what the file leaves out returns
    to its default, an integration setting it leaves out is removed."""
    settings = dict(spec.settings)
    for key in current.settings:
        if key in SETTING_KEYS and key not in settings:
            settings[key] = None
    return RobotPatch(
        keywords=spec.keywords,
        signing=spec.signing,
        ip_allow=spec.ip_allow,
        rate_limit=spec.rate_limit,
        overflow=spec.overflow,
        avatar_url=spec.avatar_url,
        enabled=spec.enabled,
        settings=settings,
        upstream=spec.upstream,
        clear_upstream=spec.upstream is None,
        outgoing=spec.outgoing,
        clear_outgoing=spec.outgoing is None,
        dedupe_window_s=spec.dedupe_window_s,
        mention_labels=spec.mention_labels,
    )


def _patch_of(full: RobotPatch, changed: Iterable[str]) -> RobotPatch:
    """The part of ``full`` that changes these facts (a robot's other settings are not
    saved again)."""
    given: dict[str, Any] = {}
    for fact in changed:
        top, _dot, key = fact.partition(".")
        if top == "settings":
            given.setdefault("settings", {})[key] = (full.settings or {}).get(key)
        elif top in ("upstream", "outgoing"):
            given[top] = getattr(full, top)
            given[f"clear_{top}"] = getattr(full, f"clear_{top}")
        else:
            given[top] = getattr(full, top)
    return RobotPatch(**given)


class _Planner:
    def __init__(
        self,
        document: Document,
        groups: Groups,
        robots: Robots,
        accounts: Accounts,
        prune: bool,
    ) -> None:
        self.document = document
        self.groups = groups
        self.robots = robots
        self.accounts = accounts
        self.prune = prune
        self.changes: list[Change] = []
        self.problems: list[Problem] = []
        #: The file's groups by name, as rehearsed.
        self.named: dict[str, Group] = {}
        #: A stored member's id → the id of the member the file makes of it (a new one when
        #: it is added again, changed or not, in the rehearsal).
        self.successor: dict[int, int] = {}
        #: The rehearsed id of a member that is not changed → its stored id.
        self.unchanged: dict[int, int] = {}
        #: Stored members the run removes.
        self.removed: set[int] = set()

    # -- bookkeeping ---------------------------------------------------------------------------

    def fault(self, path: Path, message: str | Text) -> None:
        self.problems.append(self.document.problem(path, message))

    def add(
        self, action: Action, subject: str, name: str, fields: Iterable[FieldChange], step: Step
    ) -> None:
        self.changes.append(Change(action, subject, name, tuple(fields), step))

    def shown(self, base: Path, fact: str, value: Any, *, new: bool) -> Any:
        """A value for the diff: a secret as the reference the file gives (or ``***``), a URL
        with its tokens shortened."""
        inner = tuple(fact.split("."))
        if inner not in SECRET_FIELDS and inner not in _URL_FIELDS:
            return value
        if value is None or value == "":
            return None
        name = self.document.references.get((*base, *inner)) if new else None
        if name is not None:
            return reference(name)
        return MASK if inner in SECRET_FIELDS else redact(str(value))

    def diff(
        self, old: Mapping[str, Any], new: Mapping[str, Any], base: Path = ()
    ) -> list[FieldChange]:
        names = [*old, *(k for k in new if k not in old)]
        fields = [
            FieldChange(
                name,
                self.shown(base, name, old.get(name), new=False),
                self.shown(base, name, new.get(name), new=True),
            )
            for name in names
            if old.get(name) != new.get(name)
        ]
        # A relay or callback target that goes is one line: its URL, then none.
        for target in ("upstream", "outgoing"):
            url = f"{target}.url"
            if url in old and url not in new:
                gone = [f for f in fields if f.field.startswith(f"{target}.")]
                at = fields.index(gone[0])
                fields = [f for f in fields if f not in gone]
                fields.insert(
                    at, FieldChange(target, self.shown(base, url, old[url], new=False), None)
                )
        return fields

    # -- the whole file ------------------------------------------------------------------------

    async def run(self) -> Plan:
        stored = await self.groups.list()
        by_name: dict[str, list[Group]] = defaultdict(list)
        for group in stored:
            by_name[group.name].append(group)
        config = self.document.config
        for gi, entry in enumerate(config.groups):
            await self._group(("groups", gi), entry, by_name.get(entry.name.strip(), []))
        if self.prune:
            named = {entry.name.strip() for entry in config.groups}
            for group in stored:
                if group.name not in named and not group.dissolved:
                    await self.groups.update(group.id, dissolved=True)
                    self.add(
                        Action.DELETE,
                        "group",
                        group.name,
                        [FieldChange("dissolved", False, True)],
                        UpdateGroup(group.id, {"dissolved": True}),
                    )
        await self._accounts(by_name)
        if self.problems:
            raise FileErrors(sorted(self.problems, key=lambda p: (p.line, p.column)))
        return Plan(tuple(self.changes))

    # -- groups --------------------------------------------------------------------------------

    async def _group(self, path: Path, entry: GroupEntry, found: list[Group]) -> None:
        name = entry.name.strip()
        if len(found) > 1:
            ids = ", ".join(str(g.id) for g in found)
            self.fault(
                (*path, "name"),
                core.lazy(
                    "groups %(ids)s are all called %(name)s: rename all but one first",
                    ids=ids,
                    name=name,
                ),
            )
            return
        settings: dict[str, Any] = {
            "timezone": entry.timezone or "",
            "retention_days": entry.retention_days or 0,
            "retention_count": entry.retention_count or 0,
        }
        try:
            if found:
                group = await self._change_group(name, found[0], settings, entry.dissolved)
            else:
                group = await self._create_group(name, settings)
        except GongError as exc:
            self.fault(path, exc.text)
            # Its members and robots are still checked, in the group as it is (or new).
            group = found[0] if found else await self.groups.create(name)
        self.named[name] = group
        await self._members(path, name, group, entry.members)
        await self._robots(path, name, group, entry.robots)
        if entry.dissolved and not group.dissolved:
            await self.groups.update(group.id, dissolved=True)
            self.add(
                Action.CHANGE,
                "group",
                name,
                [FieldChange("dissolved", False, True)],
                UpdateGroup(group.id, {"dissolved": True}),
            )

    async def _create_group(self, name: str, settings: dict[str, Any]) -> Group:
        made = await self.groups.create(name)
        group = await self.groups.update(made.id, **settings)
        fields = self.diff(_group_facts(made), _group_facts(group))
        given = {k: v for k, v in settings.items() if k in {f.field for f in fields}}
        self.add(Action.CREATE, "group", name, fields, CreateGroup(made.id, name, given))
        return group

    async def _change_group(
        self, name: str, current: Group, settings: dict[str, Any], dissolved: bool | None
    ) -> Group:
        restore = current.dissolved and not dissolved
        group = await self.groups.update(
            current.id, **settings, dissolved=False if restore else None
        )
        fields = self.diff(_group_facts(current), _group_facts(group))
        if fields:
            changed = {f.field for f in fields}
            given = {k: v for k, v in settings.items() if k in changed}
            if restore:
                given["dissolved"] = False
            self.add(Action.CHANGE, "group", name, fields, UpdateGroup(current.id, given))
        return group

    # -- members -------------------------------------------------------------------------------

    async def _members(
        self, path: Path, group_name: str, group: Group, entries: list[MemberIn]
    ) -> None:
        stored = await self.groups.members(group.id)
        matched: dict[int, Member] = {}
        for mi, entry in enumerate(entries):
            found = _match(entry, stored, {m.id for m in matched.values()})
            if found is not None:
                matched[mi] = found
        if self.prune:
            kept = {m.id for m in matched.values()}
            for member in stored:
                if member.id not in kept:
                    await self.groups.remove_member(member.id)
                    self.removed.add(member.id)
                    self.add(
                        Action.DELETE,
                        "member",
                        f"{group_name}/{member.name}",
                        [],
                        RemoveMember(member.id),
                    )
        for mi, entry in enumerate(entries):
            try:
                await self._member(group_name, group, entry, matched.get(mi))
            except GongError as exc:
                self.fault((*path, "members", mi), exc.text)

    async def _member(
        self, group_name: str, group: Group, entry: MemberIn, current: Member | None
    ) -> None:
        if current is not None:
            await self.groups.remove_member(current.id)
        member = await self.groups.add_member(
            group.id, name=entry.name, mobile=entry.mobile, user_id=entry.userId
        )
        step = (member.id, group.id, entry.name, entry.mobile, entry.userId)
        if current is None:
            fields = self.diff({}, _member_facts(member))
            self.add(
                Action.CREATE, "member", f"{group_name}/{member.name}", fields, AddMember(*step)
            )
            return
        self.successor[current.id] = member.id
        fields = self.diff(_member_facts(current), _member_facts(member))
        if not fields:
            self.unchanged[member.id] = current.id
            return
        self.add(
            Action.CHANGE,
            "member",
            f"{group_name}/{current.name}",
            fields,
            ReplaceMember(current.id, *step),
        )

    # -- robots --------------------------------------------------------------------------------

    async def _robots(
        self, path: Path, group_name: str, group: Group, entries: list[RobotIn]
    ) -> None:
        stored = await self.robots.list(group.id)
        by_name: dict[str, list[Robot]] = defaultdict(list)
        for robot in stored:
            by_name[robot.name].append(robot)
        if self.prune:
            named = {entry.name.strip() for entry in entries}
            for robot in stored:
                if robot.name not in named:
                    await self.robots.delete(robot.id)
                    self.add(
                        Action.DELETE,
                        "robot",
                        f"{group_name}/{robot.name}",
                        [],
                        DeleteRobot(robot.id),
                    )
        for ri, entry in enumerate(entries):
            where = (*path, "robots", ri)
            found = by_name.get(entry.name.strip(), [])
            if len(found) > 1:
                ids = ", ".join(str(r.id) for r in found)
                self.fault(
                    (*where, "name"),
                    core.lazy(
                        "robots %(ids)s of group %(group)s are all called %(name)s: rename all "
                        "but one first",
                        ids=ids,
                        group=group_name,
                        name=entry.name.strip(),
                    ),
                )
                continue
            try:
                if found:
                    await self._change_robot(where, group_name, found[0], entry)
                else:
                    await self._create_robot(where, group_name, group, entry)
            except GongError as exc:
                self.fault(where, exc.text)

    async def _create_robot(
        self, where: Path, group_name: str, group: Group, entry: RobotIn
    ) -> None:
        spec = entry.to_spec(group.id)
        robot = await self.robots.create(spec)
        given = entry.model_fields_set - {"name"}
        facts = {k: v for k, v in _robot_facts(robot).items() if k.split(".")[0] in given}
        self.add(
            Action.CREATE,
            "robot",
            f"{group_name}/{robot.name}",
            self.diff({}, facts, where),
            CreateRobot(robot.id, group_name, spec),
        )

    async def _change_robot(
        self, where: Path, group_name: str, current: Robot, entry: RobotIn
    ) -> None:
        if entry.kind is not current.kind:
            self.fault(
                (*where, "kind"),
                core.lazy(
                    "robot %(name)s is of kind %(kind)s, and a robot's kind cannot change: "
                    "delete it first, or give the new robot another name",
                    name=current.name,
                    kind=current.kind,
                ),
            )
            return
        full = _full_patch(entry.to_spec(current.group_id), current)
        robot = await self.robots.update(current.id, full)
        fields = self.diff(_robot_facts(current), _robot_facts(robot), where)
        if fields:
            patch = _patch_of(full, (f.field for f in fields))
            name = f"{group_name}/{current.name}"
            self.add(Action.CHANGE, "robot", name, fields, UpdateRobot(current.id, patch))

    # -- accounts ------------------------------------------------------------------------------

    def _same(self, stored: Member, member: Member) -> bool:
        """Whether ``member`` (rehearsed) is the stored member, changed or not."""
        return member.id in (stored.id, self.successor.get(stored.id))

    def _stored_id(self, member: Member) -> int | None:
        if member.id > 0:
            return member.id
        return next((old for old, new in self.successor.items() if new == member.id), None)

    def _group_named(
        self, name: str, stored: Mapping[str, list[Group]], path: Path
    ) -> Group | None:
        if name in self.named:
            return self.named[name]
        found = stored.get(name, [])
        if len(found) == 1:
            return found[0]
        if found:
            ids = ", ".join(str(g.id) for g in found)
            message = core.lazy(
                "groups %(ids)s are all called %(name)s: rename all but one first",
                ids=ids,
                name=name,
            )
        else:
            message = core.lazy("there is no group called %(name)s", name=name)
        self.fault(path, message)
        return None

    async def _links(
        self, ai: int, entry: AccountEntry, stored: Mapping[str, list[Group]]
    ) -> dict[int, tuple[Member, str, Path]]:
        """The members the account is to be linked to, by group id."""
        wanted: dict[int, tuple[Member, str, Path]] = {}
        for li, text in enumerate(entry.members):
            path: Path = ("accounts", ai, "members", li)
            group_name, _colon, key = text.rpartition(":")
            group = self._group_named(group_name.strip(), stored, path)
            if group is None:
                continue
            key = key.strip()
            members = await self.groups.members(group.id)
            member = next((m for m in members if key in (m.mobile, m.user_id)), None)
            if member is None:
                self.fault(
                    path,
                    core.lazy(
                        "group %(group)s has no member with mobile or userId %(key)r",
                        group=group.name,
                        key=key,
                    ),
                )
            elif group.id in wanted:
                self.fault(
                    path,
                    core.lazy(
                        "an account has at most one member in each group: %(group)s is named twice",
                        group=group.name,
                    ),
                )
            else:
                wanted[group.id] = (member, group.name, path)
        return wanted

    async def _accounts(self, stored_groups: Mapping[str, list[Group]]) -> None:
        """Accounts: deleted (prune), unlinked, created or changed, then linked; a member
        keeps at most one account, so links go before others are made."""
        users = {user.username: user for user in await self.accounts.list_users()}
        links = {
            u.id: {m.group_id: m for m in await self.accounts.members_of(u.id)}
            for u in users.values()
        }
        holders = {m.id: user for user in users.values() for m in links[user.id].values()}
        names = {g.id: g.name for gs in stored_groups.values() for g in gs}
        accounts: list[_Account] = []
        for ai, entry in enumerate(self.document.config.accounts):
            try:
                username = clean_username(entry.username)
            except Invalid as exc:
                self.fault(("accounts", ai, "username"), exc.text)
                continue
            stored = users.get(username)
            wanted = await self._links(ai, entry, stored_groups)
            linked = links[stored.id] if stored else {}
            accounts.append(_Account(ai, username, stored, entry, linked, wanted))
        freed: set[int] = set()  # stored members whose link goes
        if self.prune:
            named = {account.username for account in accounts}
            for username, user in users.items():
                if username not in named:
                    self.add(Action.DELETE, "account", username, [], DeleteAccount(user.id))
                    freed.update(m.id for m in links[user.id].values())
        for account in accounts:
            freed.update(self._unlinks(account, names))
        for account in accounts:
            self._account(account)
        for account in accounts:
            self._new_links(account, holders, freed)

    def _unlinks(self, account: _Account, names: Mapping[int, str]) -> list[int]:
        """Unlink what the account is to be linked to no more (pruning: what the file leaves
        out); returns the stored members unlinked."""
        unlinked = []
        for group_id, linked in account.linked.items():
            want = account.wanted.get(group_id)
            keep = want is not None and self._same(linked, want[0])
            if keep or (want is None and not self.prune) or linked.id in self.removed:
                continue
            unlinked.append(linked.id)
            shown = f"{account.username} → {names.get(group_id, group_id)}/{linked.name}"
            self.add(Action.DELETE, "link", shown, [], Unlink(linked.id))
        return unlinked

    def _new_links(self, account: _Account, holders: Mapping[int, User], freed: set[int]) -> None:
        for group_id, (member, group_name, path) in account.wanted.items():
            linked = account.linked.get(group_id)
            if linked is not None and self._same(linked, member):
                continue
            stored_id = self._stored_id(member)
            holder = None if stored_id is None else holders.get(stored_id)
            taken = holder is not None and holder.username != account.username
            if holder is not None and taken and stored_id not in freed:
                self.fault(
                    path,
                    core.lazy(
                        "member %(member)s of group %(group)s is linked to account "
                        "%(other)s: unlink it there first",
                        member=member.name,
                        group=group_name,
                        other=holder.username,
                    ),
                )
                continue
            step = Link(account.username, self.unchanged.get(member.id, member.id))
            shown = f"{account.username} → {group_name}/{member.name}"
            self.add(Action.CREATE, "link", shown, [], step)

    def _account(self, account: _Account) -> None:
        stored, entry, username = account.stored, account.entry, account.username
        if stored is not None:
            if stored.is_admin != entry.admin:
                fields = [FieldChange("admin", stored.is_admin, entry.admin)]
                change = UpdateAccount(stored.id, entry.admin)
                self.add(Action.CHANGE, "account", username, fields, change)
            return
        if entry.password is None:
            self.fault(
                ("accounts", account.ai),
                core.lazy(
                    "the account %(name)s is new: give its password as password: ${VARIABLE}",
                    name=username,
                ),
            )
            return
        try:
            check_password(entry.password)
        except Invalid as exc:
            self.fault(("accounts", account.ai, "password"), exc.text)
            return
        fields = [FieldChange("admin", None, True)] if entry.admin else []
        password = self.shown(("accounts", account.ai), "password", entry.password, new=True)
        fields.append(FieldChange("password", None, password))
        step = CreateAccount(username, entry.password, entry.admin)
        self.add(Action.CREATE, "account", username, fields, step)


@dataclass(frozen=True, slots=True)
class _Account:
    """An account the file names: as stored (if it is), its links now and as the file wants
    them (by group id: the member, its group's name, where the file names it)."""

    ai: int
    username: str
    stored: User | None
    entry: AccountEntry
    linked: dict[int, Member]
    wanted: dict[int, tuple[Member, str, Path]]


def _match(entry: MemberIn, stored: list[Member], taken: set[int]) -> Member | None:
    """The stored member an entry names: by mobile, else userId, else name."""
    mobile = (entry.mobile or "").strip()
    user_id = (entry.userId or "").strip()
    for member in stored:
        if member.id in taken:
            continue
        if mobile:
            if member.mobile == mobile:
                return member
        elif user_id:
            if member.user_id == user_id:
                return member
        elif member.name == entry.name.strip():
            return member
    return None
