"""Benchmarks that print figures. Subcommands: ``suite`` (all of them, checked against the speed targets),
``backbone`` (ours vs timm), ``detector`` (latency, throughput, training step), ``loader`` (data-loader images/s),
``eval`` (COCO evaluation: pycocotools vs ours), ``track`` (what ``detect --track`` adds per frame). Add more with
``add_<name>_parser``.

python tools/benchmark.py suite --device cuda --out runs/benchmark/h100
python tools/benchmark.py backbone --device cuda --batch 32 --size 640 --dtype bf16 --channels-last
python tools/benchmark.py detector configs/yolo_cspx50.yaml --device cuda --dtype fp32,bf16,fp16
python tools/benchmark.py detector configs/yolo_cspx50.yaml --device cuda --dtype bf16 --train --real-data
python tools/benchmark.py detector configs/yolo_cspx50.yaml --device cpu --sizes 320,640 --batch 4
python tools/benchmark.py loader configs/yolo_cspx50.yaml --workers 0,4,8
python tools/benchmark.py eval --images 5000          # COCO-val-sized: 5,000 images, ~35k boxes, 500k detections
python tools/benchmark.py track --weights runs/shapes_tiny/weights/best.pt --source data/shapes/video/shapes.mp4
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from detector.bench import (
    BackboneBenchSettings,
    DetectorBenchSettings,
    bench_loader,
    benchmark_backbone,
    benchmark_detector,
    shapes_data_overrides,
)
from detector.bench.console import format_backbone, format_detector, format_eval, format_loader
from detector.bench.eval_speed import EvalBenchSettings, bench_eval
from detector.bench.loader import LoaderBenchSettings
from detector.bench.suite import SuiteSettings, run_suite
from detector.cli.benchmark_track import add_track_parser
from detector.cli.exit_codes import EXIT_FAILED, EXIT_OK, run_tool
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import add_config_flags, config_flag_overrides
from detector.config import load_config
from detector.engine.jobs.job_plans import read_config
from detector.job_files import JobFiles
from detector.output_files import write_text_atomic


def _write_json(result: dict, path: str | None) -> None:
    if path:  # checked in main() before the benchmark ran
        write_text_atomic(path, json.dumps(result, indent=2))
        print(f"wrote {path}")


def _add_json_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--exist-ok", action="store_true", help="replace the --json file if it exists")


def run_backbone(args: argparse.Namespace) -> dict:
    """``backbone`` subcommand: forward and train-step images/s of ours vs timm, and their ratio."""
    r = benchmark_backbone(options_from_args(args, BackboneBenchSettings))
    print(format_backbone(r))
    _write_json(r, args.json)
    return r


def add_backbone_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backbone", help="backbone throughput: ours vs timm (same weights and settings)")
    add_options(p, BackboneBenchSettings, "benchmark backbone")
    _add_json_args(p)
    p.set_defaults(func=run_backbone)


def run_detector(args: argparse.Namespace) -> dict:
    """``detector`` subcommand: params/GFLOPs, latency, throughput +/- NMS, optional training step; one run per
    ``--dtype``. Returns (and writes with ``--json``) one result, or ``{"runs": [...]}`` for several dtypes."""
    overrides = [*config_flag_overrides(args, "benchmark detector"), *args.overrides]  # an explicit key=value wins
    if args.shapes_data:
        overrides += shapes_data_overrides(args.size)
    base = options_from_args(args, DetectorBenchSettings, overrides=overrides, dtype=args.dtype[0])
    runs = []
    for dtype in args.dtype:  # --dtype fp32,bf16: one run each
        r = benchmark_detector(replace(base, dtype=dtype))
        print(format_detector(r))
        runs.append(r)
    result = runs[0] if len(runs) == 1 else {"runs": runs}
    _write_json(result, args.json)
    return result


def add_detector_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detector", help="detector latency, throughput (+/- NMS) and training-step images/s")
    add_options(p, DetectorBenchSettings, "benchmark detector")
    p.add_argument(
        "--shapes-data",
        action="store_true",
        help="--real-data from a generated shapes set of --size px JPEGs (COCO-like) instead of the config's split",
    )
    add_config_flags(p, "benchmark detector")  # --conf --iou: predict.conf / predict.iou (the NMS settings)
    _add_json_args(p)
    p.set_defaults(func=run_detector)


def run_loader(args: argparse.Namespace) -> dict:
    """``loader`` subcommand: training-loader images/s (full augmentation) for each worker count."""
    overrides = list(args.overrides)
    if args.shapes_data:
        overrides += shapes_data_overrides(args.size or 640)
    r = bench_loader(options_from_args(args, LoaderBenchSettings, overrides=overrides))
    print(format_loader(r))
    _write_json(r, args.json)
    return r


def add_loader_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("loader", help="training data-loader images/s (mosaic + augmentation) per worker count")
    add_options(p, LoaderBenchSettings, "benchmark loader")
    p.add_argument(
        "--shapes-data",
        action="store_true",
        help="use generated shapes JPEGs of --size px (COCO-like) as the train split",
    )
    _add_json_args(p)
    p.set_defaults(func=run_loader)


def run_eval(args: argparse.Namespace) -> dict:
    """``eval`` subcommand: seconds of pycocotools, faster-coco-eval alone and coco_evaluate on a synthetic set."""
    r = bench_eval(options_from_args(args, EvalBenchSettings))
    print(format_eval(r))
    _write_json(r, args.json)
    return r


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="COCO evaluation seconds: pycocotools vs coco_evaluate (identical stats checked)")
    add_options(p, EvalBenchSettings, "benchmark eval")
    _add_json_args(p)
    p.set_defaults(func=run_eval)


def run_suite_cmd(args: argparse.Namespace) -> dict:
    """``suite`` subcommand: every step, suite.json + suite.md in --out, the report printed at the end."""
    result = run_suite(options_from_args(args, SuiteSettings))
    print()
    print((Path(result["settings"]["out"]) / "suite.md").read_text())
    return result


def add_suite_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suite", help="every speed figure in one run, checked against the targets (JSON + Markdown)")
    add_options(p, SuiteSettings, "benchmark suite")
    p.set_defaults(func=run_suite_cmd)


# Subcommand registrars; other benchmarks append theirs here.
SUBCOMMANDS = [
    add_suite_parser, add_backbone_parser, add_detector_parser, add_loader_parser, add_eval_parser, add_track_parser
]  # fmt: skip


def run_formats(args: argparse.Namespace) -> dict:
    """``formats`` subcommand: one model in every deploy format (detector/bench/formats.py); table + JSON/Markdown."""
    from detector.bench.formats import FormatsSettings, benchmark_formats, formats_markdown

    s = options_from_args(args, FormatsSettings)
    result = benchmark_formats(s)
    table = formats_markdown(result)
    print(table)
    if args.md:
        write_text_atomic(args.md, table, exist_ok=args.exist_ok, option="--md")
    _write_json(result, args.json)
    return result


def add_formats_parser(sub: argparse._SubParsersAction) -> None:
    from detector.bench.formats import FormatsSettings

    p = sub.add_parser("formats", help="one model in every deploy format: size, AP, bs1 CPU latency, speed-up")
    add_options(p, FormatsSettings, "benchmark formats")
    p.add_argument("--md", default=None, help="also write the Markdown table to this file")
    _add_json_args(p)
    p.set_defaults(func=run_formats)


SUBCOMMANDS.append(add_formats_parser)


def build_parser() -> argparse.ArgumentParser:
    parser = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def plan_files(args: argparse.Namespace) -> None:
    """Before the benchmark runs (:class:`JobFiles`): the config is never written; ``--json`` and the suite's
    ``--out`` are not inputs, not under a file and writable; an existing ``--json`` (``formats``: ``--md``, or an
    earlier export in ``--work``) is replaced only with ``--exist-ok`` (the suite checks its own earlier files)."""
    files = JobFiles(exist_ok=getattr(args, "exist_ok", False))
    config = getattr(args, "config", None)
    files.read("CONFIG", config, "file")
    if config and Path(config).is_file():  # the data it names (a missing config: the subcommand says so)
        read_config(files, load_config(config, list(getattr(args, "overrides", []))))
    weights = getattr(args, "weights", None)
    files.read("--weights", weights, must_exist=bool(weights))
    if getattr(args, "json", None):
        files.write_file("--json", args.json)
    if args.command == "formats":
        from detector.bench.formats import work_names

        files.write_folder("--work", args.work, names=work_names(args.formats), exist_ok=None)
        if args.md:
            files.write_file("--md", args.md)
    if args.command == "suite":
        files.write_folder("--out", args.out, names=("suite.json", "suite.md"))
    files.check()


def run_benchmark(argv: list[str] | None = None) -> dict:
    """Run a subcommand and return its result; bad settings raise ``ValueError`` / ``FileNotFoundError`` naming what
    to change."""
    args = build_parser().parse_args(argv)
    plan_files(args)
    return args.func(args)


@run_tool
def main(argv: list[str] | None = None) -> int:
    """Command-line entry: a bad setting or missing data is one line on stderr and exit status 2; a suite with
    failed steps (their figures missing, the others kept) exits with 1."""
    result = run_benchmark(argv)
    failed = [k for k, r in result.get("steps", {}).items() if "error" in r]
    if failed:
        print(f"error: {len(failed)} suite step(s) failed: {', '.join(failed)} (see suite.md)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
