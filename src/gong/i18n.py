"""Gong's words in Chinese and English: the translation catalogues and the language in effect.

Every user-facing string is an English message id marked with a translator, looked up in a
gettext catalogue of its *domain*:

- ``web``: the web app's pages and the server-side messages they show (templates, ``gong.web``);
- ``js``: the strings of the web app's scripts (``t("…")`` in ``static/*.js``), served to the
  browser as one small cached script per language;
- ``cli``: what ``gong`` prints to people;
- ``core``: the domain's error messages (:class:`Text`), shown by the web app and the CLI.

The catalogues are ``gong/locale/<locale>/LC_MESSAGES/<domain>.po``, compiled in memory the first
time a language is used (so they can never be stale). ``make messages`` re-extracts the ids and
merges them into every catalogue; a test fails while any id lacks a translation.

The language in effect is a context variable: the web app sets it per request from the account's
choice, else ``Accept-Language``, else ``GONG_DEFAULT_LANGUAGE``; the CLI from
``GONG_DEFAULT_LANGUAGE``, else the environment's ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG``.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAINS",
    "LANGUAGES",
    "Text",
    "Translator",
    "catalogue",
    "cli",
    "core",
    "current",
    "format_datetime",
    "format_time",
    "js_messages",
    "language_of",
    "locale_of",
    "negotiate",
    "set_language",
    "use",
    "web",
]

#: The languages Gong speaks, as BCP 47 tags (``<html lang>``, settings) and their own names.
LANGUAGES: Final[Mapping[str, str]] = {"zh-CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE: Final = "zh-CN"
DOMAINS: Final = ("web", "js", "cli", "core")
LOCALE_DIR: Final = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("gong_language", default=DEFAULT_LANGUAGE)


def locale_of(language: str) -> str:
    """The gettext/Babel locale id of a language tag (``zh-CN`` → ``zh_CN``)."""
    return language.replace("-", "_")


def language_of(value: str | None) -> str | None:
    """The supported language a tag or locale names (``zh``, ``zh_Hans_CN``, ``en-GB`` …), or
    None."""
    if not value:
        return None
    tag = value.strip().split(".")[0].split("@")[0].replace("_", "-").lower()
    if not tag or tag in ("c", "posix", "*"):
        return None
    if tag.startswith("zh"):
        # Traditional-script tags still read simplified Chinese better than English.
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def negotiate(
    *choices: str | None, accept_language: str | None = None, default: str = DEFAULT_LANGUAGE
) -> str:
    """The first supported language among ``choices`` (an account's choice …), else the best of
    an ``Accept-Language`` header by its q-values, else ``default``."""
    for choice in choices:
        language = language_of(choice)
        if language:
            return language
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for index, part in enumerate(accept_language.split(",")[:32]):
            tag, _, params = part.strip().partition(";")
            weight = 1.0
            params = params.strip()
            if params.startswith("q="):
                try:
                    weight = float(params[2:])
                except ValueError:
                    weight = 0.0
            language = language_of(tag)
            if language and weight > 0:
                ranked.append((-weight, index, language))
        if ranked:
            return min(ranked)[2]
    return language_of(default) or DEFAULT_LANGUAGE


def current() -> str:
    """The language in effect (a key of :data:`LANGUAGES`)."""
    return _current.get()


def set_language(language: str) -> None:
    """Make ``language`` the language in effect for the rest of this context (a request, a
    command)."""
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


@contextlib.contextmanager
def use(language: str) -> Iterator[None]:
    """Speak ``language`` inside the block."""
    token = _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def catalogue(domain: str, language: str) -> Mapping[str, str | tuple[str, ...]]:
    """A domain's translations in a language: msgid → msgstr (a tuple of plural forms for a
    plural id, keyed by its singular). Untranslated and fuzzy entries are left out."""
    try:
        from babel.messages.pofile import read_po
    except ImportError:  # a client-only install (no ``server`` extra) speaks the English ids
        return {}

    path = LOCALE_DIR / locale_of(language) / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return {}
    with path.open("rb") as file:
        parsed = read_po(file, locale=locale_of(language), domain=domain)
    result: dict[str, str | tuple[str, ...]] = {}
    for message in parsed:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string or ())
            if forms and all(forms):
                result[message.id[0]] = forms
        elif isinstance(message.string, str) and message.string:
            result[message.id] = message.string
    return result


@functools.cache
def _plural_rule(language: str) -> Any:
    from babel import Locale

    return Locale.parse(locale_of(language)).plural_form


def _plural_index(language: str, n: int) -> int:
    # Chinese has one form; English two (one, other).
    if language.startswith("zh"):
        return 0
    return 0 if _plural_rule(language)(n) == "one" else 1


def _format(text: str, params: Mapping[str, Any]) -> str:
    return text % params if params else text


class Translator:
    """The ``_`` of one domain: ``_("Delete %(name)s?", name=robot.name)``, and
    ``_.plural("%(n)s message", "%(n)s messages", count)`` (``n`` is passed to the format)."""

    __slots__ = ("domain",)

    def __init__(self, domain: str) -> None:
        self.domain = domain

    def __call__(self, message: str, /, **params: Any) -> str:
        found = catalogue(self.domain, _current.get()).get(message)
        return _format(found if isinstance(found, str) else message, params)

    def plural(self, singular: str, plural: str, count: int, /, **params: Any) -> str:
        language = _current.get()
        found = catalogue(self.domain, language).get(singular)
        if isinstance(found, tuple):
            text = found[min(_plural_index(language, count), len(found) - 1)]
        else:
            text = singular if count == 1 else plural
        return _format(text, {"n": count, **params})

    def lazy(self, message: str, /, **params: Any) -> Text:
        """A message translated only when shown (for values built before a language is
        known)."""
        return Text(message, params, self.domain)


class Text:
    """A message id with its parameters, translated when it is shown: ``str()`` gives the
    English text (logs, the JSON API), :meth:`translated` the language in effect."""

    __slots__ = ("domain", "message", "params")

    def __init__(self, message: str, params: Mapping[str, Any] | None = None, domain: str = "core"):
        self.message = message
        self.params = dict(params or {})
        self.domain = domain

    def __str__(self) -> str:
        return _format(self.message, self.params)

    def __repr__(self) -> str:
        return f"Text({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def translated(self) -> str:
        found = catalogue(self.domain, _current.get()).get(self.message)
        params = {
            key: value.translated() if isinstance(value, Text) else value
            for key, value in self.params.items()
        }
        return _format(found if isinstance(found, str) else self.message, params)


web = Translator("web")
cli = Translator("cli")
core = Translator("core")
js = Translator("js")


def js_messages(language: str) -> dict[str, str | list[str]]:
    """The script strings of a language, for the browser: msgid → text, or the list of plural
    forms keyed by the singular."""
    return {
        key: value if isinstance(value, str) else list(value)
        for key, value in catalogue("js", language).items()
    }


def format_datetime(at: datetime, zone: tzinfo | None = None, *, style: str = "medium") -> str:
    """A date and time in the language in effect, in ``zone`` (``2026年12月5日 14:02`` /
    ``Dec 5, 2026, 2:02 PM``)."""
    from babel.dates import format_datetime as babel_format

    return babel_format(
        at,
        format="short" if style == "short" else "medium",
        tzinfo=zone,
        locale=locale_of(_current.get()),
    )


def format_time(at: datetime, zone: tzinfo | None = None) -> str:
    """A time of day in the language in effect."""
    from babel.dates import format_time as babel_format

    return babel_format(at, format="short", tzinfo=zone, locale=locale_of(_current.get()))


def environment_language() -> str | None:
    """The language the environment asks for (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``), if Gong speaks it."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in os.environ.get(name, "").split(":"):
            language = language_of(part)
            if language:
                return language
    return None
