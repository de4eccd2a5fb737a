"""Docs that are rendered from the code stay in sync with it."""

from __future__ import annotations

from pathlib import Path

from gong.cli.config import render_env_sample, render_markdown
from gong.protocol.reference import errcode_table
from tests.helpers import need

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


def test_the_readme_examples_run_as_printed_after_make_run(tmp_path: Path) -> None:
    """The README's "Using Gong" block, run by bash as a new user pastes it, after what
    ``make run`` leaves (the demo group), in a fresh per-user data directory."""
    import os
    import shutil
    import subprocess
    import sys

    need("bash and jq", bool(shutil.which("bash") and shutil.which("jq")), "bash or jq missing")
    text = (ROOT / "README.md").read_text()
    block = text.split("## Using Gong", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONG_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), GONG_DEFAULT_LANGUAGE="en")
    bin_dir = str(Path(sys.executable).parent)
    subprocess.run(
        [f"{bin_dir}/gong", "init", "--demo"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    fake_checkout = tmp_path / "checkout"
    (fake_checkout / ".venv").mkdir(parents=True)
    (fake_checkout / ".venv" / "bin").symlink_to(bin_dir)
    script = "set -euo pipefail\n" + block + 'echo "group=$group"\n'
    done = subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=fake_checkout,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    group = int(done.stdout.strip().splitlines()[-1].split("=")[1])
    assert group == 2  # the demo group is 1: the examples act on the new one
    assert '"webhook"' in done.stdout and "--sign" in block


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
