"""Every limit is stated once, in ``gong.protocol.limits``; the rest of the code refers to it.

The body limit is the one most often restated, so its number is looked for everywhere in the
source: as a literal in code or comments (``20000``, ``20_000``) and, in strings the code uses at
run time, also as people write it (``20 000``). Only the errcode catalogue, which quotes
DingTalk's wire strings, and a few unrelated numbers that happen to be equal may hold it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import gong
from gong.domain.models import RateLimit, Upstream
from gong.protocol import limits
from gong.protocol.errors import Errors

SRC = Path(gong.__file__).parent

#: Where the number may be written: the limits themselves, DingTalk's wire strings.
_OWNERS = {"protocol/limits.py", "protocol/errors.py"}
#: Other uses of the same number, which are not the body limit (file, the line's content).
_UNRELATED = {
    ("web/factory.py", "GC_THRESHOLD = (20_000, 20, 20)"),
    ("storage/changefeed.py", "BATCH = 20_000"),
}
_LITERAL = re.compile(r"(?<![\d_.])20_?000(?![\d_])")
_WRITTEN = re.compile(r"(?<![\d_.])20[ ,\u202f]?000(?![\d_])")


def _sources() -> list[tuple[str, str]]:
    found = [(path.relative_to(SRC).as_posix(), path.read_text()) for path in SRC.rglob("*.py")]
    return sorted((name, text) for name, text in found if name not in _OWNERS)


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module and its classes and functions."""
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and ast.get_docstring(node, clean=False) is not None
        and isinstance(node.body[0], ast.Expr)
    }


def test_the_body_limit_is_written_only_in_the_limits() -> None:
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, text in _sources()
        for number, line in enumerate(text.splitlines(), 1)
        if _LITERAL.search(line) and (name, line.strip()) not in _UNRELATED
    ]
    assert not found, "state the body limit as gong.protocol.limits.MAX_BODY_BYTES:\n" + "\n".join(
        found
    )


def test_no_runtime_text_spells_the_body_limit_out() -> None:
    found = []
    for name, text in _sources():
        tree = ast.parse(text)
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in docstrings:
                value = node.value
                if (isinstance(value, int | float) and value == limits.MAX_BODY_BYTES) or (
                    isinstance(value, str) and _WRITTEN.search(value)
                ):
                    line = text.splitlines()[node.lineno - 1].strip()
                    if (name, line) not in _UNRELATED:
                        found.append(f"{name}:{node.lineno}: {line}")
    assert not found, "\n".join(found)


def test_each_limit_is_defined_only_in_the_limits() -> None:
    definition = re.compile(
        r"^\s*(" + "|".join(map(re.escape, limits.__all__)) + r")\s*(?::[^=]*)?=(?!=)", re.M
    )
    found = [
        f"{name}: {match.group(0).strip()}"
        for name, text in _sources()
        for match in definition.finditer(text)
    ]
    assert not found, "\n".join(found)


def test_the_defaults_are_the_limits() -> None:
    assert RateLimit() == RateLimit(
        limits.DINGTALK_RATE_LIMIT, limits.DINGTALK_RATE_WINDOW, limits.DINGTALK_RATE_BLOCK
    )
    upstream = Upstream(url="https://oapi.dingtalk.com/robot/send")
    assert (upstream.limit, upstream.window_s, upstream.block_s) == (
        limits.DEFAULT_UPSTREAM_LIMIT,
        limits.DEFAULT_UPSTREAM_WINDOW,
        limits.DEFAULT_UPSTREAM_BLOCK,
    )
    assert limits.DEFAULT_UPSTREAM_LIMIT < limits.DINGTALK_RATE_LIMIT


def test_dingtalks_wire_strings_quote_the_body_limit() -> None:
    """The catalogue keeps DingTalk's exact wording; it must still name the limit Gong applies."""
    entry = Errors.TOO_LARGE
    for text in (entry.message, entry.legacy_message, entry.description):
        assert text is not None
        assert f"{limits.MAX_BODY_BYTES}" in text


def test_all_lists_every_limit() -> None:
    public = {name for name in vars(limits) if name.isupper()}
    assert set(limits.__all__) == public
