"""Jinja2's immutable sandbox, refusing single operations whose result the template can blow up.

A template's time limit is checked between Python steps, so one C-level operation (a big ``**``,
``"x".ljust(2000000000)``) runs to its end however long it takes and however much memory it
needs. The operations whose size a template controls are checked here *before* they run; each
refusal is a :class:`~jinja2.exceptions.SecurityError` that names the limit. Whatever is left
(``join`` of a long list, doubling a string in a loop) is stopped by the render worker's memory
and time limits (see :mod:`gong.integrations.render_pool`).

=============================================  ===================================================
operation                                      refused when
=============================================  ===================================================
``a ** b``, ``a * b`` on integers              the result would be longer than ``MAX_INT_BITS``
``text * n``, ``list * n``                     the result would be longer than ``MAX_LENGTH``
``range(…)``                                   more than ``MAX_LENGTH`` numbers
``text % args``, ``|format(…)``                a width or precision above ``MAX_LENGTH``
``text.format(…)``, ``text.format_map(…)``     a width or precision above ``MAX_LENGTH``
``text.ljust/rjust/center/zfill(n)``           ``n`` above ``MAX_LENGTH``
``text.expandtabs(n)``                         the tabs would grow by more than ``MAX_LENGTH``
``|center(n)``, ``|indent(n)``, ``|batch(n)``  ``n`` above ``MAX_LENGTH``
``|tojson(indent=n)``                          ``n`` above ``MAX_LENGTH``
=============================================  ===================================================
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from jinja2 import filters, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

__all__ = ["MAX_INT_BITS", "MAX_LENGTH", "LimitedSandbox"]

#: Longest string, list or range one operation may build; widest padding, width or precision.
MAX_LENGTH = 100_000
#: Largest integer ``**`` or ``*`` may make, in bits (about 1 233 decimal digits).
MAX_INT_BITS = 4_096

_PADDING = frozenset({"ljust", "rjust", "center", "zfill"})
#: The digits of ``%``-formats (only ASCII, unlike ``str.format``).
_DIGITS = "0123456789"


def _check_width(what: str, width: Any) -> None:
    if isinstance(width, int) and width > MAX_LENGTH:
        raise SecurityError(f"{what} wider than {MAX_LENGTH}")


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) <= 1:
        return  # floats overflow quickly (OverflowError); 0, 1 and -1 stay small
    if exponent > 0 and base.bit_length() * exponent > MAX_INT_BITS:
        raise SecurityError(f"a power larger than {MAX_INT_BITS} bits")


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
            raise SecurityError(f"a product larger than {MAX_INT_BITS} bits")
        return
    for seq, times in ((left, right), (right, left)):
        repeats = isinstance(seq, str | bytes | list | tuple) and isinstance(times, int)
        if repeats and len(seq) * times > MAX_LENGTH:
            raise SecurityError(f"repetition longer than {MAX_LENGTH}")


def _printf_sizes(spec: str) -> Iterator[str]:
    """The widths and precisions of a ``%``-format string, ``*`` where an argument gives one.

    Follows CPython's parser: ``%``, an optional ``(key)`` with nested parentheses, flags,
    width, ``.precision``, a length modifier, the conversion.
    """
    end = len(spec)
    at = spec.find("%")
    while at >= 0:
        at += 1
        if at < end and spec[at] == "(":
            depth = 0
            while at < end:
                depth += {"(": 1, ")": -1}.get(spec[at], 0)
                at += 1
                if depth == 0:
                    break
        while at < end and spec[at] in "#0+- ":
            at += 1
        for leading in ("", "."):
            if leading:
                if at >= end or spec[at] != ".":
                    break
                at += 1
            if at < end and spec[at] == "*":
                yield "*"
                at += 1
                continue
            start = at
            while at < end and spec[at] in _DIGITS:
                at += 1
            if at > start:
                yield spec[start:at]
        while at < end and spec[at] in "hlL":
            at += 1
        at = spec.find("%", at + 1)


def _check_printf(spec: str, args: Any) -> None:
    """Refuse ``spec % args`` when it asks for a width or precision above ``MAX_LENGTH``."""
    values = args if isinstance(args, tuple) else (args,)
    for size in _printf_sizes(spec):
        if size == "*":
            if any(isinstance(v, int) and v > MAX_LENGTH for v in values):
                raise SecurityError(f"a format width or precision larger than {MAX_LENGTH}")
        elif int(size) > MAX_LENGTH:
            raise SecurityError(f"a format width or precision larger than {MAX_LENGTH}")


def _check_format_spec(spec: str) -> None:
    """Refuse a ``str.format`` field spec with a width or precision above ``MAX_LENGTH``.

    After the optional fill and alignment, every run of digits is the ``0`` flag, the width or
    the precision. Any decimal digits count, not only ASCII: ``"{:>１０}"`` is 10 wide.
    """
    if len(spec) >= 2 and spec[1] in "<>=^":
        spec = spec[2:]
    elif spec[:1] in ("<", ">", "=", "^"):
        spec = spec[1:]
    run = ""
    for char in [*spec, ""]:
        if char.isdecimal():
            run += char
            continue
        if run and int(run) > MAX_LENGTH:
            raise SecurityError(f"a format width or precision larger than {MAX_LENGTH}")
        run = ""


class _LimitedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, checking each field's spec once nested fields are in."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(str(format_spec))
        return super().format_field(value, format_spec)


class _LimitedEscapeFormatter(_LimitedFormatter, EscapeFormatter):
    pass


def _safe_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_LENGTH:
        raise SecurityError(f"range() longer than {MAX_LENGTH}")
    return numbers


def _center(value: Any, width: int = 80) -> str:
    _check_width("center", width)
    return filters.do_center(value, width)


def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _check_width("indent", width)
    return filters.do_indent(value, width, first, blank)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_printf(str(value), kwargs or args)
    return filters.do_format(value, *args, **kwargs)


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | None = None) -> Markup:
    _check_width("tojson indent", indent)
    return filters.do_tojson(eval_ctx, value, indent)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _check_width("batch", linecount)
    return filters.do_batch(value, linecount, fill_with)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, refusing operations that would build too much at once."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _safe_range
        self.filters.update(
            center=_center, indent=_indent, format=_format, tojson=_tojson, batch=_batch
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif isinstance(left, str):  # "%": formatting, not the integers' remainder
            _check_printf(left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(obj, "__name__", "")
            if name in _PADDING and args:
                _check_width(f"{name}()", args[0])
            elif name == "expandtabs":
                size = args[0] if args else kwargs.get("tabsize", 8)
                if isinstance(size, int) and owner.count("\t") * size > MAX_LENGTH:
                    raise SecurityError(f"expandtabs() longer than {MAX_LENGTH}")
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``text.format`` and ``text.format_map``, through a formatter that checks widths."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType):
            return None
        owner: Any = value.__self__
        if value.__name__ not in ("format", "format_map") or not isinstance(owner, str):
            return None
        formatter: _LimitedFormatter
        if isinstance(owner, Markup):
            formatter = _LimitedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = _LimitedFormatter(self)
        text_type = type(owner)
        is_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                mapping: Mapping[str, Any] = args[0]
                return text_type(formatter.vformat(owner, (), mapping))
            positional: Sequence[Any] = args
            return text_type(formatter.vformat(owner, positional, kwargs))

        return wrapper
