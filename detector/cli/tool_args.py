"""Allowed ranges of the numeric command-line arguments of every tool in ``tools/`` (``TOOL_ARGS``), for argparse.

One table for all tools. An argument that sets a config key has that key's range from its declaration in
``detector/config/sections.py`` (``--img-size`` is ``data.img_size``: >= 32 and a multiple of 32). A tool uses
``type=arg_type(tool, flag)`` (``arg_list_type`` for comma-separated lists), so argparse itself rejects a value
outside the range with exit status 2 and ``argument --conf: must be in [0, 1], got 2``. ``OTHER_CHECKS`` lists what
each tool rejects besides numeric ranges; :func:`rejects_markdown` renders both for ``docs/CLI.md``
(``python -m detector.cli.tool_args`` prints it).
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from detector.config import Config, key_range, option_at, section_type
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1, Range
from detector.config.schema import option_doc

# ONNX opsets the exporter supports (detector/runtime/torch_export.py MIN_OPSET..MAX_OPSET; a test keeps the two equal)
OPSET = Range(lo=11, hi=20)
# The shapes generator draws objects of 16 px up to 45 % of the side: 36 px is the smallest side it can draw
# (35 fails); the same bound as the config key data.shapes.img_size.
SHAPES_SIDE = key_range("data.shapes.img_size")
# A backbone input side, pixels: one pixel at the stride-32 level
BACKBONE_SIDE = Range(lo=32)


@dataclass(frozen=True)
class ArgSpec:
    """One numeric argument: its value type (int or float), allowed range and the config key it mirrors."""

    kind: type
    allowed: Range
    key: str | None = None  # config key whose range this is (None: a tool-only argument)


def _int(allowed: Range) -> ArgSpec:
    return ArgSpec(int, allowed)


def _key(key: str, kind: type = int) -> ArgSpec:
    """An argument that sets (or means the same as) config key ``key``: that key's range."""
    return ArgSpec(kind, key_range(key), key)


@dataclass(frozen=True)
class ConfigFlag:
    """A flag that is an alias of a config key: ``--conf 0.3`` means ``predict.conf=0.3``. With ``const`` the flag
    takes no value and sets the key to it (``--square`` means ``predict.letterbox=square``)."""

    key: str
    const: Any = None


# tool -> flag -> the config key it sets: the one table of the flags that are config keys. A tool adds them with
# :func:`add_config_flags` and turns those given into ``key=value`` overrides with :func:`config_flag_overrides`;
# their ranges (TOOL_ARGS) and help texts come from the keys' declarations.
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


def _alias_specs(tool: str) -> dict[str, ArgSpec]:
    """TOOL_ARGS entries of ``tool``'s value-taking config flags: each key's own range."""
    return {
        flag: ArgSpec(_value_kind(a.key), key_range(a.key), a.key)
        for flag, a in CONFIG_FLAGS.get(tool, {}).items()
        if a.const is None
    }


_TIMING = {"--warmup": _int(AT_LEAST_0), "--iters": _int(AT_LEAST_1), "--repeats": _int(AT_LEAST_1)}

# tool ("detect", or "benchmark suite" for a subcommand) -> flag -> spec. A tool without numeric arguments is listed
# with an empty dict so that the table (and docs/CLI.md) covers every tool.
TOOL_ARGS: dict[str, dict[str, ArgSpec]] = {
    "detect": _alias_specs("detect"),
    "eval": {},
    "export": {
        "--img-size": _key("data.img_size"),
        "--opset": _int(OPSET),
        "--calib-images": _int(AT_LEAST_1),
        "--max-ap-drop": ArgSpec(float, Range(lo=-1.0, hi=1.0)),  # AP is in [0, 1]; < 0 demands a gain (tests)
    },
    "train": {},
    "make_shapes": {
        "--num-train": _key("data.shapes.num_train"),
        "--num-val": _key("data.shapes.num_val"),
        "--size": _key("data.shapes.img_size"),
        "--seed": _key("data.shapes.seed"),
        "--frames": _int(AT_LEAST_1),
    },
    "check_dataset": {},
    "yolo2coco": {},
    "convert_darknet": {},
    "download_coco": {},
    "study": {"--seeds": _key("train.seed")},
    "benchmark suite": {
        "--size": _key("data.img_size"),
        "--batch": _key("train.batch_size"),
        "--latency-sizes": _key("data.img_size"),
        "--backbone-size": _int(BACKBONE_SIDE),
        "--backbone-batch": _int(AT_LEAST_1),
        "--workers": _key("train.workers"),
        "--loader-workers": _key("train.workers"),
        **_TIMING,
    },
    "benchmark backbone": {"--batch": _int(AT_LEAST_1), "--size": _int(BACKBONE_SIDE), **_TIMING},
    "benchmark detector": {
        "--size": _key("data.img_size"),
        "--sizes": _key("data.img_size"),
        "--batch": _key("train.batch_size"),
        "--workers": _key("train.workers"),
        "--num-classes": _key("model.num_classes"),
        **_alias_specs("benchmark detector"),
        **_TIMING,
    },
    "benchmark formats": {
        "--img-size": _key("data.img_size"),
        "--threads": _int(AT_LEAST_1),
        "--calib-images": _int(AT_LEAST_1),
        **_TIMING,
    },
    "benchmark loader": {
        "--size": _key("data.img_size"),
        "--batch": _key("train.batch_size"),
        "--workers": _key("train.workers"),
        "--batches": _int(AT_LEAST_1),
        "--warmup": _int(AT_LEAST_0),
    },
    "benchmark track": {"--frames": _int(AT_LEAST_1), "--repeats": _int(AT_LEAST_1)},
    "benchmark eval": {
        "--images": _int(AT_LEAST_1),
        "--dets": _int(AT_LEAST_1),
        "--repeats": _int(AT_LEAST_1),
        "--reference-repeats": _int(AT_LEAST_1),
    },
}

# What each tool rejects besides the numeric ranges (exit status 2 and a one-line message unless said otherwise).
OTHER_CHECKS: dict[str, list[str]] = {
    "detect": [
        "`--device cuda` / `cuda:N` without that GPU, `mps` without Apple's backend, an unknown device name",
        "`--source` that does not exist, an empty folder or a glob without images, a video that cannot be opened;"
        " no readable image at all: exit 1",
        "`--weights` that is not a readable checkpoint",
    ],
    "eval": [
        "both or neither of the modes (`CONFIG --weights` / `--gt --pred`), an unavailable `--device`",
        "a ground-truth or predictions file that is not COCO: a missing key, an unknown image or category id, a box"
        " that is not 4 finite numbers with w, h >= 0, a `score` that is not a finite number in [0, 1]"
        " (the message names the entry index and the value)",
    ],
    "export": [
        "an unavailable `--device`; `--weights` that is not a readable checkpoint; more than 2 `--img-size`",
        "`--int8` with `--format torchscript` or `onnx`; `--int8` when the config's `data.train` cannot be read;"
        " `--raw` with `--format openvino`; an existing `--out` folder without `--exist-ok`",
        "`--int8` whose val AP drop exceeds `--max-ap-drop`: exit 1, nothing written",
    ],
    "train": ["a config key, type or value outside its range or choices (docs/CONFIG.md): exit 2"],
    "make_shapes": [
        "`--video`/`--video-only` with a held-out `--style`; a held-out style below 64 px (`--size`)",
    ],
    "check_dataset": [
        "neither `--ann --images` nor `--yolo --names`; a missing `--ann` / `--images` / `--yolo` / `--names`",
        "fatal dataset problems found (JSON that is not COCO, a category / class id outside the categories / names):"
        " exit 1, the report on stdout",
    ],
    "yolo2coco": [
        "a label whose class id is outside the names (`<label file>:<line>: class id 7 is outside the 3 names`),"
        " the same verdict as check_dataset; missing `--images` / `--names`",
    ],
    "convert_darknet": ["mixing the two directions (`--cfg --weights` vs `--checkpoint`)"],
    "study": [
        "a study config with an unknown key, a per-backbone override outside `model.backbone.*`, mixed pretrained"
        " settings, or a config that differs from the one stored in an existing study folder (the differing keys"
        " are named)",
    ],
    "download_coco": ["a `--parts` name other than annotations, val2017, train2017; a failed download: exit 1"],
    "benchmark suite": ["an unknown `--steps` name; `--data config` without the config's train split"],
    "benchmark backbone": [],
    "benchmark detector": ["an unknown `--dtype`"],
    "benchmark formats": ["an unknown `--formats` name; a missing `--weights` checkpoint"],
    "benchmark loader": [],
    "benchmark eval": [],
    "benchmark track": ["a `--source` that is not a video; `--weights` that is not a readable checkpoint"],
}


def spec(tool: str, flag: str) -> ArgSpec:
    """The table entry of ``tool``'s ``flag``; KeyError naming both when there is none."""
    try:
        return TOOL_ARGS[tool][flag]
    except KeyError:
        raise KeyError(f"no range for {tool} {flag} in detector/cli/tool_args.py TOOL_ARGS; add one") from None


def check_value(tool: str, flag: str, value: float) -> str | None:
    """None when ``value`` fits the range of ``tool``'s ``flag``, else ``"must be <range>, got <value>"``."""
    s = spec(tool, flag)
    return None if s.allowed.contains(float(value)) else f"must be {s.allowed.describe()}, got {value}"


def _parse_one(s: ArgSpec, text: str) -> int | float:
    what = "an integer" if s.kind is int else "a number"
    try:
        value = int(text) if s.kind is int else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not s.allowed.contains(float(value)):
        raise argparse.ArgumentTypeError(f"must be {s.allowed.describe()}, got {text.strip()}")
    return value


def arg_type(tool: str, flag: str) -> Callable[[str], int | float]:
    """An argparse ``type=`` for ``tool``'s ``flag``: parses the text and checks it against the table's range.

    A bad value makes argparse exit with status 2 and ``argument <flag>: must be <range>, got <text>``.
    """
    s = spec(tool, flag)

    def parse(text: str) -> int | float:
        return _parse_one(s, text)

    parse.__name__ = "int" if s.kind is int else "float"
    parse.cli_arg = (tool, flag)  # type: ignore[attr-defined]  # read by the table-coverage test
    return parse


def arg_list_type(tool: str, flag: str) -> Callable[[str], list]:
    """An argparse ``type=`` for a comma-separated list (``320,640``); every element is checked like ``arg_type``."""
    s = spec(tool, flag)
    example = "0,4,8" if s.allowed.multiple_of is None else "320,640"

    def parse(text: str) -> list:
        items = [v.strip() for v in text.split(",") if v.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected comma-separated values like {example}, got {text!r}")
        try:
            return [_parse_one(s, v) for v in items]
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{e} (in {text!r}; comma-separated, like {example})") from None

    parse.__name__ = "list"
    parse.cli_arg = (tool, flag)  # type: ignore[attr-defined]
    return parse


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
            parser.add_argument(
                flag, dest=dest, type=arg_type(tool, flag), default=None, metavar=dest.upper(),
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


def _script(tool: str) -> str:
    name, _, sub = tool.partition(" ")
    return f"`tools/{name}.py{' ' + sub if sub else ''}`"


def rejects_markdown() -> str:
    """The "What each tool rejects" section of docs/CLI.md: per tool, its numeric arguments (range, config key)
    and its other checks."""
    lines = [
        "## What each tool rejects",
        "",
        "Generated from `detector/cli/tool_args.py` (`python -m detector.cli.tool_args`). "
        "A numeric argument outside its range",
        "stops the tool before any work with exit status 2 and one line, e.g.",
        "`detect.py: error: argument --conf: must be in [0, 1], got 2`; where an argument sets a config key it has",
        "that key's range (docs/CONFIG.md).",
        "",
        "| tool | argument | allowed | config key |",
        "| --- | --- | --- | --- |",
    ]
    for tool, flags in TOOL_ARGS.items():
        if not flags:
            lines.append(f"| {_script(tool)} | (no numeric argument) | | |")
        for flag, s in flags.items():
            kind = "integer" if s.kind is int else "number"
            lines.append(f"| {_script(tool)} | `{flag}` | {kind} {s.allowed.describe()} | {s.key or ''} |")
    lines += ["", "Other checks (exit status 2 and one line unless said otherwise):", ""]
    for tool, checks in OTHER_CHECKS.items():
        for check in checks:
            lines.append(f"- {_script(tool)}: {check}")
    lines += [
        "",
        "## Flags that are config keys",
        "",
        "These flags are aliases of config keys (`CONFIG_FLAGS` in `detector/cli/tool_args.py`, "
        "the one table of them): the",
        "tool turns each into a `key=value` override placed before the command line's own, so `--conf 0.4` and",
        "`predict.conf=0.4` are the same, and an explicit `key=value` wins (with a warning that the key is set twice).",
        "",
        "| tool | flag | config key |",
        "| --- | --- | --- |",
    ]
    for tool, aliases in CONFIG_FLAGS.items():
        for flag, alias in aliases.items():
            value = "VALUE" if alias.const is None else str(alias.const).lower()
            lines.append(f"| {_script(tool)} | `{flag}` | `{alias.key}={value}` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(rejects_markdown(), end="")
