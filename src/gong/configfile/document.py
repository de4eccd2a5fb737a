"""The file ``gong apply`` reads: its shape, read with the line and column of every value.

The shape follows the management API: a group's settings are those of ``GroupPatch``, a member
is a ``MemberIn``, a robot a ``RobotIn`` (:mod:`gong.web.api.schemas`), so a field has the same
name and the same rules in the file as in a request. Unknown keys are faults.

Secrets are never written in the file: ``source_secret``, ``upstream.secret``,
``outgoing.token`` and ``password`` hold a reference, ``${VARIABLE}``, to an environment
variable (:data:`SECRET_FIELDS`); the upstream and outgoing URLs may too, since a DingTalk
upstream URL carries its robot's token. Everything else is taken literally.

Every fault is a :class:`Problem` naming the file, line, column and field at fault; a file with
any fault is refused whole (:class:`FileErrors`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from yaml.constructor import ConstructorError, SafeConstructor

from gong.i18n import Text, core
from gong.web.api.schemas import GroupPatch, MemberIn, Name, RobotIn

__all__ = [
    "SECRET_FIELDS",
    "AccountEntry",
    "ConfigFile",
    "Document",
    "FileErrors",
    "GroupEntry",
    "Path",
    "Problem",
    "field_name",
    "parse",
    "reference",
]

#: Where a value stands in the file: keys and list indexes from the top.
Path = tuple[str | int, ...]

#: ``${NAME}``: a value read from the environment variable ``NAME``.
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The fields that hold secrets (after a robot's path, or an account's): always references.
SECRET_FIELDS: frozenset[tuple[str, ...]] = frozenset(
    {("settings", "source_secret"), ("upstream", "secret"), ("outgoing", "token"), ("password",)}
)
#: Fields that may be references (they can carry a token) but need not be.
_MAY_REFER: frozenset[tuple[str, ...]] = frozenset({("upstream", "url"), ("outgoing", "url")})
#: The deepest nesting read (a file is a few levels deep; this stops alias bombs).
_MAX_DEPTH = 32


def reference(name: str) -> str:
    """How the file writes the value of the environment variable ``name``."""
    return "${" + name + "}"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupEntry(GroupPatch):
    """A group, named: its settings (as ``PATCH /api/groups/{id}`` takes them; left out: the
    default), its members and its robots."""

    name: Name
    members: list[MemberIn] = Field(default_factory=list)
    robots: list[RobotIn] = Field(default_factory=list)


class AccountEntry(_Entry):
    """A web app account: ``members`` are ``"<group name>:<mobile or userId>"``; ``password``
    (a reference) is used only when the account is created."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    admin: StrictBool = False
    password: str | None = None
    members: list[Annotated[str, Field(min_length=3, max_length=400)]] = Field(default_factory=list)


class ConfigFile(_Entry):
    groups: list[GroupEntry] = Field(default_factory=list)
    accounts: list[AccountEntry] = Field(default_factory=list)


def field_name(path: Path) -> str:
    """``groups[0].robots[1].keywords``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault of the file: where it is, the field at fault, and what is wrong."""

    file: str
    line: int
    column: int
    field: str
    message: str | Text

    def _text(self, message: str) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {message}" if self.field else f"{where}: {message}"

    def __str__(self) -> str:
        return self._text(str(self.message))

    def translated(self) -> str:
        """The problem in the language in effect."""
        message = self.message
        return self._text(message.translated() if isinstance(message, Text) else message)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": str(self.message),
        }


class FileErrors(Exception):
    """The file has faults; nothing was changed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class _Mark:
    line: int
    column: int


@dataclass(slots=True)
class Document:
    """A file read and checked: the configuration, where each value stands, and which values
    were read from which environment variables."""

    config: ConfigFile
    file: str
    marks: dict[Path, _Mark] = field(default_factory=dict)
    #: The mark of each mapping key (for a key that is not allowed).
    key_marks: dict[Path, _Mark] = field(default_factory=dict)
    #: The variable each referenced value was read from.
    references: dict[Path, str] = field(default_factory=dict)

    def problem(self, path: Path, message: str | Text, *, at_key: bool = False) -> Problem:
        """A fault at ``path`` (or at the nearest value around it that the file has)."""
        mark = self.key_marks.get(path) if at_key else None
        shown = path
        while mark is None:
            mark = self.marks.get(shown)
            if mark is None and not shown:
                mark = _Mark(1, 1)
            elif mark is None:
                shown = shown[:-1]
        return Problem(self.file, mark.line, mark.column, field_name(path), message)


def parse(text: str, file: str, environ: Mapping[str, str]) -> Document:
    """Read a configuration file: YAML, then its secrets from ``environ``, then its shape.

    Raises:
        FileErrors: every fault found, each with its line.
    """
    document = Document(ConfigFile(), file)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _Mark(mark.line + 1, mark.column + 1) if mark else _Mark(1, 1)
        said = exc.problem or exc.context or "not YAML"
        if exc.problem and exc.context:
            said = f"{exc.problem} ({exc.context})"
        problem = Problem(file, where.line, where.column, "", said)
        raise FileErrors([problem]) from None
    except yaml.YAMLError as exc:  # not text a YAML reader takes (a control character)
        raise FileErrors([Problem(file, 1, 1, "", str(exc))]) from None
    problems: list[Problem] = []
    data = {} if node is None else _Reader(document, problems).read(node, ())
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            document.problem((), core.lazy("the file is a mapping: groups and accounts"))
        )
    if problems:
        raise FileErrors(problems)
    _resolve(document, data, environ, problems)
    try:
        document.config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_located(document, data, exc))
    if not problems:
        problems.extend(_consistency(document))
    if problems:
        raise FileErrors(sorted(problems, key=lambda p: (p.line, p.column)))
    return document


class _Reader:
    """YAML nodes to plain data, remembering where each value stands."""

    def __init__(self, document: Document, problems: list[Problem]) -> None:
        self.document = document
        self.problems = problems
        self.constructor = SafeConstructor()

    def read(self, node: yaml.Node, path: Path) -> Any:
        mark = _Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        self.document.marks[path] = mark
        if len(path) > _MAX_DEPTH:
            self.problems.append(self.document.problem(path, core.lazy("nested too deeply")))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, (*path, index)) for index, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            self.problems.append(self.document.problem(path, str(exc.problem)))
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        try:
            self.constructor.flatten_mapping(node)  # merge keys (<<)
        except ConstructorError as exc:
            self.problems.append(self.document.problem(path, str(exc.problem)))
            return {}
        found: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                key = str(key)
            where = (*path, key)
            self.document.key_marks[where] = _Mark(
                key_node.start_mark.line + 1, key_node.start_mark.column + 1
            )
            if key in found:
                self.problems.append(
                    self.document.problem(
                        where, core.lazy("%(key)s is given twice", key=key), at_key=True
                    )
                )
            found[key] = self.read(value_node, where)
        return found


def _robot_paths(data: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """Each robot entry of the data that is a mapping, with its path."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for gi, group in enumerate(_items(data.get("groups"))):
        if isinstance(group, dict):
            for ri, robot in enumerate(_items(group.get("robots"))):
                if isinstance(robot, dict):
                    found.append((("groups", gi, "robots", ri), robot))
    return found


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _resolve(
    document: Document, data: dict[str, Any], environ: Mapping[str, str], problems: list[Problem]
) -> None:
    """Put each referenced variable's value in place of its reference, and refuse a secret
    written out."""
    holders: list[tuple[Path, dict[str, Any]]] = _robot_paths(data)
    for ai, account in enumerate(_items(data.get("accounts"))):
        if isinstance(account, dict):
            holders.append((("accounts", ai), account))
    for base, entry in holders:
        for inner in (*SECRET_FIELDS, *_MAY_REFER):
            *parents, last = inner
            holder: Any = entry
            for part in parents:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if not isinstance(holder, dict) or last not in holder:
                continue
            value = holder[last]
            path = (*base, *inner)
            if value is None or (value == "" and inner == ("upstream", "secret")):
                continue  # none: no secret to write
            match = _REFERENCE.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                if inner in SECRET_FIELDS:
                    problems.append(
                        document.problem(
                            path,
                            core.lazy(
                                "a secret is not written in the file: write ${VARIABLE} and set "
                                "the environment variable"
                            ),
                        )
                    )
                continue
            name = match.group(1)
            if name not in environ:
                problems.append(
                    document.problem(
                        path, core.lazy("the environment variable %(name)s is not set", name=name)
                    )
                )
                continue
            holder[last] = environ[name]
            document.references[path] = name


def _located(document: Document, data: Any, error: ValidationError) -> list[Problem]:
    """Pydantic's errors at the lines of the values at fault."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        path: Path = ()
        value = data
        loc = item["loc"]
        for index, part in enumerate(loc):
            if _has(value, part):
                value = value[part]
            elif index < len(loc) - 1:
                continue  # a union's branch name: not in the file
            path = (*path, part)  # the last: a key left out
        kind = item["type"]
        message: str | Text = str(item["msg"])
        if kind == "extra_forbidden":
            key = str(path[-1]) if path else ""
            message = core.lazy("%(key)s is not a known key here", key=key)
            problems.append(document.problem(path, message, at_key=True))
            continue
        if kind == "missing":
            message = core.lazy("required")
        elif kind == "string_type" and isinstance(value, int | float | bool):
            message = core.lazy('text is expected: write it in quotes, "%(value)s"', value=value)
        problems.append(document.problem(path, message))
    return problems


def _has(value: Any, part: str | int) -> bool:
    """Whether ``value[part]`` is in the file."""
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def _consistency(document: Document) -> list[Problem]:
    """What no single entry shows: two entries naming the same thing, a link that is not
    ``group:member``."""
    problems: list[Problem] = []
    config = document.config

    def twice(path: Path, what: str | Text) -> None:
        problems.append(document.problem(path, core.lazy("%(what)s is named twice", what=what)))

    groups: set[str] = set()
    for gi, group in enumerate(config.groups):
        name = group.name.strip()
        if name in groups:
            twice(("groups", gi, "name"), core.lazy("group %(name)s", name=name))
        groups.add(name)
        mobiles: set[str] = set()
        user_ids: set[str] = set()
        for mi, member in enumerate(group.members):
            mobile = (member.mobile or "").strip()
            user_id = (member.userId or "").strip()
            if mobile and mobile in mobiles:
                twice(
                    ("groups", gi, "members", mi, "mobile"),
                    core.lazy("mobile %(mobile)s", mobile=mobile),
                )
            if user_id and user_id in user_ids:
                twice(
                    ("groups", gi, "members", mi, "userId"), core.lazy("userId %(id)s", id=user_id)
                )
            mobiles.add(mobile)
            user_ids.add(user_id)
        robots: set[str] = set()
        for ri, robot in enumerate(group.robots):
            name = robot.name.strip()
            if name in robots:
                twice(("groups", gi, "robots", ri, "name"), core.lazy("robot %(name)s", name=name))
            robots.add(name)
    usernames: set[str] = set()
    for ai, account in enumerate(config.accounts):
        username = account.username.strip().lower()
        if username in usernames:
            twice(("accounts", ai, "username"), core.lazy("account %(name)s", name=username))
        usernames.add(username)
        for li, link in enumerate(account.members):
            group_name, colon, key = link.rpartition(":")
            if not colon or not group_name.strip() or not key.strip():
                problems.append(
                    document.problem(
                        ("accounts", ai, "members", li),
                        core.lazy(
                            'a link is written "<group name>:<mobile or userId>", got %(link)r',
                            link=link,
                        ),
                    )
                )
    return problems
