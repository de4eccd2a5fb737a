"""The template sandbox refuses, before they run, the single operations a template could blow up
(big ``**``, padding, format widths, ``%``, repetition, ``range``), and names the limit; recursion
and deep nesting are stopped with their own message. In-process, no worker: these take
milliseconds."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from gong.integrations.sandbox import MAX_INT_BITS, MAX_LENGTH, _printf_sizes
from gong.integrations.template import render_text, template_error
from gong.protocol.errors import RobotError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "template.md"

FORBIDS = "the template did something the sandbox forbids: "
POWER = FORBIDS + f"a power larger than {MAX_INT_BITS} bits"
PRODUCT = FORBIDS + f"a product larger than {MAX_INT_BITS} bits"
WIDTH = FORBIDS + f"a format width or precision larger than {MAX_LENGTH}"
REPEAT = FORBIDS + f"repetition longer than {MAX_LENGTH}"
RECURSION = "the template nests too deeply (recursion) and was stopped"
NESTING = "the template nests blocks or expressions too deeply to compile"

#: Every family of bomb, one template each, with the error that names its limit.
BOMBS: dict[str, list[tuple[str, str]]] = {
    "power": [
        ("{{ (((9**256)**256)**256)**16 > 0 }}", POWER),
        ("{{ 9 ** 999999 }}", POWER),
        ("{{ (-3) ** 5000 }}", POWER),
        ("{% set x = 9 ** 256 %}{{ x * x * x * x * x * x }}", PRODUCT),
    ],
    "padding": [
        ('{{ "x".ljust(2000000000) }}', FORBIDS + f"ljust() wider than {MAX_LENGTH}"),
        ('{{ "x".rjust(2000000000) }}', FORBIDS + f"rjust() wider than {MAX_LENGTH}"),
        ('{{ "x".center(2000000000) }}', FORBIDS + f"center() wider than {MAX_LENGTH}"),
        ('{{ "1".zfill(2000000000) }}', FORBIDS + f"zfill() wider than {MAX_LENGTH}"),
        (
            '{{ ("\\t" * 100000).expandtabs(100000) }}',
            FORBIDS + f"expandtabs() longer than {MAX_LENGTH}",
        ),
        ('{{ "x" | center(2000000000) }}', FORBIDS + f"center wider than {MAX_LENGTH}"),
        ('{{ "a\\nb" | indent(2000000000) }}', FORBIDS + f"indent wider than {MAX_LENGTH}"),
        ("{{ 1 | tojson(indent=2000000000) }}", FORBIDS + f"tojson indent wider than {MAX_LENGTH}"),
        ("{{ [1] | batch(2000000000, 0) | list }}", FORBIDS + f"batch wider than {MAX_LENGTH}"),
    ],
    "format": [
        ('{{ "{:>2000000000}".format(1) }}', WIDTH),
        ('{{ "{:.2000000000f}".format(1.5) }}', WIDTH),
        ('{{ "{:0>2000000000}".format(1) }}', WIDTH),
        ('{{ "{:>２０００００００００}".format(1) }}', WIDTH),  # full-width digits count too
        ('{{ "{:{w}}".format(1, w=2000000000) }}', WIDTH),
        ('{{ "{0:>{1}}".format("x", 2000000000) }}', WIDTH),
        ('{{ "{a:>2000000000}".format_map({"a": 1}) }}', WIDTH),
        ('{{ ("{:>2000000000}" | safe).format(1) }}', WIDTH),
    ],
    "printf": [
        ('{{ "%2000000000d" % 1 }}', WIDTH),
        ('{{ "%.2000000000f" % 1.5 }}', WIDTH),
        ('{{ "%*d" % (2000000000, 1) }}', WIDTH),
        ('{{ "%-0#+ 2000000000x" % 1 }}', WIDTH),
        ('{{ "%(a)2000000000s" % {"a": 1} }}', WIDTH),
        ('{{ "%((a))2000000000s" % {"(a)": 1} }}', WIDTH),
        ('{{ "%2000000000s" | format(1) }}', WIDTH),
    ],
    "repetition": [
        ('{{ "x" * 2000000000 }}', REPEAT),
        ('{{ 2000000000 * "ab" }}', REPEAT),
        ("{{ [1] * 2000000000 }}", REPEAT),
        ('{{ "x".encode("ascii") * 2000000000 }}', REPEAT),
    ],
    "range": [
        ("{{ range(2000000000) | list | length }}", FORBIDS + f"range() longer than {MAX_LENGTH}"),
        (
            "{% for i in range(10 ** 9) %}{% endfor %}",
            FORBIDS + f"range() longer than {MAX_LENGTH}",
        ),
    ],
    "recursion": [
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", RECURSION),
        ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", RECURSION),
    ],
    "nesting": [
        ("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", NESTING),
        ("{{ " + "[" * 1000 + "]" * 1000 + " }}", NESTING),
        ("{% if 1 %}" * 3000 + "{% endif %}" * 3000, NESTING),
        (
            "{% for i in [1] %}" * 25 + "{% endfor %}" * 25,
            "the template nests blocks too deeply to compile (too many statically nested blocks)",
        ),
    ],
}

CASES = [
    pytest.param(template, error, id=f"{family}-{i}")
    for family, cases in BOMBS.items()
    for i, (template, error) in enumerate(cases)
]


@pytest.mark.parametrize(("template", "error"), CASES)
def test_bomb_is_refused_before_it_runs(template: str, error: str) -> None:
    started = time.monotonic()
    with pytest.raises(RobotError) as caught:
        render_text(template, {"payload": {}, "headers": {}})
    assert caught.value.params["detail"] == error
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("template", "output"),
    [
        (
            '{{ "{:>6}|{:.2f}|{:0>5}|{:,}".format(1, 3.14159, 7, 1234567) }}',
            "     1|3.14|00007|1,234,567",
        ),
        ('{{ "{a:^5}".format_map({"a": "x"}) }}', "  x  "),
        ('{{ "%5.2f|%-4d|%%|%*d" % (3.14159, 7, 3, 1) }}', " 3.14|7   |%|  1"),
        ('{{ "%(a)s=%(b)03d" % {"a": "x", "b": 7} }}', "x=007"),
        ('{{ "%s=%d" | format("a", 1) }}', "a=1"),
        ('{{ "x".ljust(3) }}|{{ "ab" | center(6) }}|{{ "7".zfill(3) }}', "x  |  ab  |007"),
        ('{{ "a\\tb".expandtabs(4) }}|{{ "a\\nb" | indent(2) }}', "a   b|a\n  b"),
        (
            '{{ {"a": 1} | tojson(indent=1) }}|{{ [1, 2, 3] | batch(2, 0) | list }}',
            '{\n "a": 1\n}|[[1, 2], [3, 0]]',
        ),
        (
            "{{ 9 ** 256 > 0 }}|{{ 2 ** 64 }}|{{ 1 ** 10000000 }}|{{ 10 % 3 }}",
            "True|18446744073709551616|1|1",
        ),
        ('{{ "ab" * 3 }}|{{ [0] * 3 }}|{{ range(3) | list }}', "ababab|[0, 0, 0]|[0, 1, 2]"),
        ("{{ " + "(" * 20 + "1" + ")" * 20 + " }}", "1"),
    ],
)
def test_ordinary_templates_still_work(template: str, output: str) -> None:
    assert render_text(template, {"payload": {}, "headers": {}}) == output


@pytest.mark.parametrize(
    ("spec", "sizes"),
    [
        ("%d %s", []),
        ("%5d %-10.3f %%", ["5", "10", "3"]),
        ("%*.*f", ["*", "*"]),
        ("%(name)12s", ["12"]),
        ("%((a))99d", ["99"]),
        ("%#0+ 7x", ["7"]),
        ("%ld %%%5s", ["5"]),
        ("100%", []),
    ],
)
def test_printf_sizes_follow_python(spec: str, sizes: list[str]) -> None:
    assert list(_printf_sizes(spec)) == sizes


def test_template_error_names_deep_nesting() -> None:
    """A robot's template is checked when it is set: deep nesting is refused with the reason,
    not an internal error."""
    assert template_error("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}") == NESTING
    assert template_error("{{ " + "(" * 20 + "1" + ")" * 20 + " }}") is None


def test_the_docs_state_the_limits_of_the_code() -> None:
    text = DOCS.read_text()
    numbers = {int(n.replace(" ", "")) for n in re.findall(r"\b\d{1,3}(?: \d{3})+\b|\b\d+\b", text)}
    assert {MAX_LENGTH, MAX_INT_BITS} <= numbers
