"""Configuration as code: ``gong apply`` and ``gong export``.

A YAML file names groups (with their members and robots) and web app accounts, in the
management API's field names (:mod:`~gong.configfile.document`). :func:`plan` compares it with
what is stored by rehearsing every change with the administration services
(:mod:`~gong.configfile.rehearsal`, :mod:`~gong.configfile.planning`); :func:`apply` then makes
the changes through the same services (:mod:`~gong.configfile.changes`). :func:`export` writes
what is stored as such a file (:mod:`~gong.configfile.export`).

Errors:

- :class:`FileErrors`: the file has faults (YAML, shape, secrets, or an entry the services
  refuse), each a :class:`Problem` with its line; nothing was changed.
- :class:`ApplyFailed`: a change was refused while applying (the data changed after the
  rehearsal); the changes before it were made.
"""

from gong.configfile.changes import (
    Action,
    ApplyFailed,
    Change,
    CreatedRobot,
    FieldChange,
    Plan,
    apply,
)
from gong.configfile.document import Document, FileErrors, Problem, parse
from gong.configfile.export import export, secret_variable
from gong.configfile.planning import MASK, plan

__all__ = [
    "MASK",
    "Action",
    "ApplyFailed",
    "Change",
    "CreatedRobot",
    "Document",
    "FieldChange",
    "FileErrors",
    "Plan",
    "Problem",
    "apply",
    "export",
    "parse",
    "plan",
    "secret_variable",
]
