"""Errors of the management side (API, CLI, web app), each with the HTTP status it maps to.

GongError
├── NotFound        404  no such group, member, robot or message
├── Conflict        409  the change clashes with existing data (a mobile already in the group)
├── Invalid         422  the request is well-formed but its values break a rule
└── Unavailable     503  a limited resource is busy (the template renderer); retry later
"""

from __future__ import annotations

__all__ = ["Conflict", "Forbidden", "GongError", "Invalid", "NotFound", "Unavailable"]


class GongError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
