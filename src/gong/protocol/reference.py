"""Reference tables rendered from the code, so the docs never state a limit or errcode the code
does not have (``docs/robot-api.md`` embeds them; a test keeps them in sync)."""

from __future__ import annotations

from gong.protocol.errors import Dialect, ErrorCode, Errors, RobotError, field_invalid
from gong.protocol.limits import MAX_MSG_UUID

__all__ = ["errcode_table", "field_limits_table"]

#: Entries shown with a real example rather than placeholders.
_EXAMPLES = {
    Errors.FIELD_INVALID.name: field_invalid("too_long", "msgUuid", limit=MAX_MSG_UUID),
}


def _sample(entry: ErrorCode) -> RobotError:
    if entry.name in _EXAMPLES:
        return _EXAMPLES[entry.name]
    samples = {"field": "markdown --》 title", "ip": "203.0.113.7", "detail": "…"}
    wording = entry.message + (entry.legacy_message or "")
    return RobotError(entry, **{k: v for k, v in samples.items() if "{" + k in wording})


def errcode_table() -> str:
    """The robot API's errcodes as a Markdown table (modern and legacy wording)."""
    rows = [
        "| case | errcode | errmsg (`modern`) | `legacy` dialect, where different |",
        "|---|---:|---|---|",
    ]
    for entry in Errors.all():
        error = _sample(entry)
        modern = error.errmsg(Dialect.MODERN)
        legacy_code, legacy = error.errcode(Dialect.LEGACY), error.errmsg(Dialect.LEGACY)
        different = (legacy_code, legacy) != (entry.code, modern)
        legacy_cell = f"{legacy_code} `{legacy}`" if different else ""
        rows.append(f"| {entry.description} | {entry.code} | `{modern}` | {legacy_cell} |")
    return "\n".join(rows)


def field_limits_table() -> str:
    """What :func:`~gong.protocol.messages.parse_message` refuses to store, as a Markdown table."""
    limits = [
        (
            "`msgUuid`",
            f"at most **{MAX_MSG_UUID}** characters (not bytes)",
            field_invalid("too_long", "msgUuid", limit=MAX_MSG_UUID),
        ),
        ("`msgUuid`", "no U+0000 (NUL) character", field_invalid("nul", "msgUuid")),
        (
            "every string",
            "no lone UTF-16 surrogate (U+D800–U+DFFF without its pair)",
            field_invalid("surrogate", "text", "content"),
        ),
    ]
    rows = [
        "| field | limit | the `modern` errmsg says | the `legacy` errmsg says |",
        "|---|---|---|---|",
    ]
    for field, limit, error in limits:
        rows.append(
            f"| {field} | {limit} | `{error.params['detail']}` | `{error.params['reason']}` |"
        )
    return "\n".join(rows)
