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
from pathlib import Path

from detector.bench import (
    DTYPES,
    BackboneBenchSettings,
    DetectorBenchSettings,
    bench_loader,
    benchmark_backbone,
    benchmark_detector,
    shapes_data_overrides,
)
from detector.bench.detector import COMPILE_MODES
from detector.bench.eval_speed import EvalBenchSettings, bench_eval
from detector.bench.render import format_backbone, format_detector, format_eval, format_loader
from detector.bench.suite import SuiteSettings, run_suite
from detector.cli.benchmark_track import add_track_parser
from detector.cli.exit_codes import EXIT_FAILED, EXIT_OK, run_tool
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import add_config_flags, arg_list_type, arg_type, config_flag_overrides
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
    settings = BackboneBenchSettings(
        name=args.name,
        device=args.device,
        batch=args.batch,
        size=args.size,
        dtype=args.dtype,
        channels_last=args.channels_last,
        compile=args.compile,
        warmup=args.warmup,
        iters=args.iters,
        repeats=args.repeats,
        train=not args.no_train,
    )
    r = benchmark_backbone(settings)
    print(format_backbone(r))
    _write_json(r, args.json)
    return r


def add_backbone_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backbone", help="backbone throughput: ours vs timm (same weights and settings)")
    p.add_argument("--name", default="cspresnext50", help="backbone with a same-named timm model (default %(default)s)")
    p.add_argument("--device", default="auto", help="cpu | cuda | cuda:N | auto (default %(default)s)")
    p.add_argument(
        "--batch",
        type=arg_type("benchmark backbone", "--batch"),
        default=8,
        help="images per call (default %(default)s)",
    )
    p.add_argument(
        "--size",
        type=arg_type("benchmark backbone", "--size"),
        default=224,
        help="square input side in pixels (default %(default)s)",
    )
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="autocast dtype (default %(default)s)")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format for model and input")
    p.add_argument("--compile", action="store_true", help="torch.compile both models")
    p.add_argument(
        "--warmup",
        type=arg_type("benchmark backbone", "--warmup"),
        default=3,
        help="untimed calls first (default %(default)s)",
    )
    p.add_argument(
        "--iters",
        type=arg_type("benchmark backbone", "--iters"),
        default=10,
        help="calls per timed run (default %(default)s)",
    )
    p.add_argument(
        "--repeats",
        type=arg_type("benchmark backbone", "--repeats"),
        default=5,
        help="timed runs; the median is reported (default %(default)s)",
    )
    p.add_argument("--no-train", action="store_true", help="skip the training-step (fwd+bwd) figure")
    _add_json_args(p)
    p.set_defaults(func=run_backbone)


def _dtype_list(text: str) -> list[str]:
    dtypes = [v.strip() for v in text.split(",") if v.strip()]
    bad = [d for d in dtypes if d not in DTYPES]
    if bad or not dtypes:
        raise argparse.ArgumentTypeError(
            f"unknown dtype(s) {bad or text!r}; choose from {sorted(DTYPES)}, e.g. fp32,bf16"
        )
    return dtypes


def run_detector(args: argparse.Namespace) -> dict:
    """``detector`` subcommand: params/GFLOPs, latency, throughput +/- NMS, optional training step; one run per
    ``--dtype``. Returns (and writes with ``--json``) one result, or ``{"runs": [...]}`` for several dtypes."""
    overrides = [*config_flag_overrides(args, "benchmark detector"), *args.overrides]  # an explicit key=value wins
    if args.shapes_data:
        overrides += shapes_data_overrides(args.size)
    runs = []
    for dtype in args.dtype:
        settings = DetectorBenchSettings(
            config=args.config,
            weights=args.weights,
            overrides=overrides,
            device=args.device,
            size=args.size,
            sizes=args.sizes,
            batch=args.batch,
            dtype=dtype,
            channels_last=args.channels_last,
            compile=args.compile or False,
            fuse=args.fuse,
            cuda_graphs=args.cuda_graphs,
            gemm_1x1=args.gemm_1x1,
            train=args.train,
            real_data=args.real_data,
            workers=args.workers,
            num_classes=args.num_classes,
            warmup=args.warmup,
            iters=args.iters,
            repeats=args.repeats,
        )
        r = benchmark_detector(settings)
        print(format_detector(r))
        runs.append(r)
    result = runs[0] if len(runs) == 1 else {"runs": runs}
    _write_json(result, args.json)
    return result


def add_detector_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detector", help="detector latency, throughput (+/- NMS) and training-step images/s")
    p.add_argument("config", help="YAML config, e.g. configs/yolo_cspx50.yaml")
    p.add_argument(
        "--weights",
        default=None,
        help="a checkpoint (its weights instead of random init), an ONNX file or an OpenVINO IR folder (CPU)",
    )
    p.add_argument("overrides", nargs="*", default=[], metavar="key=value", help="config overrides (dotted keys)")
    p.add_argument("--device", default="auto", help="cpu | cuda | cuda:N | auto (default %(default)s)")
    p.add_argument(
        "--size",
        type=arg_type("benchmark detector", "--size"),
        default=640,
        help="throughput/training input side, pixels (default %(default)s)",
    )
    p.add_argument(
        "--sizes",
        type=arg_list_type("benchmark detector", "--sizes"),
        default=None,
        help="batch-1 latency sizes, e.g. 320,640 (default --size)",
    )
    p.add_argument(
        "--batch",
        type=arg_type("benchmark detector", "--batch"),
        default=32,
        help="throughput and training batch (default %(default)s)",
    )
    p.add_argument(
        "--dtype",
        type=_dtype_list,
        default=["fp32"],
        help="dtype(s), e.g. fp32,bf16,fp16, one run each: inference casts the weights, training uses autocast",
    )
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="channels_last memory format for model and input (default: on, as tools/detect.py runs)",
    )
    p.add_argument(
        "--compile",
        nargs="?",
        const="default",
        default=None,
        choices=COMPILE_MODES,
        help="torch.compile the model; optional mode, e.g. reduce-overhead (CUDA graphs) for batch-1 latency",
    )
    p.add_argument(
        "--fuse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fold BatchNorm into the convolutions for inference (default: on, as tools/detect.py runs)",
    )
    p.add_argument(
        "--cuda-graphs",
        action="store_true",
        help="inference: replay forward + decode from a CUDA graph per shape (as tools/detect.py does on CUDA)",
    )
    p.add_argument(
        "--gemm-1x1",
        action="store_true",
        help="inference: 1x1 convolutions as one matrix product with the bias in its epilogue (pointwise_gemm.py)",
    )
    p.add_argument("--train", action="store_true", help="also time the training step on synthetic tensors")
    p.add_argument("--real-data", action="store_true", help="with --train: also feed it from the config's loader")
    p.add_argument(
        "--workers",
        type=arg_type("benchmark detector", "--workers"),
        default=None,
        help="--real-data loader workers (default train.workers)",
    )
    p.add_argument(
        "--shapes-data",
        action="store_true",
        help="--real-data from a generated shapes set of --size px JPEGs (COCO-like) instead of the config's split",
    )
    p.add_argument(
        "--num-classes",
        type=arg_type("benchmark detector", "--num-classes"),
        default=None,
        help="default: model.num_classes, the dataset's, or 80",
    )
    add_config_flags(p, "benchmark detector")  # --conf --iou: predict.conf / predict.iou (the NMS settings)
    p.add_argument(
        "--warmup",
        type=arg_type("benchmark detector", "--warmup"),
        default=3,
        help="untimed calls first (default %(default)s)",
    )
    p.add_argument(
        "--iters",
        type=arg_type("benchmark detector", "--iters"),
        default=10,
        help="calls per timed run (default %(default)s)",
    )
    p.add_argument(
        "--repeats",
        type=arg_type("benchmark detector", "--repeats"),
        default=5,
        help="timed runs; the median is reported (default %(default)s)",
    )
    _add_json_args(p)
    p.set_defaults(func=run_detector)


def run_loader(args: argparse.Namespace) -> dict:
    """``loader`` subcommand: training-loader images/s (full augmentation) for each worker count."""
    overrides = list(args.overrides)
    if args.shapes_data:
        overrides += shapes_data_overrides(args.size or 640)
    r = bench_loader(
        args.config,
        overrides,
        size=args.size,
        batch=args.batch,
        workers=args.workers,
        num_batches=args.batches,
        warmup_batches=args.warmup,
    )
    print(format_loader(r))
    _write_json(r, args.json)
    return r


def add_loader_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("loader", help="training data-loader images/s (mosaic + augmentation) per worker count")
    p.add_argument("config", nargs="?", default=None, help="YAML config (its train split); default: generated shapes")
    p.add_argument("overrides", nargs="*", default=[], metavar="key=value", help="config overrides (dotted keys)")
    p.add_argument(
        "--size",
        type=arg_type("benchmark loader", "--size"),
        default=None,
        help="input side, pixels (default data.img_size or 640)",
    )
    p.add_argument(
        "--batch",
        type=arg_type("benchmark loader", "--batch"),
        default=None,
        help="images per batch (default train.batch_size or 16)",
    )
    p.add_argument(
        "--workers",
        type=arg_list_type("benchmark loader", "--workers"),
        default=None,
        help="worker counts, e.g. 0,4,8 (default train.workers)",
    )
    p.add_argument(
        "--shapes-data",
        action="store_true",
        help="use generated shapes JPEGs of --size px (COCO-like) as the train split",
    )
    p.add_argument(
        "--batches",
        type=arg_type("benchmark loader", "--batches"),
        default=10,
        help="timed batches (default %(default)s)",
    )
    p.add_argument(
        "--warmup",
        type=arg_type("benchmark loader", "--warmup"),
        default=2,
        help="untimed batches first (default %(default)s)",
    )
    _add_json_args(p)
    p.set_defaults(func=run_loader)


def run_eval(args: argparse.Namespace) -> dict:
    """``eval`` subcommand: seconds of pycocotools, faster-coco-eval alone and coco_evaluate on a synthetic set."""
    settings = EvalBenchSettings(
        images=args.images, dets_per_image=args.dets, repeats=args.repeats, reference_repeats=args.reference_repeats
    )
    r = bench_eval(settings)
    print(format_eval(r))
    _write_json(r, args.json)
    return r


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="COCO evaluation seconds: pycocotools vs coco_evaluate (identical stats checked)")
    p.add_argument(
        "--images",
        type=arg_type("benchmark eval", "--images"),
        default=5000,
        help="images, ~7 boxes each (default %(default)s: COCO val)",
    )
    p.add_argument(
        "--dets",
        type=arg_type("benchmark eval", "--dets"),
        default=100,
        help="detections per image (default %(default)s)",
    )
    p.add_argument(
        "--repeats",
        type=arg_type("benchmark eval", "--repeats"),
        default=3,
        help="timed runs of our engines, median (default %(default)s)",
    )
    p.add_argument(
        "--reference-repeats",
        type=arg_type("benchmark eval", "--reference-repeats"),
        default=1,
        help="pycocotools runs (default %(default)s)",
    )
    _add_json_args(p)
    p.set_defaults(func=run_eval)


def run_suite_cmd(args: argparse.Namespace) -> dict:
    """``suite`` subcommand: every step, suite.json + suite.md in --out, the report printed at the end."""
    settings = SuiteSettings(
        config=args.config,
        overrides=list(args.overrides),
        device=args.device,
        out=args.out,
        steps=args.steps,
        size=args.size,
        batch=args.batch,
        latency_sizes=args.latency_sizes,
        backbone_size=args.backbone_size,
        backbone_batch=args.backbone_batch,
        data=args.data,
        workers=args.workers,
        loader_workers=args.loader_workers,
        warmup=args.warmup,
        iters=args.iters,
        repeats=args.repeats,
        exist_ok=args.exist_ok,
    )
    result = run_suite(settings)
    print()
    print((Path(result["settings"]["out"]) / "suite.md").read_text())
    return result


def _str_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_suite_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suite", help="every speed figure in one run, checked against the targets (JSON + Markdown)")
    p.add_argument(
        "config", nargs="?", default="configs/yolo_cspx50.yaml", help="detector config (default %(default)s)"
    )
    p.add_argument("overrides", nargs="*", default=[], metavar="key=value", help="config overrides (dotted keys)")
    p.add_argument("--device", default="auto", help="cpu | cuda | cuda:N | auto (default %(default)s)")
    p.add_argument("--out", default="runs/benchmark", help="folder for suite.json and suite.md (default %(default)s)")
    p.add_argument(
        "--steps", type=_str_list, default=None, help="comma-separated steps (default: all for the device; see docs)"
    )
    p.add_argument(
        "--size",
        type=arg_type("benchmark suite", "--size"),
        default=None,
        help="throughput/training side, px (default 640 GPU, 320 CPU)",
    )
    p.add_argument(
        "--batch",
        type=arg_type("benchmark suite", "--batch"),
        default=None,
        help="throughput/training batch (default 32 GPU, 2 CPU)",
    )
    p.add_argument(
        "--latency-sizes",
        type=arg_list_type("benchmark suite", "--latency-sizes"),
        default=None,
        help="batch-1 latency sides (default 320,640)",
    )
    p.add_argument(
        "--backbone-size",
        type=arg_type("benchmark suite", "--backbone-size"),
        default=None,
        help="backbone side, px (default 640 GPU, 224 CPU)",
    )
    p.add_argument(
        "--backbone-batch",
        type=arg_type("benchmark suite", "--backbone-batch"),
        default=None,
        help="backbone batch (default 32 GPU, 4 CPU)",
    )
    p.add_argument(
        "--data",
        choices=("auto", "config", "shapes"),
        default="auto",
        help="real-loader data: the config's train split, generated shapes JPEGs, or auto (shapes when the split "
        "is missing; default)",
    )
    p.add_argument(
        "--workers",
        type=arg_type("benchmark suite", "--workers"),
        default=None,
        help="real-data training loader workers (default cores - 1)",
    )
    p.add_argument(
        "--loader-workers",
        type=arg_list_type("benchmark suite", "--loader-workers"),
        default=None,
        help="loader worker counts (default 1,2,4,..)",
    )
    p.add_argument(
        "--warmup",
        type=arg_type("benchmark suite", "--warmup"),
        default=None,
        help="untimed calls first (default 5 GPU, 1 CPU)",
    )
    p.add_argument(
        "--iters",
        type=arg_type("benchmark suite", "--iters"),
        default=None,
        help="calls per timed run (default 20 GPU, 2 CPU)",
    )
    p.add_argument(
        "--repeats",
        type=arg_type("benchmark suite", "--repeats"),
        default=None,
        help="timed runs, median reported (default 5 GPU, 3 CPU)",
    )
    p.add_argument("--exist-ok", action="store_true", help="replace suite.json / suite.md of an earlier suite in --out")
    p.set_defaults(func=run_suite_cmd)


# Subcommand registrars; other benchmarks append theirs here.
SUBCOMMANDS = [
    add_suite_parser, add_backbone_parser, add_detector_parser, add_loader_parser, add_eval_parser, add_track_parser
]  # fmt: skip


def run_formats(args: argparse.Namespace) -> dict:
    """``formats`` subcommand: one model in every deploy format (detector/bench/formats.py); table + JSON/Markdown."""
    from detector.bench.formats import FormatsSettings, benchmark_formats, formats_markdown

    s = FormatsSettings(
        config=args.config, weights=args.weights, work=args.work, formats=args.formats, img_size=args.img_size,
        threads=args.threads, calib_images=args.calib_images, evaluate=not args.no_eval, warmup=args.warmup,
        iters=args.iters, repeats=args.repeats, overrides=list(args.overrides),
    )  # fmt: skip
    result = benchmark_formats(s)
    table = formats_markdown(result)
    print(table)
    if args.md:
        write_text_atomic(args.md, table, exist_ok=args.exist_ok, option="--md")
    _write_json(result, args.json)
    return result


def add_formats_parser(sub: argparse._SubParsersAction) -> None:
    from detector.bench.formats import DEFAULT_FORMATS, FORMATS

    p = sub.add_parser("formats", help="one model in every deploy format: size, AP, bs1 CPU latency, speed-up")
    p.add_argument("config", help="YAML config: data.train calibrates INT8, data.val gives AP")
    p.add_argument("overrides", nargs="*", default=[], metavar="key=value", help="config overrides (dotted keys)")
    p.add_argument("--weights", required=True, help="the checkpoint every format is exported from")
    p.add_argument(
        "--formats",
        type=_str_list,
        default=list(DEFAULT_FORMATS),
        help=f"which of {','.join(FORMATS)} (default: all but onnx-int8)",
    )
    p.add_argument("--work", default="runs/bench_formats", help="folder for the exported files (replaced)")
    p.add_argument(
        "--img-size",
        type=arg_type("benchmark formats", "--img-size"),
        default=None,
        help="square input side (default predict/data.img_size)",
    )
    p.add_argument(
        "--threads",
        type=arg_type("benchmark formats", "--threads"),
        default=None,
        help="CPU threads of every runtime (default: torch's)",
    )
    p.add_argument(
        "--calib-images",
        type=arg_type("benchmark formats", "--calib-images"),
        default=300,
        help="INT8 calibration images (data.train)",
    )
    p.add_argument("--no-eval", action="store_true", help="skip AP/AP50 (timing only)")
    p.add_argument(
        "--warmup", type=arg_type("benchmark formats", "--warmup"), default=5, help="untimed calls per format first"
    )
    p.add_argument("--iters", type=arg_type("benchmark formats", "--iters"), default=10, help="calls per timed run")
    p.add_argument(
        "--repeats",
        type=arg_type("benchmark formats", "--repeats"),
        default=7,
        help="interleaved timed runs; the median is reported",
    )
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
    ``--out`` are not inputs, not under a file and writable; an existing ``--json`` is replaced only with
    ``--exist-ok`` (the suite checks its own earlier files)."""
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

        files.write_folder("--work", args.work, names=work_names(args.formats))
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
