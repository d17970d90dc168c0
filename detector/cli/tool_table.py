"""The table of every tool's numeric arguments (:func:`tool_args`; :func:`arg_type` for a parser's ``type=``) and
the "What each tool rejects" section of docs/CLI.md (:func:`rejects_markdown`; ``python -m detector.cli.tool_table``
prints it), both made from the tools' option declarations (:mod:`detector.config.tool_options`):
:data:`TOOL_OPTIONS` names each tool's options dataclass, whose numeric fields are its arguments, and
``CONFIG_FLAGS`` adds the flags that are config keys. ``OTHER_CHECKS`` lists, in words, what each tool rejects
besides numeric ranges.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from detector.cli.option_args import number_list_type, number_type
from detector.cli.tool_args import CONFIG_FLAGS, alias_specs
from detector.config.tool_options import ArgSpec, declared

# tool ("detect", or "benchmark suite" for a subcommand) -> its options dataclass ("module:Class"; None: a tool
# whose arguments are paths and switches only, written in its parser). Every declared option of the class is on the
# tool's parser (detector/cli/option_args.py add_options); the order is the docs table's.
TOOL_OPTIONS: dict[str, str | None] = {
    "detect": "detector.engine.jobs.detect:DetectOptions",
    "eval": "detector.engine.jobs.evaluate:EvalOptions",
    "export": "detector.engine.jobs.export:ExportOptions",
    "train": None,
    "make_shapes": "detector.cli.make_shapes:ShapesOptions",
    "check_dataset": None,
    "yolo2coco": None,
    "convert_darknet": None,
    "download_coco": "detector.cli.download_coco:DownloadOptions",
    "study": "detector.study.study_job:StudyOptions",
    "benchmark suite": "detector.bench.suite:SuiteSettings",
    "benchmark backbone": "detector.bench.backbone:BackboneBenchSettings",
    "benchmark detector": "detector.bench.detector:DetectorBenchSettings",
    "benchmark formats": "detector.bench.formats:FormatsSettings",
    "benchmark loader": "detector.bench.loader:LoaderBenchSettings",
    "benchmark track": "detector.bench.track:TrackBenchSettings",
    "benchmark eval": "detector.bench.eval_speed:EvalBenchSettings",
}


def options_class(tool: str) -> type | None:
    """The options dataclass of ``tool`` (:data:`TOOL_OPTIONS`), imported now; None for a tool without one."""
    where = TOOL_OPTIONS[tool]
    if where is None:
        return None
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)


def tool_args() -> dict[str, dict[str, ArgSpec]]:
    """tool -> flag -> :class:`ArgSpec` of every numeric argument: its config-key flags (``CONFIG_FLAGS``), then the
    numeric options of its dataclass. A tool without numeric arguments maps to an empty dict, so the table (and
    docs/CLI.md) covers every tool."""
    table: dict[str, dict[str, ArgSpec]] = {}
    for tool in TOOL_OPTIONS:
        cls = options_class(tool)
        specs = dict(alias_specs(tool)) if tool in CONFIG_FLAGS else {}
        for d in declared(cls) if cls is not None else []:
            if d.spec is not None:
                specs[d.flags[0]] = d.spec
        table[tool] = specs
    return table


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
        return tool_args()[tool][flag]
    except KeyError:
        raise KeyError(
            f"no range for {tool} {flag}: declare it with option(..., range=...) in the tool's options class"
        ) from None


def check_value(tool: str, flag: str, value: float) -> str | None:
    """None when ``value`` fits the range of ``tool``'s ``flag``, else ``"must be <range>, got <value>"``."""
    s = spec(tool, flag)
    return None if s.allowed.contains(float(value)) else f"must be {s.allowed.describe()}, got {value}"


def arg_type(tool: str, flag: str) -> Callable[[str], int | float]:
    """An argparse ``type=`` for ``tool``'s ``flag`` with its range from the table
    (:func:`detector.cli.option_args.number_type`)."""
    return number_type(spec(tool, flag), tool, flag)


def arg_list_type(tool: str, flag: str) -> Callable[[str], list]:
    """An argparse ``type=`` for a comma-separated list (``320,640``); every element is checked like ``arg_type``."""
    return number_list_type(spec(tool, flag), tool, flag)


def _script(tool: str) -> str:
    name, _, sub = tool.partition(" ")
    return f"`tools/{name}.py{' ' + sub if sub else ''}`"


def rejects_markdown() -> str:
    """The "What each tool rejects" section of docs/CLI.md: per tool, its numeric arguments (range, config key)
    and its other checks."""
    lines = [
        "## What each tool rejects",
        "",
        "Generated from the tools' option declarations (`python -m detector.cli.tool_table`): each argument is a",
        "field of its tool's options dataclass declared once with `option(default, doc, range=...)`",
        "(`detector/config/tool_options.py`), which also gives its default and `--help` text. A numeric argument",
        "outside its range stops the tool before any work with exit status 2 and one line, e.g.",
        "`detect.py: error: argument --conf: must be in [0, 1], got 2`; where an argument sets a config key it has",
        "that key's range (docs/CONFIG.md).",
        "",
        "| tool | argument | allowed | config key |",
        "| --- | --- | --- | --- |",
    ]
    for tool, flags in tool_args().items():
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
