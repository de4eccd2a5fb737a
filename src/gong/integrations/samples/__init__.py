"""Documented sample deliveries of each integration kind, to preview before wiring a source.

``samples/<kind>/<name>.json`` is the JSON document a source sends for one event, taken from
the source's documentation or its own test data (the suite's fixtures say where each came
from), and ``<name>.headers.json`` the headers it sends with it, without a signature. The
robot page's "try a sample", ``GET /api/robots/{id}/samples`` and ``POST
/api/robots/{id}/preview`` with ``sample`` read them here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import orjson

from gong.domain.errors import NotFound
from gong.domain.models import RobotKind
from gong.i18n import Text, core
from gong.integrations.source import Delivery, Ignored, IntegrationConfig, Source, decode
from gong.protocol.errors import RobotError

__all__ = ["Sample", "sample", "samples"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One documented delivery: its name, the headers the source sends, and the document."""

    name: str
    headers: dict[str, str]
    document: bytes

    def event(self, source: Source) -> str | None:
        """The event's name as the robot's filters see it (None if the source cannot name it)."""
        delivery = Delivery(
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.document,
            document=self.document,
            callback_url="",
            now_ms=0,
        )
        try:
            document = decode(self.document, source.label)
            return source.event(delivery, document, IntegrationConfig()).name
        except Ignored as ignored:
            return ignored.event
        except RobotError:
            return None


@functools.cache
def samples(kind: RobotKind) -> tuple[Sample, ...]:
    """The samples of ``kind``, by name (none for custom and template robots)."""
    folder = resources.files(__package__) / kind.value
    if not folder.is_dir():
        return ()
    found: list[Sample] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json") or entry.name.endswith(".headers.json"):
            continue
        name = entry.name.removesuffix(".json")
        head = folder / f"{name}.headers.json"
        headers: dict[str, str] = orjson.loads(head.read_bytes()) if head.is_file() else {}
        found.append(Sample(name, headers, entry.read_bytes()))
    return tuple(found)


def sample(kind: RobotKind, name: str) -> Sample:
    """The sample ``name`` of ``kind``.

    Raises:
        NotFound: the kind has no such sample (the message lists the ones it has).
    """
    for item in samples(kind):
        if item.name == name:
            return item
    names: str | Text = ", ".join(s.name for s in samples(kind)) or core.lazy("none")
    raise NotFound(
        core.lazy(
            "a %(kind)s robot has no sample %(name)r; its samples: %(names)s",
            kind=kind,
            name=name[:60],
            names=names,
        )
    )
