"""Errors of the management side (API, CLI, web app), each with the HTTP status it maps to.

GongError
├── NotFound        404  no such group, member, robot or message
├── Conflict        409  the change clashes with existing data (a mobile already in the group)
├── Invalid         422  the request is well-formed but its values break a rule
└── Unavailable     503  a limited resource is busy (the template renderer); retry later

A message is a :class:`gong.i18n.Text` (``core.lazy("…", name=…)``) where people read it:
``message`` is its English text (the JSON API, logs), :meth:`GongError.translated` the text in
the language in effect (the web app, the CLI).
"""

from __future__ import annotations

from gong.i18n import Text

__all__ = ["Conflict", "Forbidden", "GongError", "Invalid", "NotFound", "Unavailable"]


class GongError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str | Text) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.text = message

    def translated(self) -> str:
        """The message in the language in effect."""
        return self.text.translated() if isinstance(self.text, Text) else self.message


class Forbidden(GongError):
    """The record exists and the person may see it, but not do this to it."""

    status = 403
    code = "forbidden"


class NotFound(GongError):
    status = 404
    code = "not_found"


class Conflict(GongError):
    status = 409
    code = "conflict"


class Invalid(GongError):
    status = 422
    code = "invalid"


class Unavailable(GongError):
    status = 503
    code = "unavailable"
