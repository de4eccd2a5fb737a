"""Fixtures of the browser suite."""

from __future__ import annotations

from tests.reliability.conftest import shared_env  # noqa: F401  (two instances, one state)
