"""Every kind has a guide with its picture, and the guides name every event they show."""

from __future__ import annotations

from pathlib import Path

import pytest

from gong.domain.models import RobotKind
from gong.integrations import alertmanager, codeup, github, gitlab, grafana, jira, travis, trello

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations"
KINDS = [k.value for k in RobotKind if k is not RobotKind.CUSTOM]


@pytest.mark.parametrize("kind", KINDS)
def test_guide_and_picture(kind: str) -> None:
    guide = (DOCS / f"{kind}.md").read_text(encoding="utf-8")
    assert f"(images/{kind}.png)" in guide
    assert (DOCS / "images" / f"{kind}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"[{kind}.md]({kind}.md)" in (DOCS / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kind", "module"),
    [
        ("github", github),
        ("gitlab", gitlab),
        ("codeup", codeup),
        ("jira", jira),
        ("travis", travis),
        ("trello", trello),
        ("alertmanager", alertmanager),
        ("grafana", grafana),
    ],
)
def test_guides_name_the_events(kind: str, module: object) -> None:
    """Each event with a builder (of either table) is in its guide (by name, or by family with
    a wildcard)."""
    guide = (DOCS / f"{kind}.md").read_text(encoding="utf-8")
    names = [*getattr(module, "BUILDERS", {}), *getattr(module, "ZONED_BUILDERS", {})]
    assert names
    for name in names:
        family, _, action = name.partition(".")
        assert (
            f"`{name}`" in guide
            or f"`.{action}`" in guide
            or f"`{family}.*`" in guide
            or f"`{family}.{action}`" in guide
        ), f"{kind}.md does not name {name}"
