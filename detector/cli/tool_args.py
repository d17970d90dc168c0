"""Flags that are config keys (``CONFIG_FLAGS``: ``--conf 0.3`` means ``predict.conf=0.3``): the one table of them,
the parser flags made from it (:func:`add_config_flags`) and the overrides they give (:func:`config_flag_overrides`).

The tools' other options are fields of their options dataclasses, declared once with
:func:`detector.config.tool_options.option` (default, help, range) and added to argparse by
:func:`detector.cli.option_args.add_options`; the table of every numeric argument and its range, ``OTHER_CHECKS``
and the docs/CLI.md section are made from both in ``detector/cli/tool_table.py``. A bad value makes argparse exit
with status 2 and ``argument --conf: must be in [0, 1], got 2``.
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import dataclass
from typing import Any

from detector.cli.option_args import number_type
from detector.config import Config, key_range, option_at, section_type
from detector.config.schema import option_doc
from detector.config.tool_options import BACKBONE_SIDE, OPSET, SHAPES_SIDE, ArgSpec

__all__ = ["BACKBONE_SIDE", "OPSET", "SHAPES_SIDE", "ArgSpec"]  # re-exported: the named ranges and the table's spec


@dataclass(frozen=True)
class ConfigFlag:
    """A flag that is an alias of a config key: ``--conf 0.3`` means ``predict.conf=0.3``. With ``const`` the flag
    takes no value and sets the key to it (``--square`` means ``predict.letterbox=square``)."""

    key: str
    const: Any = None


# tool -> flag -> the config key it sets: the one table of the flags that are config keys. A tool adds them with
# :func:`add_config_flags` and turns those given into ``key=value`` overrides with :func:`config_flag_overrides`;
# their ranges (detector/cli/tool_table.py) and help texts come from the keys' declarations.
CONFIG_FLAGS: dict[str, dict[str, ConfigFlag]] = {
    "detect": {
        "--img-size": ConfigFlag("predict.img_size"),
        "--conf": ConfigFlag("predict.conf"),
        "--iou": ConfigFlag("predict.iou"),
        "--max-det": ConfigFlag("predict.max_det"),
        "--half": ConfigFlag("predict.half", True),
        "--square": ConfigFlag("predict.letterbox", "square"),
    },
    "export": {"--half": ConfigFlag("predict.half", True)},
    "benchmark detector": {"--conf": ConfigFlag("predict.conf"), "--iou": ConfigFlag("predict.iou")},
}


def _value_kind(key: str) -> type:
    """``int`` or ``float``: the numeric type of config key ``key`` (``int | None`` -> ``int``)."""
    section = key.rsplit(".", 1)[0]
    cls: Any = Config
    for part in section.split("."):
        cls = section_type(typing.get_type_hints(cls)[part])
    tp = typing.get_type_hints(cls)[key.rsplit(".", 1)[1]]
    return float if float in (tp, *typing.get_args(tp)) else int


def alias_specs(tool: str) -> dict[str, ArgSpec]:
    """The table entries (detector/cli/tool_table.py) of ``tool``'s value-taking config flags: each key's own range."""
    return {
        flag: ArgSpec(_value_kind(a.key), key_range(a.key), a.key)
        for flag, a in CONFIG_FLAGS.get(tool, {}).items()
        if a.const is None
    }


def add_config_flags(parser: argparse.ArgumentParser, tool: str) -> None:
    """Add ``tool``'s flags of :data:`CONFIG_FLAGS` to ``parser``: value flags parsed and range-checked like
    :func:`arg_type`, help from the key's declaration; unset flags stay None (the config's value applies)."""
    for flag, alias in CONFIG_FLAGS[tool].items():
        doc = option_doc(option_at(alias.key))
        dest = flag.lstrip("-").replace("-", "_")
        if alias.const is not None:
            text = str(alias.const).lower() if isinstance(alias.const, bool) else alias.const
            parser.add_argument(
                flag, dest=dest, action="store_const", const=alias.const, default=None,
                help=f"= {alias.key}={text} ({doc})",
            )  # fmt: skip
        else:
            kind = number_type(alias_specs(tool)[flag], tool, flag)
            parser.add_argument(
                flag, dest=dest, type=kind, default=None, metavar=dest.upper(),
                help=f"= {alias.key}=VALUE: {doc} (default: the config's)",
            )  # fmt: skip


def config_flag_overrides(args: argparse.Namespace, tool: str) -> list[str]:
    """The ``key=value`` overrides that ``tool``'s config flags given in ``args`` stand for (table order); put them
    before the command line's own ``key=value`` overrides so that an explicit key wins (and is warned about)."""
    out = []
    for flag, alias in CONFIG_FLAGS[tool].items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            out.append(f"{alias.key}={str(value).lower() if isinstance(value, bool) else value}")
    return out
