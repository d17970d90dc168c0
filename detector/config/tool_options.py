"""Tool options declared once: a field of a tool's options dataclass carries its default, help text, allowed range
and flag, written with :func:`option`::

    @dataclass
    class ExportOptions:
        weights: str = option(doc="checkpoint written by tools/train.py")  # no default: a required --weights
        opset: int = option(17, "ONNX opset (11..20)", range=OPSET)
        img_size: list[int] | None = option(None, "input side, or H W", key="data.img_size", nargs="+")
        fuse: bool = option(True, "do not fold BatchNorm into the convolutions", flag="--no-fuse")

The tools' argparse (``detector/cli/option_args.py``: ``add_options``, ``options_from_args``), the table of numeric
ranges and the rejects table of docs/CLI.md (``detector/cli/tool_table.py``) are made from these declarations, so a
flag's default, help and range are written here and nowhere else. A field that mirrors a config key (``key=``) has
that key's range (and, with ``KEY_DEFAULT``, its default and documentation: ``detector/config/sections.py``). A field
declared without :func:`option` is not on the command line (a callable tests swap, a setting no tool sets).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import MISSING, dataclass
from typing import Any

from detector.config import key_range, option_at
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1, Range
from detector.config.schema import option_doc

__all__ = [
    "AT_LEAST_0", "AT_LEAST_1", "BACKBONE_SIDE", "KEY_DEFAULT", "OPSET", "SHAPES_SIDE", "ArgSpec", "Declared", "Option",
    "Range", "declared", "defaults", "option",
]  # fmt: skip  # the ranges re-exported: a declaration imports from here only

_META = "tool_option"


class _KeyDefault:
    def __repr__(self) -> str:
        return "KEY_DEFAULT"


KEY_DEFAULT: Any = _KeyDefault()  # option(KEY_DEFAULT, key=...): the config key's declared default

# ONNX opsets the exporter supports (detector/runtime/torch_export.py MIN_OPSET..MAX_OPSET; a test keeps the two equal)
OPSET = Range(lo=11, hi=20)
# The shapes generator draws objects of 16 px up to 45 % of the side: 36 px is the smallest side it can draw
# (35 fails); the same bound as the config key data.shapes.img_size.
SHAPES_SIDE = key_range("data.shapes.img_size")
# A backbone input side, pixels: one pixel at the stride-32 level
BACKBONE_SIDE = Range(lo=32)


@dataclass(frozen=True)
class Option:
    """How one field appears on a command line; see :func:`option` for the meaning of each attribute."""

    doc: str
    flags: tuple[str, ...] = ()
    range: Range | None = None
    key: str | None = None
    negate: bool = False
    both: bool = False
    choices: tuple[str, ...] | None = None
    nargs: str | None = None
    const: Any = None
    metavar: str | None = None
    comma: bool = False
    sweep: bool = False
    positional: bool = False
    example: str | None = None


def option(
    default: Any = MISSING,
    doc: str = "",
    *,
    flag: str | tuple[str, ...] = (),
    range: Range | None = None,  # noqa: A002 - the config vocabulary (detector/config/schema.py)
    key: str | None = None,
    negate: bool = False,
    both: bool = False,
    choices: typing.Iterable[str] | None = None,
    nargs: str | None = None,
    const: Any = None,
    metavar: str | None = None,
    comma: bool = False,
    sweep: bool = False,
    positional: bool = False,
    example: str | None = None,
) -> Any:
    """A dataclass field that is a tool option.

    ``default``: the value when the flag is not given (MISSING: a required flag or positional; a list is copied per
    instance; ``KEY_DEFAULT``: config key ``key``'s default). ``doc``: the help text, without the default (the
    parser appends ``(default: X)``); empty with ``key``: the key's documentation. ``flag``: the flag and its
    aliases (default ``--field-name``), or a positional's name in usage. ``range``: the allowed numbers (each
    element of a list), required for a number; ``key``: the config key whose range it has. ``negate``: a bool
    whose flag stores False (``--no-fuse``); ``both``: ``--x`` and ``--no-x``. ``choices``, ``nargs``, ``const``,
    ``metavar``: as argparse's. ``comma``: a list given as one comma-separated value (``320,640``, like
    ``example``); ``sweep``: a scalar given as such a list, the tool running once per value. ``positional``: an
    argument without a flag.
    """
    if key is not None:
        range = range or _key_range_or_none(key)  # noqa: A001
        doc = doc or option_doc(option_at(key))
        if default is KEY_DEFAULT:
            declaration = option_at(key)
            factory = declaration.default_factory
            default = factory() if factory is not MISSING else declaration.default
    flags = (flag,) if isinstance(flag, str) else tuple(flag)
    meta = Option(
        doc, flags, range, key, negate, both, None if choices is None else tuple(choices), nargs, const, metavar,
        comma, sweep, positional, example,
    )  # fmt: skip
    if isinstance(default, list):
        items = list(default)
        return dataclasses.field(default_factory=lambda: list(items), metadata={_META: meta})
    return dataclasses.field(default=default, metadata={_META: meta})


def _key_range_or_none(key: str) -> Range | None:
    try:
        return key_range(key)
    except KeyError:
        option_at(key)  # an unknown key is an error; a key without a range has none
        return None


@dataclass(frozen=True)
class ArgSpec:
    """One numeric argument: its value type (int or float), allowed range and the config key it mirrors."""

    kind: type
    allowed: Range
    key: str | None = None  # config key whose range this is (None: a tool-only argument)


@dataclass(frozen=True)
class Declared:
    """A field declared with :func:`option`: its name, declaration, value type and default (MISSING: none).

    ``kind`` is ``bool``, ``int``, ``float`` or ``str`` (the element type of a list); ``is_list``: a list value."""

    name: str
    option: Option
    kind: type
    is_list: bool
    default: Any

    @property
    def flags(self) -> tuple[str, ...]:
        """The command-line names: the declared ones, else ``--field-name`` (a positional: its usage name)."""
        if self.option.flags:
            return self.option.flags
        return (self.name,) if self.option.positional else ("--" + self.name.replace("_", "-"),)

    @property
    def spec(self) -> ArgSpec | None:
        """The numeric argument's :class:`ArgSpec` (None: not a number); TypeError when a number has no range."""
        if self.kind not in (int, float):
            return None
        if self.option.range is None:
            raise TypeError(f"option {self.name}: a number needs range= or key= (tool_options.option)")
        return ArgSpec(self.kind, self.option.range, self.option.key)


def declared(cls: type) -> list[Declared]:
    """The fields of dataclass ``cls`` declared with :func:`option`, in field order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_META)
        if meta is None:
            continue
        kind, is_list = _value_type(hints[f.name])
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        out.append(Declared(f.name, meta, kind, is_list, default))
    return out


def _value_type(tp: Any) -> tuple[type, bool]:
    """``(element type, is a list)`` of an annotation: ``list[int] | None`` -> ``(int, True)``; ``bool | str``
    (a switch or a named value) -> ``str``; anything else that is not bool, int or float -> ``str``."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] if _is_union(tp) else [tp]
    is_list = any(typing.get_origin(a) is list for a in args)
    elements = [typing.get_args(a)[0] if typing.get_origin(a) is list else a for a in args]
    if elements == [bool]:
        return bool, is_list
    for kind in (int, float):
        if kind in elements:
            return kind, is_list
    return str, is_list


def _is_union(tp: Any) -> bool:
    import types

    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def defaults(cls: type) -> dict[str, Any]:
    """``{field: default}`` of ``cls``'s declared options that have one."""
    return {d.name: d.default for d in declared(cls) if d.default is not MISSING}
