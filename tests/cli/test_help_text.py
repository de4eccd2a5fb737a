"""Help texts wrap where the terminal ends, never mid-sentence where the source line did:
every paragraph of every command's and option's help is one line of source text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
from typer.main import get_command

from gong.cli import app


def _paragraphs_with_breaks(command: click.Command, path: str) -> list[str]:
    found = []
    texts = [("", command.help or "")]
    texts += [(f" --{p.name}", getattr(p, "help", None) or "") for p in command.params]
    for where, text in texts:
        for paragraph in text.strip().split("\n\n"):
            lines = paragraph.strip().splitlines()
            if len(lines) > 1 and not all(
                line.lstrip().startswith(("-", "*", "|")) for line in lines[1:]
            ):
                found.append(f"{path}{where}: {paragraph[:70]!r}")
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None:
                found += _paragraphs_with_breaks(sub, f"{path} {name}")
    return found


def test_no_help_paragraph_breaks_mid_sentence() -> None:
    assert _paragraphs_with_breaks(get_command(app), "gong") == []


def test_help_reflows_to_the_terminal_in_both_languages() -> None:
    gong = shutil.which("gong", path=str(Path(sys.executable).parent)) or "gong"
    for language, sentence in (
        (
            "en",
            "A custom robot needs at least one security setting (--keyword, --sign or --ip), as on DingTalk.",
        ),
        (
            "zh_CN.UTF-8",
            "和钉钉一样，自定义机器人至少需要一项安全设置（--keyword、--sign 或 --ip）。",
        ),
    ):
        env = {**os.environ, "LANGUAGE": language, "COLUMNS": "300"}
        shown = subprocess.run(
            [gong, "robot", "create", "--help"], env=env, capture_output=True, text=True, timeout=60
        ).stdout
        assert sentence in shown  # whole, on one line, when the terminal is wide enough
