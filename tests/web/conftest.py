from __future__ import annotations

from tests.conftest import MakeRobot

__all__ = ["MakeRobot"]
