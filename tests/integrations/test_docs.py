"""Every kind has a guide with its picture, and the guides name every event they show."""

from __future__ import annotations

from pathlib import Path

import pytest

from gong.domain.models import RobotKind
from gong.integrations import (
    alertmanager,
    codeup,
    gitea,
    github,
    gitlab,
    grafana,
    harbor,
    jenkins,
    jira,
    sentry,
    travis,
    trello,
    uptime_kuma,
)

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
        ("gitea", gitea),
        ("jenkins", jenkins),
        ("sentry", sentry),
        ("harbor", harbor),
        ("uptime-kuma", uptime_kuma),
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


MODULES = {
    "github": github,
    "gitlab": gitlab,
    "codeup": codeup,
    "gitea": gitea,
    "jira": jira,
    "jenkins": jenkins,
    "travis": travis,
    "trello": trello,
    "sentry": sentry,
    "harbor": harbor,
    "uptime-kuma": uptime_kuma,
    "alertmanager": alertmanager,
    "grafana": grafana,
}


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_the_index_lists_every_event_of_every_kind(kind: str) -> None:
    """The index's table names each kind's events with a builder, and its opt-in events."""
    module = MODULES[kind]
    readme = (DOCS / "README.md").read_text(encoding="utf-8")
    row = next(
        (line for line in readme.splitlines() if line.startswith(f"| [`{kind}`]({kind}.md) |")),
        None,
    )
    assert row is not None, f"README.md lists no events of {kind}"
    shown, opt_in = row.split(" | ")[1:3]
    for name in [*getattr(module, "BUILDERS", {}), *getattr(module, "ZONED_BUILDERS", {})]:
        parts = name.split(".")
        families = [".".join(parts[:n]) for n in range(1, len(parts))]  # an opt-in family
        assert (
            f"`{name}`" in row
            or f"`{name}.*`" in row
            or any(f"`{family}`" in opt_in for family in families)
        ), f"README.md: {kind} {name}"
    for name in getattr(module, "QUIET", ()):
        assert f"`{name}`" in opt_in, f"README.md: {kind} opt-in {name}"
        assert f"`{name}`" not in shown.replace(f"`{name}.*`", "")
