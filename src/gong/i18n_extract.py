"""Keep the translation catalogues in step with the code: ``make messages``
(``python -m gong.i18n_extract``).

Extracts every marked message of each domain (see :mod:`gong.i18n`) and merges them into each
language's ``.po``: new ids are added (English: the id itself; Chinese: empty, to translate),
ids no longer used are dropped, translations are kept. Then compiles each ``.po`` into what a
served Gong reads: ``<domain>.mo`` (and ``js.json`` for the browser's strings). ``--check``
changes nothing and exits 1 naming each id a catalogue lacks or leaves untranslated, and each
compiled file that does not match its catalogue (the test suite runs the same check).
``--compile`` only compiles.

Babel is a development tool here: the server reads the compiled files with the standard
library.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from gong.i18n import DOMAINS, LANGUAGES, LOCALE_DIR, locale_of

__all__ = ["check", "compile_catalogues", "compiled_problems", "extract", "main", "update"]

PACKAGE = Path(__file__).parent
#: Fixed header dates, so that a catalogue changes only when its messages do.
_DATE = datetime(2026, 12, 6, tzinfo=UTC)
KEYWORDS = {
    "_": None,
    "plural": (1, 2),
    "lazy": None,
    "ngettext": (1, 2),
    "t": None,
    "tn": (1, 2),
}
#: What each domain's ids are extracted from: (folder under gong/, babel method, file pattern).
SOURCES: dict[str, list[tuple[str, str, str]]] = {
    "web": [("web", "python", "**.py"), ("web/templates", "jinja2", "**.html")],
    "js": [("web/static", "javascript", "**.js")],
    "cli": [("cli", "python", "**.py")],
    "core": [
        ("domain", "python", "**.py"),
        ("storage", "python", "**.py"),
        (".", "python", "administration.py"),
        ("configfile", "python", "**.py"),
        ("integrations", "python", "config.py"),
        ("integrations", "python", "samples/__init__.py"),
    ],
}


def _extracted(domain: str) -> Iterator[tuple[str, int, str | tuple[str, ...]]]:
    for folder, method, pattern in SOURCES[domain]:
        root = PACKAGE / folder
        method_map = [(pattern, method)]
        options = {pattern: {"extensions": "", "trimmed": "true"}} if method == "jinja2" else {}
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root), method_map, options, keywords=KEYWORDS, strip_comment_tags=True
        ):
            if folder == "." and filename != "administration.py":
                continue
            yield f"{folder}/{filename}", lineno, message


def extract(domain: str) -> Catalog:
    """Every id marked for ``domain`` in the code, with where it is used."""
    catalog = Catalog(domain=domain, project="Gong", charset="utf-8")
    for where, lineno, message in _extracted(domain):
        if not message or (isinstance(message, tuple) and not message[0]):
            continue
        catalog.add(message, locations=[(where, lineno)])
    return catalog


def _path(domain: str, language: str) -> Path:
    return LOCALE_DIR / locale_of(language) / "LC_MESSAGES" / f"{domain}.po"


def _read(domain: str, language: str) -> Catalog:
    path = _path(domain, language)
    if not path.exists():
        return Catalog(locale=locale_of(language), domain=domain, project="Gong")
    with path.open("rb") as file:
        return read_po(file, locale=locale_of(language), domain=domain)


def update(domain: str) -> None:
    """Merge the extracted ids of ``domain`` into each language's catalogue."""
    template = extract(domain)
    for language in LANGUAGES:
        old = _read(domain, language)
        new = Catalog(
            locale=locale_of(language),
            domain=domain,
            project="Gong",
            version="1",
            copyright_holder="Gong",
            charset="utf-8",
            creation_date=_DATE,
            revision_date=_DATE,
            fuzzy=False,
        )
        for message in template:
            if not message.id:
                continue
            kept = old.get(message.id)
            string: str | tuple[str, ...]
            if kept is not None and kept.string and any(kept.string):
                string = kept.string if isinstance(kept.string, str) else tuple(kept.string)
            elif language == "en":
                string = message.id if isinstance(message.id, str) else tuple(message.id)
            else:
                string = "" if isinstance(message.id, str) else ("",)
            new.add(message.id, string, locations=message.locations)
        path = _path(domain, language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as file:
            write_po(
                file, new, width=100, omit_header=False, sort_output=True, include_lineno=False
            )


def _translations(catalogue: Catalog) -> dict[str, str | list[str]]:
    """msgid → msgstr (plural ids: the singular → every form), translated entries only."""
    found: dict[str, str | list[str]] = {}
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str):
            if isinstance(message.string, str) and message.string:
                found[message.id] = message.string
        elif message.string and all(message.string):
            found[message.id[0]] = list(message.string)
    return found


def _compiled_path(domain: str, language: str) -> Path:
    folder = _path(domain, language).parent
    return folder / ("js.json" if domain == "js" else f"{domain}.mo")


def compile_catalogues(domain: str) -> None:
    """Write what the server reads for ``domain``: ``.mo`` files (``js.json`` for scripts)."""
    for language in LANGUAGES:
        catalogue = _read(domain, language)
        target = _compiled_path(domain, language)
        if domain == "js":
            text = json.dumps(_translations(catalogue), ensure_ascii=False, sort_keys=True)
            target.write_text(text + "\n", encoding="utf-8")
        else:
            with target.open("wb") as file:
                write_mo(file, catalogue)


def compiled_problems(domain: str) -> list[str]:
    """Compiled files missing, or not saying what their catalogue says."""
    problems = []
    for language in LANGUAGES:
        target = _compiled_path(domain, language)
        wanted = _translations(_read(domain, language))
        if not target.is_file():
            problems.append(f"{language} {domain}: {target.name} is missing (make messages)")
            continue
        if domain == "js":
            found = json.loads(target.read_text(encoding="utf-8"))
        else:
            with target.open("rb") as file:
                found = _translations(read_mo(file))
        if found != wanted:
            problems.append(f"{language} {domain}: {target.name} is out of date (make messages)")
    return problems


def check(domain: str) -> list[str]:
    """What is wrong with ``domain``'s catalogues: ids missing or untranslated, per language."""
    problems = []
    template = extract(domain)
    for language in LANGUAGES:
        catalogue = _read(domain, language)
        for message in template:
            if not message.id:
                continue
            found = catalogue.get(message.id)
            key = message.id if isinstance(message.id, str) else message.id[0]
            if found is None:
                problems.append(f"{language} {domain}: missing {key!r}")
            elif found.fuzzy or not found.string or not all(found.string):
                problems.append(f"{language} {domain}: untranslated {key!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    domains = [a for a in args if a in DOMAINS] or list(DOMAINS)
    if "--compile" in args:
        for domain in domains:
            compile_catalogues(domain)
        return 0
    if "--check" in args:
        problems = [p for d in domains for p in (*check(d), *compiled_problems(d))]
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    for domain in domains:
        update(domain)
        compile_catalogues(domain)
        print(f"{domain}: {len(extract(domain))} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
