"""Nothing crashes whatever a payload holds: every fixture, mutated at random, gives a message,
an ignored event or a 400401 naming the problem."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gong.domain.models import RobotKind
from gong.integrations import Ignored, IntegrationConfig, preview, sources
from gong.protocol.errors import Errors, RobotError
from tests.integrations.deliveries import SOURCES, deliver, fixtures, payload

_SOURCES = sources()
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += _paths(item, (*prefix, index))
    return found


def _headers(source: str, name: str) -> dict[str, str]:
    return deliver(source, name, secret=None).headers


_CASES = [(source, name) for source in SOURCES for name in fixtures(source)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(_CASES), data=st.data())
def test_mutated_fixtures_never_crash(case: tuple[str, str], data: st.DataObject) -> None:
    """Any fixture with any of its values replaced by anything: a message, an ignored event or a
    400401 naming the problem, never another exception, and never more than 20 000 bytes."""
    source, name = case
    document = json.loads(payload(source, name))
    paths = _paths(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(paths))
        target: Any = document
        for part in path[:-1]:  # an earlier replacement may have cut this path short
            try:
                target = target[part]
            except (IndexError, KeyError, TypeError):
                target = None
                break
        last = path[-1]
        if isinstance(target, dict) or (
            isinstance(target, list) and isinstance(last, int) and last < len(target)
        ):
            target[last] = data.draw(_LEAVES)
    raw = json.dumps(document).encode()
    outcome = _outcome(source, raw, _headers(source, name))
    if isinstance(outcome, RobotError):
        assert outcome.error is Errors.PAYLOAD_INVALID, outcome
        assert outcome.params["detail"]
    elif outcome is not None:
        assert len(json.dumps(outcome, ensure_ascii=False).encode()) <= 20_000


def _outcome(
    source: str, raw: bytes, headers: dict[str, str]
) -> dict[str, Any] | RobotError | None:
    """The message's JSON, the refusal, or None for an ignored event."""
    try:
        message = preview(_SOURCES[RobotKind(source)], IntegrationConfig(), raw, headers)
    except Ignored:
        return None
    except RobotError as error:
        return error
    return message.to_wire()
