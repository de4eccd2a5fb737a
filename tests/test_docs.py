"""Docs that are rendered from the code stay in sync with it."""

from __future__ import annotations

from pathlib import Path

from gong.cli.config import render_env_sample, render_markdown
from gong.protocol.reference import errcode_table

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_is_current() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == render_markdown(), (
        "regenerate: gong config markdown > docs/configuration.md"
    )
    assert (ROOT / "gong.env.example").read_text() == render_env_sample(), (
        "regenerate: gong config sample > gong.env.example"
    )


def test_errcode_table_in_the_robot_api_docs_is_current() -> None:
    text = (ROOT / "docs" / "robot-api.md").read_text()
    start = text.index("<!-- errcodes:start -->") + len("<!-- errcodes:start -->")
    end = text.index("<!-- errcodes:end -->")
    assert text[start:end].strip() == errcode_table()


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make run" in head
    assert "make test" in head


def test_relative_links_in_the_docs_resolve() -> None:
    import re

    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```|`[^`\n]*`", "", page.read_text(), flags=re.S)  # code
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # absolute URLs and anchors in the same page
            path = target.split("#")[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_field_limits_in_the_robot_api_docs_are_current() -> None:
    from gong.protocol.reference import field_limits_table

    text = (ROOT / "docs" / "robot-api.md").read_text()
    start = text.index("<!-- field-limits:start -->") + len("<!-- field-limits:start -->")
    end = text.index("<!-- field-limits:end -->")
    assert text[start:end].strip() == field_limits_table()
