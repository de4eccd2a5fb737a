"""Gong's words in Chinese and English: the translation catalogues and the language in effect.

Every user-facing string is an English message id marked with a translator, looked up in a
gettext catalogue of its *domain*:

- ``web``: the web app's pages and the server-side messages they show (templates, ``gong.web``);
- ``js``: the strings of the web app's scripts (``t("…")`` in ``static/*.js``), served to the
  browser as one small cached script per language;
- ``cli``: what ``gong`` prints to people;
- ``core``: the domain's error messages (:class:`Text`), shown by the web app and the CLI.

The catalogues are ``gong/locale/<locale>/LC_MESSAGES/<domain>.po``; ``make messages``
re-extracts the ids, merges them into every catalogue and compiles them (``<domain>.mo``, read
with the standard library's :mod:`gettext`, and ``js.json`` for the browser), so a served
install needs no translation tooling. Tests fail while any id lacks a translation or a compiled
file is older than its catalogue.

The language in effect is a context variable: the web app sets it per request from the account's
choice, else ``Accept-Language``, else ``GONG_DEFAULT_LANGUAGE``; the CLI from the environment's
``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG``, else ``GONG_DEFAULT_LANGUAGE``
(:func:`gong.cli.language`).
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import json
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
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
def _translations(domain: str, language: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / locale_of(language) / "LC_MESSAGES" / f"{domain}.mo"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as file:
        return gettext.GNUTranslations(file)


def catalogue(domain: str, language: str) -> gettext.NullTranslations:
    """A domain's compiled translations in a language (the standard library's gettext over
    ``<domain>.mo``); an id without a translation is its own text."""
    return _translations(domain, language)


def _format(text: str, params: Mapping[str, Any]) -> str:
    return text % params if params else text


class Translator:
    """The ``_`` of one domain: ``_("Delete %(name)s?", name=robot.name)``, and
    ``_.plural("%(n)s message", "%(n)s messages", count)`` (``n`` is passed to the format)."""

    __slots__ = ("domain",)

    def __init__(self, domain: str) -> None:
        self.domain = domain

    def __call__(self, message: str, /, **params: Any) -> str:
        return _format(catalogue(self.domain, _current.get()).gettext(message), params)

    def plural(self, singular: str, plural: str, count: int, /, **params: Any) -> str:
        text = catalogue(self.domain, _current.get()).ngettext(singular, plural, count)
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
        text = catalogue(self.domain, _current.get()).gettext(self.message)
        params = {
            key: value.translated() if isinstance(value, Text) else value
            for key, value in self.params.items()
        }
        return _format(text, params)


web = Translator("web")
cli = Translator("cli")
core = Translator("core")
js = Translator("js")


def js_messages(language: str) -> dict[str, str | list[str]]:
    """The script strings of a language, for the browser: msgid → text, or the list of plural
    forms keyed by the singular (``<locale>/LC_MESSAGES/js.json``, compiled with the ``.mo``
    files)."""
    return dict(_js_messages(language))


@functools.cache
def _js_messages(language: str) -> Mapping[str, str | list[str]]:
    path = LOCALE_DIR / locale_of(language) / "LC_MESSAGES" / "js.json"
    if not path.is_file():
        return {}
    loaded: dict[str, str | list[str]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def environment_language() -> str | None:
    """The language the environment asks for (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``), if Gong speaks it."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in os.environ.get(name, "").split(":"):
            language = language_of(part)
            if language:
                return language
    return None
