"""The public API of the wire-format package is exactly what ``__all__`` lists."""

from __future__ import annotations

import types

import gong.protocol


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(gong.protocol).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(gong.protocol.__all__) == public
    assert len(gong.protocol.__all__) == len(set(gong.protocol.__all__))
