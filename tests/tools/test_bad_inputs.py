"""What every tool rejects, as one table: (tool, argv, exit status, message fragment), run in-process through each
tool's ``main(argv)`` (``detector.cli.<tool>``). Argument ranges fail in argparse (SystemExit 2) before any model is
built or file read; the rest fail with one ``error:`` line. Plus: every numeric argument of every parser takes its
range from ``detector/cli/tool_args.py``, and docs/CLI.md shows that table."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
import torch

from detector.cli.tool_table import rejects_markdown, tool_args
from tests.helpers import make_gt

TOOL_ARGS = tool_args()

ROOT = Path(__file__).resolve().parents[2]
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py"))


def load_tool(name: str) -> ModuleType:
    """The code of ``tools/<name>.py``: ``detector.cli.<name>``."""
    return importlib.import_module(f"detector.cli.{name}")


def run(tool: str, argv: list[str]) -> int:
    """The tool's exit status: what its ``main`` returns, or the SystemExit code (argparse errors)."""
    try:
        return load_tool(tool).main(argv)
    except SystemExit as e:
        return int(e.code or 0)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Inputs the data-dependent rows read: a YOLO set with class id 7 and 3 names, COCO ground truth and
    predictions with out-of-range scores."""
    root = tmp_path_factory.mktemp("bad_inputs")
    (root / "yolo" / "images").mkdir(parents=True)
    (root / "yolo" / "labels").mkdir()
    cv2.imwrite(str(root / "yolo" / "images" / "a.png"), np.zeros((32, 48, 3), np.uint8))
    (root / "yolo" / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n")
    (root / "names.txt").write_text("cat\ndog\nbird\n")
    gt = make_gt(0, num_images=3)
    (root / "gt.json").write_text(json.dumps(gt))
    ok = {"image_id": gt["images"][0]["id"], "category_id": gt["categories"][0]["id"], "bbox": [1, 1, 5, 5]}
    for name, score in (("score5", 5.0), ("negative", -0.5), ("nan", float("nan"))):
        (root / f"{name}.json").write_text(json.dumps([{**ok, "score": 0.5}, {**ok, "score": score}]))
    (root / "notes.txt").write_text("the user's notes\n")
    (root / "w.pt").write_bytes(b"placeholder: refused before it is read")
    return root


DETECT = ["detect", "--weights", "{data}/missing.pt", "--source", "{data}/missing"]
SHAPES = ["make_shapes", "--out", "{data}/shapes"]
EXPORT = ["export", "--weights", "{data}/missing.pt"]
EVAL = ["eval", "--gt", "{data}/gt.json", "--out", "{data}/eval_out", "--pred"]
BENCH = "benchmark"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def _argv(case) -> list[str]:
    return case.values[0] if hasattr(case, "values") else case[0]


# (argv with the tool first, expected exit status, fragment of the output); {data}: the fixture folder
CASES = [
    # tools/detect.py
    (DETECT + ["--img-size", "33"], 2, "argument --img-size: must be >= 32 and a multiple of 32, got 33"),
    (DETECT + ["--img-size", "0"], 2, "argument --img-size: must be >= 32 and a multiple of 32, got 0"),
    (DETECT + ["--conf", "2"], 2, "argument --conf: must be in [0, 1], got 2"),
    (DETECT + ["--iou", "-1"], 2, "argument --iou: must be in [0, 1], got -1"),
    (DETECT + ["--conf", "-5", "--iou", "7"], 2, "argument --conf: must be in [0, 1], got -5"),
    (DETECT + ["--conf", "nan"], 2, "argument --conf: must be in [0, 1], got nan"),
    (DETECT + ["--conf", "high"], 2, "argument --conf: expected a number, got 'high'"),
    (DETECT + ["--max-det", "0"], 2, "argument --max-det: must be >= 1, got 0"),
    (DETECT + ["--max-det", "1.5"], 2, "argument --max-det: expected an integer, got '1.5'"),
    (DETECT + ["--device", "cuda:99"], 2, "error: --device=cuda:99"),
    pytest.param(
        DETECT + ["--device", "cuda"], 2, "error: --device=cuda but no CUDA device is available", marks=NO_CUDA
    ),
    (DETECT + ["--device", "tpu"], 2, "error: --device=tpu: unknown device"),
    # tools/make_shapes.py
    (SHAPES + ["--num-train", "-5"], 2, "argument --num-train: must be >= 1, got -5"),
    (SHAPES + ["--num-val", "-1"], 2, "argument --num-val: must be >= 0, got -1"),
    (SHAPES + ["--size", "33"], 2, "argument --size/--img-size: must be >= 36, got 33"),
    (SHAPES + ["--size", "0"], 2, "argument --size/--img-size: must be >= 36, got 0"),
    (SHAPES + ["--img-size", "35"], 2, "argument --size/--img-size: must be >= 36, got 35"),
    (SHAPES + ["--seed", "-1"], 2, "argument --seed: must be >= 0, got -1"),
    (SHAPES + ["--frames", "0", "--video-only"], 2, "argument --frames: must be >= 1, got 0"),
    (SHAPES + ["--style", "heldout_a", "--size", "48"], 2, "held-out scenes need images of at least 64 px"),
    # tools/export.py
    (EXPORT + ["--img-size", "48"], 2, "argument --img-size: must be >= 32 and a multiple of 32, got 48"),
    (EXPORT + ["--img-size", "64", "0"], 2, "argument --img-size: must be >= 32 and a multiple of 32, got 0"),
    (EXPORT + ["--opset", "5"], 2, "argument --opset: must be in [11, 20], got 5"),
    (EXPORT + ["--opset", "21"], 2, "argument --opset: must be in [11, 20], got 21"),
    (EXPORT + ["--calib-images", "0"], 2, "argument --calib-images: must be >= 1, got 0"),
    (EXPORT + ["--max-ap-drop", "2"], 2, "argument --max-ap-drop: must be in [-1, 1], got 2"),
    # tools/eval.py (file mode): scores outside [0, 1] or not finite, named by entry index and value
    (EVAL + ["{data}/score5.json"], 2, "result #1: 'score' must be in [0, 1], got 5.0"),
    (EVAL + ["{data}/negative.json"], 2, "result #1: 'score' must be in [0, 1], got -0.5"),
    (EVAL + ["{data}/nan.json"], 2, "result #1: 'score' must be a finite number, got nan"),
    # tools/yolo2coco.py and tools/check_dataset.py: the same verdict on a class id outside the names
    (
        ["yolo2coco", "--images", "{data}/yolo/images", "--names", "{data}/names.txt", "--out", "{data}/y.json"],
        2,
        "{data}/yolo/labels/a.txt:2: class id 7 is outside the 3 names (valid ids 0..2)",
    ),
    (["check_dataset", "--yolo", "{data}/yolo/images", "--names", "{data}/names.txt"], 1, "[FATAL] unknown_category"),
    # detector/job_files.py, every tool: an output that is an input, lies inside an input folder, under a file, or
    # where nothing can be written is refused before any work, with or without --exist-ok (issue 29)
    (
        [
            "eval",
            "configs/shapes_tiny.yaml",
            "data.val.ann={data}/gt.json",
            "--weights",
            "{data}/w.pt",
            "--json",
            "{data}/gt.json",
            "--exist-ok",
            "--out",
            "{data}/ev",
        ],
        2,
        "--json {data}/gt.json is the same file as data.val.ann {data}/gt.json: an output never replaces an input",
    ),
    (EVAL + ["{data}/score5.json", "--json", "{data}/notes.txt/m.json"], 2, "lies under {data}/notes.txt, which is a"),
    (
        [
            "yolo2coco",
            "--images",
            "{data}/yolo/images",
            "--names",
            "{data}/names.txt",
            "--out",
            "{data}/yolo/images/a.png",
            "--exist-ok",
        ],
        2,
        "--out {data}/yolo/images/a.png lies inside the folder --images {data}/yolo/images",
    ),
    (
        [
            "yolo2coco",
            "--images",
            "{data}/yolo/images",
            "--names",
            "{data}/names.txt",
            "--out",
            "{data}/yolo/labels/../labels/x.txt",
            "--exist-ok",
        ],
        2,
        "lies inside the folder the labels beside --images {data}/yolo/labels",
    ),
    (
        ["train", "configs/shapes_tiny.yaml", "--quiet", "train.out_dir={data}/notes.txt/run"],  # an override after
        2,  # an option is parsed as one
        "train.out_dir {data}/notes.txt/run lies under {data}/notes.txt, which is a file, not a folder",
    ),
    (
        ["train", "configs/shapes_tiny.yaml", "train.out_dir={data}/notes.txt"],
        2,
        "train.out_dir {data}/notes.txt is a file, not a folder",
    ),
    (
        ["detect", "--weights", "{data}/w.pt", "--source", "{data}/yolo/images", "--out", "{data}/notes.txt/det"],
        2,
        "--out {data}/notes.txt/det lies under {data}/notes.txt, which is a file",
    ),
    (["detect", "--weights", "{data}/w.pt", "--source", "{data}/yolo/images", "--out", "/proc/x"], 2, "nothing can be"),
    (
        ["detect", "--weights", "{data}/w.pt", "--source", "{data}/yolo/images", "--out", "{data}/w.pt"],
        2,
        "--out {data}/w.pt is a file, not a folder",  # not ck.pt2/ beside it
    ),
    (
        [
            "detect",
            "--weights",
            "{data}/w.pt",
            "--source",
            "{data}/yolo/images/a.png",
            "--out",
            "{data}/yolo/images",
            "--exist-ok",
        ],
        2,
        "--out {data}/yolo/images/a.png is the same file as --source {data}/yolo/images/a.png",
    ),
    (["study", "configs/study_shapes.yaml", "--out", "{data}/notes.txt"], 2, "--out {data}/notes.txt is a file"),
    (
        ["study", "configs/study_shapes.yaml", "--dry-run", "--out", "{data}/notes.txt"],
        2,
        "--out {data}/notes.txt is a file",
    ),
    (SHAPES[:1] + ["--out", "/proc/x"], 2, "--out /proc/x: nothing can be written in /proc"),
    (SHAPES[:1] + ["--out", "{data}/notes.txt/shapes"], 2, "lies under {data}/notes.txt, which is a file"),
    (["download_coco", "--out", "{data}/notes.txt"], 2, "--out {data}/notes.txt is a file, not a folder"),
    (["export", "--weights", "{data}/w.pt", "--out", "{data}/notes.txt/m.onnx"], 2, "lies under {data}/notes.txt"),
    ([BENCH, "eval", "--json", "{data}/notes.txt/b.json"], 2, "--json {data}/notes.txt/b.json lies under"),
    (["check_dataset", "--ann", "{data}/yolo", "--images", "{data}/yolo/images"], 2, "--ann {data}/yolo is a folder"),
    (
        ["check_dataset", "--ann", "{data}/gt.json", "--images", "{data}/gt.json"],
        2,
        "--images {data}/gt.json is a file",
    ),
    (
        ["convert_darknet", "--cfg", "{data}/names.txt", "--weights", "{data}/w.pt", "--out", "{data}/./w.pt"],
        2,
        "--out {data}/w.pt is the same file as --weights {data}/w.pt",
    ),
    # tools/study.py
    (["study", "configs/study_shapes.yaml", "--seeds", "0,-1"], 2, "argument --seeds: must be >= 0, got -1"),
    (["study", "configs/study_shapes.yaml", "--seeds", "0,x"], 2, "argument --seeds: expected an integer, got 'x'"),
    # tools/benchmark.py, one case per numeric argument of each subcommand
    ([BENCH, "suite", "--size", "33"], 2, "argument --size: must be >= 32 and a multiple of 32, got 33"),
    ([BENCH, "suite", "--batch", "0"], 2, "argument --batch: must be >= 1, got 0"),
    ([BENCH, "track", "--weights", "w.pt", "--frames", "0"], 2, "argument --frames: must be >= 1, got 0"),
    ([BENCH, "track", "--weights", "w.pt", "--repeats", "0"], 2, "argument --repeats: must be >= 1, got 0"),
    ([BENCH, "suite", "--latency-sizes", "320,0"], 2, "argument --latency-sizes: must be >= 32 and a multiple of 32"),
    ([BENCH, "suite", "--backbone-size", "16"], 2, "argument --backbone-size: must be >= 32, got 16"),
    ([BENCH, "suite", "--backbone-batch", "0"], 2, "argument --backbone-batch: must be >= 1, got 0"),
    ([BENCH, "suite", "--workers", "-2"], 2, "argument --workers: must be >= 0, got -2"),
    ([BENCH, "suite", "--loader-workers", "1,-1"], 2, "argument --loader-workers: must be >= 0, got -1 (in '1,-1'"),
    ([BENCH, "suite", "--warmup", "-1"], 2, "argument --warmup: must be >= 0, got -1"),
    ([BENCH, "suite", "--iters", "0"], 2, "argument --iters: must be >= 1, got 0"),
    ([BENCH, "suite", "--repeats", "0"], 2, "argument --repeats: must be >= 1, got 0"),
    ([BENCH, "backbone", "--batch", "0"], 2, "argument --batch: must be >= 1, got 0"),
    ([BENCH, "backbone", "--size", "31"], 2, "argument --size: must be >= 32, got 31"),
    ([BENCH, "backbone", "--warmup", "-1"], 2, "argument --warmup: must be >= 0, got -1"),
    ([BENCH, "backbone", "--iters", "0"], 2, "argument --iters: must be >= 1, got 0"),
    ([BENCH, "backbone", "--repeats", "0"], 2, "argument --repeats: must be >= 1, got 0"),
    ([BENCH, "detector", "c.yaml", "--size", "100"], 2, "argument --size: must be >= 32 and a multiple of 32, got 100"),
    ([BENCH, "detector", "c.yaml", "--sizes", "320,33"], 2, "argument --sizes: must be >= 32 and a multiple of 32"),
    ([BENCH, "detector", "c.yaml", "--sizes", ","], 2, "argument --sizes: expected comma-separated values"),
    ([BENCH, "detector", "c.yaml", "--batch", "0"], 2, "argument --batch: must be >= 1, got 0"),
    ([BENCH, "detector", "c.yaml", "--workers", "-1"], 2, "argument --workers: must be >= 0, got -1"),
    ([BENCH, "detector", "c.yaml", "--num-classes", "0"], 2, "argument --num-classes: must be >= 1, got 0"),
    ([BENCH, "detector", "c.yaml", "--conf", "1.5"], 2, "argument --conf: must be in [0, 1], got 1.5"),
    ([BENCH, "detector", "c.yaml", "--iou", "-0.1"], 2, "argument --iou: must be in [0, 1], got -0.1"),
    ([BENCH, "detector", "c.yaml", "--warmup", "-1"], 2, "argument --warmup: must be >= 0, got -1"),
    ([BENCH, "detector", "c.yaml", "--iters", "0"], 2, "argument --iters: must be >= 1, got 0"),
    ([BENCH, "detector", "c.yaml", "--repeats", "0"], 2, "argument --repeats: must be >= 1, got 0"),
    ([BENCH, "formats", "c.yaml", "--weights", "w.pt", "--img-size", "50"], 2, "argument --img-size: must be >= 32"),
    ([BENCH, "formats", "c.yaml", "--weights", "w.pt", "--threads", "0"], 2, "argument --threads: must be >= 1, got 0"),
    ([BENCH, "formats", "c.yaml", "--weights", "w.pt", "--calib-images", "0"], 2, "argument --calib-images: must be"),
    ([BENCH, "formats", "c.yaml", "--weights", "w.pt", "--warmup", "-1"], 2, "argument --warmup: must be >= 0, got -1"),
    ([BENCH, "formats", "c.yaml", "--weights", "w.pt", "--iters", "0"], 2, "argument --iters: must be >= 1, got 0"),
    ([BENCH, "formats", "c.yaml", "--weights", "w.pt", "--repeats", "0"], 2, "argument --repeats: must be >= 1, got 0"),
    ([BENCH, "loader", "--size", "0"], 2, "argument --size: must be >= 32 and a multiple of 32, got 0"),
    ([BENCH, "loader", "--batch", "0"], 2, "argument --batch: must be >= 1, got 0"),
    ([BENCH, "loader", "--workers", "0,-1"], 2, "argument --workers: must be >= 0, got -1"),
    ([BENCH, "loader", "--workers", "0,x"], 2, "argument --workers: expected an integer, got 'x'"),
    ([BENCH, "loader", "--batches", "0"], 2, "argument --batches: must be >= 1, got 0"),
    ([BENCH, "loader", "--warmup", "-1"], 2, "argument --warmup: must be >= 0, got -1"),
    ([BENCH, "eval", "--images", "0"], 2, "argument --images: must be >= 1, got 0"),
    ([BENCH, "eval", "--dets", "0"], 2, "argument --dets: must be >= 1, got 0"),
    ([BENCH, "eval", "--repeats", "0"], 2, "argument --repeats: must be >= 1, got 0"),
    ([BENCH, "eval", "--reference-repeats", "0"], 2, "argument --reference-repeats: must be >= 1, got 0"),
]


@pytest.mark.parametrize(
    ("argv", "code", "fragment"), CASES, ids=[" ".join(_argv(c)).replace("{data}/", "") for c in CASES]
)
def test_bad_input_is_rejected(data: Path, capsys, argv: list[str], code: int, fragment: str) -> None:
    tool, *args = (a.replace("{data}", str(data)) for a in argv)
    fragment = fragment.replace("{data}", str(data))
    assert run(tool, args) == code
    out = capsys.readouterr()
    assert fragment in out.out + out.err and "Traceback" not in out.err, out.out + out.err
    if fragment.startswith("argument "):  # argparse: the usage, then "<prog>: error: argument --flag: ..."
        assert f": error: {fragment}" in out.err
    elif tool != "check_dataset" or code == 2:  # the tool's own error: one line, all it writes to stderr
        assert out.err.count("\n") == 1 and out.err.startswith("error: ") and fragment in out.err
    else:  # the dataset doctor's report, on stdout
        assert fragment in out.out


def test_every_numeric_argument_has_a_bad_input_case() -> None:
    covered = set()
    for case in CASES:
        tool, *args = _argv(case)
        name = f"{tool} {args[0]}" if tool == BENCH else tool
        covered |= {(name, a) for a in args if a.startswith("--")}
    missing = [(tool, flag) for tool, flags in TOOL_ARGS.items() for flag in flags if (tool, flag) not in covered]
    assert not missing, f"add a CASES row for {missing}"


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


def _parser_of(tool: str, monkeypatch) -> argparse.ArgumentParser:
    """The argument parser ``tool``'s main builds (its parse is stopped before it reads anything)."""

    def stop(self, args=None, namespace=None):
        raise _Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", stop)
    with pytest.raises(_Parsed) as parsed:
        load_tool(tool).main([])
    return parsed.value.parser


def _is_number(value) -> bool:
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


@pytest.mark.parametrize("tool", TOOLS)
def test_every_numeric_argument_of_every_parser_uses_the_table(tool: str, monkeypatch) -> None:
    parsers = {tool: _parser_of(tool, monkeypatch)}
    for action in list(parsers[tool]._actions):
        if isinstance(action, argparse._SubParsersAction):  # benchmark's subcommands: "benchmark suite", ...
            parsers.update({f"{tool} {name}": sub for name, sub in action.choices.items()})
    assert set(parsers) - {tool} or tool in TOOL_ARGS, f"{tool} is missing from TOOL_ARGS"
    for name, parser in parsers.items():
        if name == tool and len(parsers) > 1:
            continue  # the top level of a tool with subcommands
        seen = set()
        for action in parser._actions:
            flag = action.option_strings[0] if action.option_strings else action.dest
            checked = getattr(action.type, "cli_arg", None)
            if checked is not None:
                assert checked == (name, flag), f"{name} {flag} uses the range of {checked}"
                seen.add(flag)
            else:
                assert action.type not in (int, float), f"{name} {flag}: type={action.type.__name__} has no range"
                assert not _is_number(action.default), f"{name} {flag}: a number without a range (type=arg_type)"
        assert seen == set(TOOL_ARGS[name]), f"{name}: the parser and TOOL_ARGS list different numeric arguments"


def test_every_tool_is_in_the_table() -> None:
    assert {name.split()[0] for name in TOOL_ARGS} == set(TOOLS)


def test_docs_list_every_entry_of_the_table() -> None:
    doc = (ROOT / "docs" / "CLI.md").read_text()
    assert rejects_markdown() in doc, "docs/CLI.md is stale: paste `python -m detector.cli.tool_table` into it"
    for tool, flags in TOOL_ARGS.items():
        script = f"`tools/{tool.split()[0]}.py{' ' + tool.split()[1] if ' ' in tool else ''}`"
        for flag, spec in flags.items():
            assert f"| {script} | `{flag}` | " in doc and spec.allowed.describe() in doc
    assert "(docs/CLI.md)" in (ROOT / "README.md").read_text()


def test_docs_state_the_guard_and_the_exit_code_table() -> None:
    from detector.cli.exit_codes import exit_codes_markdown
    from detector.job_files import guard_markdown

    doc = (ROOT / "docs" / "CLI.md").read_text()
    assert exit_codes_markdown() in doc, "docs/CLI.md is stale: paste `python -m detector.cli.exit_codes` into it"
    assert guard_markdown() in doc, "docs/CLI.md is stale: paste `python -m detector.job_files` into it"
