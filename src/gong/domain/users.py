"""People who sign in to the web app, and the rules their names and passwords follow.

A user is an admin (sees and manages every group) or a member (sees the groups where one of the
group's members is linked to them). Passwords are stored only as hashes (``gong.domain.passwords``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gong.domain.errors import Invalid
from gong.domain.models import Group, Member, StoredMessage
from gong.i18n import core

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "THEMES",
    "Conversation",
    "Preferences",
    "User",
    "check_password",
    "clean_preferences",
    "clean_username",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{0,63}")
#: Colour schemes an account may choose; None follows the system (``prefers-color-scheme``).
THEMES = ("light", "dark")


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a person chose for themselves.

    ``language`` None follows the browser (``Accept-Language``), then ``GONG_DEFAULT_LANGUAGE``;
    ``theme`` None follows the system. ``notify`` off silences every notification;
    ``notify_mentions`` notifies when a message @-mentions them (or @all).
    """

    language: str | None = None
    theme: str | None = None
    notify: bool = True
    notify_mentions: bool = True


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    is_admin: bool
    created_at: int
    last_login_at: int | None
    password_hash: str = field(repr=False)
    preferences: Preferences = field(default_factory=Preferences)


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
    #: The newest unread message that mentions the user (or @all), when ``mentioned``.
    mention_id: int | None = None
    #: The user hears of every message of this group (``gong.domain.notify``).
    notify_all: bool = False


def clean_username(username: str) -> str:
    """Usernames are case-insensitive: stored lower-case, 1–64 of ``a-z 0-9 _ . @ -``.

    Raises:
        Invalid: naming the rule that was broken.
    """
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise Invalid(
            core.lazy(
                "a username is 1 to 64 characters: letters, digits, '_', '.', '@' or '-', "
                "starting with a letter or digit"
            )
        )
    return name


def check_password(password: str) -> str:
    """A password has at least 8 characters.

    Raises:
        Invalid: when it is too short or too long.
    """
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            core.lazy("a password needs at least %(count)s characters", count=MIN_PASSWORD)
        )
    if len(password) > MAX_PASSWORD:
        raise Invalid(core.lazy("a password has at most %(count)s characters", count=MAX_PASSWORD))
    return password


def clean_preferences(
    language: str | None, theme: str | None, *, notify: bool = True, notify_mentions: bool = True
) -> Preferences:
    """An account's preferences, checked: a language Gong speaks and a known colour scheme
    (empty or ``auto`` means "follow the browser / the system").

    Raises:
        Invalid: naming the choice that is not offered.
    """
    from gong.i18n import LANGUAGES

    language = (language or "").strip() or None
    if language in ("auto",):
        language = None
    if language is not None and language not in LANGUAGES:
        raise Invalid(
            core.lazy(
                "language must be one of %(choices)s, or empty for the browser's",
                choices=", ".join(LANGUAGES),
            )
        )
    theme = (theme or "").strip() or None
    if theme in ("auto",):
        theme = None
    if theme is not None and theme not in THEMES:
        raise Invalid(core.lazy("theme must be light, dark, or empty for the system's"))
    return Preferences(language, theme, notify=notify, notify_mentions=notify_mentions)
