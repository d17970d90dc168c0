"""argparse made from an options dataclass (:mod:`detector.config.tool_options`): :func:`add_options` adds a flag per
declared field -- default, help and range from the declaration -- and :func:`options_from_args` builds the dataclass
from the parsed namespace.

A number is parsed and checked against its declared range by its ``type=`` (:func:`number_type`), so a value outside
it makes argparse exit with status 2 and ``argument --conf: must be in [0, 1], got 2``; a comma-separated list
(:func:`number_list_type`) checks every element.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import MISSING
from typing import Any, TypeVar

from detector.config.tool_options import ArgSpec, Declared, declared

T = TypeVar("T")


def _parse_one(s: ArgSpec, text: str) -> int | float:
    what = "an integer" if s.kind is int else "a number"
    try:
        value = int(text) if s.kind is int else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not s.allowed.contains(float(value)):
        raise argparse.ArgumentTypeError(f"must be {s.allowed.describe()}, got {text.strip()}")
    return value


def number_type(s: ArgSpec, tool: str, flag: str) -> Callable[[str], int | float]:
    """An argparse ``type=`` for ``tool``'s ``flag``: parses the text and checks it against ``s.allowed``."""

    def parse(text: str) -> int | float:
        return _parse_one(s, text)

    parse.__name__ = "int" if s.kind is int else "float"
    parse.cli_arg = (tool, flag)  # type: ignore[attr-defined]  # read by the table-coverage test
    parse.spec = s  # type: ignore[attr-defined]
    return parse


def _split(text: str, example: str, noun: str = "values") -> list[str]:
    items = [v.strip() for v in text.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated {noun} like {example}, got {text!r}")
    return items


def number_list_type(s: ArgSpec, tool: str, flag: str) -> Callable[[str], list]:
    """An argparse ``type=`` for a comma-separated list (``320,640``); every element is checked like
    :func:`number_type`."""
    example = "0,4,8" if s.allowed.multiple_of is None else "320,640"

    def parse(text: str) -> list:
        items = _split(text, example)
        try:
            return [_parse_one(s, v) for v in items]
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{e} (in {text!r}; comma-separated, like {example})") from None

    parse.__name__ = "list"
    parse.cli_arg = (tool, flag)  # type: ignore[attr-defined]
    parse.spec = s  # type: ignore[attr-defined]
    return parse


def text_list_type(flag: str, example: str, choices: Iterable[str] | None = None) -> Callable[[str], list[str]]:
    """An argparse ``type=`` for ``flag``'s comma-separated names (``fp32,bf16``), each one of ``choices`` when
    given; an empty list is ``expected comma-separated <flag name> like <example>``."""
    allowed = None if choices is None else sorted(choices)

    def parse(text: str) -> list[str]:
        items = _split(text, example, flag.lstrip("-"))
        bad = [v for v in items if allowed is not None and v not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown value(s) {bad}; choose from {allowed}, e.g. {example}")
        return items

    parse.__name__ = "list"
    return parse


def _shown(d: Declared) -> str | None:
    """The default as the help shows it; None where it says nothing (None, a switch, an empty list)."""
    value = d.default
    if value is MISSING or value is None or isinstance(value, bool) or value == []:
        return None
    if isinstance(value, list):
        return ("," if d.option.comma else " ").join(map(str, value))
    return str(value)


def help_text(d: Declared) -> str:
    """The declared doc, with ``(default: X)`` appended where the default is a value (``%`` escaped for argparse)."""
    shown = _shown(d)
    text = d.option.doc if shown is None else f"{d.option.doc} (default: {shown})"
    return text.replace("%", "%%")


def _value_kwargs(d: Declared, tool: str, flag: str) -> dict[str, Any]:
    o = d.option
    spec = d.spec
    listed = o.comma or o.sweep
    kw: dict[str, Any] = {}
    if spec is not None:
        kw["type"] = number_list_type(spec, tool, flag) if listed else number_type(spec, tool, flag)
    elif listed:
        kw["type"] = text_list_type(flag, o.example or "a,b", o.choices)
    elif o.choices is not None:
        kw["choices"] = o.choices
    if o.nargs is not None:
        kw["nargs"] = o.nargs
    if o.const is not None:
        kw["const"] = o.const
    if o.metavar is not None:
        kw["metavar"] = o.metavar
    elif not o.positional and o.choices is None:
        kw["metavar"] = flag.lstrip("-").replace("-", "_").upper()  # the flag's name (--batches: BATCHES)
    return kw


def _kwargs(d: Declared, tool: str) -> dict[str, Any]:
    o = d.option
    flag = d.flags[0]
    kw: dict[str, Any] = {"help": help_text(d)}
    if d.kind is bool and not d.is_list:  # a switch: --x (False), --no-x (negate: True), or both
        if not o.both and d.default is not o.negate:
            raise TypeError(f"option {d.name}: a switch's default is False (True with negate=True)")
        action = argparse.BooleanOptionalAction if o.both else "store_false" if o.negate else "store_true"
        return {**kw, "action": action, "default": d.default, "dest": d.name}
    kw.update(_value_kwargs(d, tool, flag))
    default = [d.default] if o.sweep and d.default is not MISSING else d.default
    if o.positional:
        kw["metavar"] = kw.get("metavar", flag)
        if default is not MISSING and o.nargs is not None:
            kw["default"] = default
        return kw
    kw["dest"] = d.name
    if d.default is MISSING:
        kw["required"] = True
    else:
        kw["default"] = default
    return kw


def add_options(parser: argparse.ArgumentParser, cls: type, tool: str) -> None:
    """Add every declared option of dataclass ``cls`` to ``parser``, in field order; ``tool`` (``"detect"``,
    ``"benchmark suite"``) names the parser in the ranges table (``detector/cli/tool_table.py`` lists each tool's
    class, so all of its options are the tool's)."""
    for d in declared(cls):
        names = [d.name] if d.option.positional else list(d.flags)
        parser.add_argument(*names, **_kwargs(d, tool))


def options_from_args(args: argparse.Namespace, cls: type[T], **given: Any) -> T:
    """``cls`` built from the parsed ``args``: each declared option's value (a field the parser lacks keeps its
    default), then ``given`` (values the tool computes, e.g. the overrides its config flags stand for)."""
    values = {d.name: getattr(args, d.name) for d in declared(cls) if hasattr(args, d.name)}
    return cls(**{**values, **given})
