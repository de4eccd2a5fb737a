"""Reference tables rendered from the code, so the docs never state a limit or errcode the code
does not have (``docs/robot-api.md`` embeds them; a test keeps them in sync)."""

from __future__ import annotations

from gong.protocol.errors import Dialect, Errors, RobotError

__all__ = ["errcode_table"]


def errcode_table() -> str:
    """The robot API's errcodes as a Markdown table (modern and legacy wording)."""
    rows = [
        "| case | errcode | errmsg (`modern`) | `legacy` dialect, where different |",
        "|---|---:|---|---|",
    ]
    samples = {"field": "markdown --》 title", "ip": "203.0.113.7", "detail": "…"}
    for entry in Errors.all():
        error = RobotError(
            entry,
            **{
                k: v
                for k, v in samples.items()
                if "{" + k in entry.message or "{" + k in (entry.legacy_message or "")
            },
        )
        modern = error.errmsg(Dialect.MODERN)
        legacy_code, legacy = error.errcode(Dialect.LEGACY), error.errmsg(Dialect.LEGACY)
        different = (legacy_code, legacy) != (entry.code, modern)
        legacy_cell = f"{legacy_code} `{legacy}`" if different else ""
        rows.append(f"| {entry.description} | {entry.code} | `{modern}` | {legacy_cell} |")
    return "\n".join(rows)
