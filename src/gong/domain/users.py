"""People who sign in to the web app, and the rules their names and passwords follow.

A user is an admin (sees and manages every group) or a member (sees the groups where one of the
group's members is linked to them). Passwords are stored only as hashes (``gong.domain.passwords``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gong.domain.errors import Invalid
from gong.domain.models import Group, Member, StoredMessage

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "Conversation",
    "User",
    "check_password",
    "clean_username",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{0,63}")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    is_admin: bool
    created_at: int
    last_login_at: int | None
    password_hash: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Conversation:
    """One line of a user's conversation list."""

    group: Group
    last: StoredMessage | None
    unread: int
    mentioned: bool
    muted: bool
    last_read_id: int
    member: Member | None = None


def clean_username(username: str) -> str:
    """Usernames are case-insensitive: stored lower-case, 1–64 of ``a-z 0-9 _ . @ -``.

    Raises:
        Invalid: naming the rule that was broken.
    """
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise Invalid(
            "a username is 1 to 64 characters: letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    """A password has at least 8 characters.

    Raises:
        Invalid: when it is too short or too long.
    """
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"a password has at most {MAX_PASSWORD} characters")
    return password
