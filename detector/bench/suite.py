"""The benchmark suite: every speed figure of docs/PERFORMANCE.md in one command, checked against the targets.

``run_suite(SuiteSettings(device="cuda", out="runs/benchmark/h100"))`` runs the steps (backbone vs timm, eager and
compiled; detector inference per precision, eager and with CUDA graphs; training step on synthetic tensors and on the
real loader; loader images/s per worker count), writes ``suite.json`` after every step (a crash or a timeout keeps
what was measured) and ``suite.md`` (:func:`detector.bench.render.render_markdown`) at the end. A step that fails is
recorded with its error and the suite goes on.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from detector.bench.backbone import BackboneBenchSettings, benchmark_backbone
from detector.bench.detector import DetectorBenchSettings, benchmark_detector, shapes_data_overrides
from detector.bench.loader import LoaderBenchSettings, bench_loader
from detector.bench.timing import environment
from detector.config.tool_options import AT_LEAST_0, AT_LEAST_1, BACKBONE_SIDE, option
from detector.device import select_device
from detector.output_files import check_output_file, write_text_atomic

CUDA_STEPS = [
    "backbone",
    "backbone_compile",
    "infer_fp32",
    "infer_bf16",
    "infer_fp16",
    "infer_fp16_graphs",
    "infer_bf16_graphs",
    "infer_bf16_gemm1x1",
    "infer_fp16_graphs_gemm1x1",
    "infer_fp16_cudagraphs",
    "train_bf16",
    "profile",
    "ops",
    "peers",
    "loader",
]
CPU_STEPS = ["backbone", "infer_fp32", "train_fp32", "loader"]
# minutes of compilation, or experiments beside the defaults; ask for them with --steps
OPTIONAL_STEPS = ["train_bf16_compile", "infer_bf16_compile", "infer_bf16_cudnn_benchmark"]


@dataclass
class SuiteSettings:
    """What the suite measures. ``None`` fields take per-device defaults (see :func:`resolve_settings`)."""

    config: str = option("configs/yolo_cspx50.yaml", "detector config", positional=True, nargs="?")
    overrides: list[str] = option([], "config overrides (dotted keys)", positional=True, nargs="*", metavar="key=value")
    device: str = option("auto", "cpu | cuda | cuda:N | auto")
    out: str = option("runs/benchmark", "folder for suite.json and suite.md")
    steps: list[str] | None = option(
        None, "comma-separated steps (default: all for the device; see docs)", comma=True, example="backbone,infer_fp32"
    )  # None: CUDA_STEPS on a GPU, CPU_STEPS on the CPU
    size: int | None = option(None, "throughput/training side, px (default 640 GPU, 320 CPU)", key="data.img_size")
    batch: int | None = option(None, "throughput/training batch (default 32 GPU, 2 CPU)", key="train.batch_size")
    latency_sizes: list[int] | None = option(
        None, "batch-1 latency sides (default 320,640)", key="data.img_size", comma=True
    )
    backbone_size: int | None = option(None, "backbone side, px (default 640 GPU, 224 CPU)", range=BACKBONE_SIDE)
    backbone_batch: int | None = option(None, "backbone batch (default 32 GPU, 4 CPU)", range=AT_LEAST_1)
    data: str = option(
        "auto",
        "real-loader data: the config's train split, generated shapes JPEGs, or auto (shapes when the split is "
        "missing)",
        choices=("auto", "config", "shapes"),
    )
    workers: int | None = option(None, "real-data training loader workers (default cores - 1)", key="train.workers")
    loader_workers: list[int] | None = option(
        None, "loader worker counts (default 1,2,4,..)", key="train.workers", comma=True
    )
    warmup: int | None = option(None, "untimed calls first (default 5 GPU, 1 CPU)", range=AT_LEAST_0)
    iters: int | None = option(None, "calls per timed run (default 20 GPU, 2 CPU)", range=AT_LEAST_1)
    repeats: int | None = option(None, "timed runs, median reported (default 5 GPU, 3 CPU)", range=AT_LEAST_1)
    exist_ok: bool = option(False, "replace suite.json / suite.md of an earlier suite in --out")


@dataclass(frozen=True)
class ResolvedSuite:
    """:class:`SuiteSettings` with every per-device default filled in (:func:`resolve_settings`); same fields."""

    config: str
    overrides: list[str]
    device: str
    out: str
    steps: list[str]
    size: int
    batch: int
    latency_sizes: list[int]
    backbone_size: int
    backbone_batch: int
    data: str
    workers: int
    loader_workers: list[int]
    warmup: int
    iters: int
    repeats: int


def _loader_counts(cpus: int) -> list[int]:
    counts, w = [], 1
    while w < cpus:
        counts.append(w)
        w *= 2
    return [*counts, cpus]


def resolve_settings(s: SuiteSettings, device_type: str) -> ResolvedSuite:
    """Fill the ``None`` fields with the defaults of ``device_type`` ("cuda" or "cpu")."""
    gpu, cpus = device_type == "cuda", os.cpu_count() or 1
    return ResolvedSuite(
        config=s.config,
        overrides=list(s.overrides),
        device=s.device,
        out=s.out,
        steps=s.steps or (CUDA_STEPS if gpu else CPU_STEPS),
        size=s.size or (640 if gpu else 320),
        batch=s.batch or (32 if gpu else 2),
        latency_sizes=s.latency_sizes or [320, 640],
        backbone_size=s.backbone_size or (640 if gpu else 224),
        backbone_batch=s.backbone_batch or (32 if gpu else 4),
        data=s.data,
        workers=s.workers if s.workers is not None else max(1, cpus - 1),
        loader_workers=s.loader_workers if s.loader_workers is not None else _loader_counts(cpus),
        warmup=s.warmup if s.warmup is not None else (5 if gpu else 1),
        iters=s.iters or (20 if gpu else 2),
        repeats=s.repeats or (5 if gpu else 3),
    )


def needs_data(steps: list[str]) -> bool:
    """Whether any of ``steps`` reads the training data (the loader and the real-loader training steps)."""
    return any(n == "loader" or n.startswith("train_") for n in steps)


def data_overrides(s: ResolvedSuite) -> tuple[list[str], str]:
    """``(overrides, description)`` of the data the real-loader steps read: the config's train split, or a
    generated shapes set at ``s.size`` px when ``s.data`` is ``shapes`` (or ``auto`` and the split is missing).
    ``data=config`` with the split missing raises ``FileNotFoundError`` when a step needs the data."""
    from detector.config import load_config
    from detector.data.synthetic.shapes_setup import shapes_split_paths

    if s.data not in ("auto", "config", "shapes"):
        raise ValueError(f"data {s.data!r} unknown; choose auto, config or shapes")
    if s.data != "shapes":
        cfg = load_config(s.config, list(s.overrides))
        ann = cfg.data.train.ann
        shapes = cfg.data.shapes  # generated on first use when the train split reads from shapes.root
        generated = (
            bool(ann)
            and shapes is not None
            and Path(ann).resolve() == Path(shapes_split_paths(shapes.root)["train"]["ann"]).resolve()
        )
        present = bool(ann) and (Path(ann).is_file() or generated)
        if s.data == "config" and not present and needs_data(s.steps):
            raise FileNotFoundError(
                f"--data config: the train split of {s.config} is missing (data.train.ann = {ann}); download it "
                f"(python tools/download_coco.py --out data/coco) or use --data shapes (generated COCO-like JPEGs)"
            )
        if present or s.data == "config":
            return list(s.overrides), f"the config's train split ({ann})"
    return [*s.overrides, *shapes_data_overrides(s.size)], f"generated shapes, {s.size} px JPEGs (COCO absent)"


def _detector_step(s: ResolvedSuite, device: str, data: list[str], **kw) -> Callable[[], dict]:
    base = DetectorBenchSettings(
        config=s.config,
        overrides=data if kw.get("real_data") else list(s.overrides),
        device=device,
        size=s.size,
        sizes=s.latency_sizes,
        batch=s.batch,
        channels_last=True,
        fuse=not kw.get("train", False),
        workers=s.workers,
        warmup=s.warmup,
        iters=s.iters,
        repeats=s.repeats,
    )
    return lambda: benchmark_detector(replace(base, **kw))


def _loader_step(s: ResolvedSuite, data: list[str]) -> dict:
    """Loader images/s per worker count; warm-up of one batch per worker (the pipeline is then full) and at least
    3 batches per worker and 64 images timed, so the prefetched queue does not inflate the rate."""
    runs = [
        bench_loader(
            LoaderBenchSettings(
                config=s.config,
                overrides=data,
                size=s.size,
                batch=s.batch,
                workers=[w],
                num_batches=max(s.iters, 3 * w, -(-64 // s.batch)),
                warmup_batches=max(2, w),
            )
        )
        for w in s.loader_workers
    ]
    settings = {**runs[0]["settings"], "workers": list(s.loader_workers)}
    return {**runs[0], "settings": settings, "runs": [r["runs"][0] for r in runs]}


def _profile_step(s: ResolvedSuite, device: str) -> dict:
    """Inference time per operator class (bf16 weights, BatchNorm folded, channels_last, batch and size of the
    throughput steps), with cuDNN's default algorithms and with ``cudnn.benchmark``, plus the top CUDA kernels."""
    import torch

    from detector.bench.detector import bench_config, build_bench_model
    from detector.bench.profile import profile_convs, top_kernels

    bs = DetectorBenchSettings(config=s.config, overrides=list(s.overrides), device=device, size=s.size, dtype="bf16")
    cfg = bench_config(bs)
    model, _ = build_bench_model(cfg, cfg.model.num_classes or 80, select_device(device), bs, train=False)
    x = torch.rand(s.batch, 3, s.size, s.size, device=device, dtype=torch.bfloat16)
    x = x.contiguous(memory_format=torch.channels_last)

    def forward(inp):
        return model.head.decode(model(inp))

    out: dict = {"batch": s.batch, "size": s.size, "dtype": "bf16"}
    previous = torch.backends.cudnn.benchmark
    try:
        for bench in (False, True):
            torch.backends.cudnn.benchmark = bench
            out["cudnn_benchmark" if bench else "default"] = profile_convs(forward, model, x)
    finally:
        torch.backends.cudnn.benchmark = previous
    if device.startswith("cuda"):
        out["top_kernels"] = top_kernels(forward, x)
    return out


def _ops_step(s: ResolvedSuite, device: str) -> dict:
    """Operator micro-benchmarks (:mod:`detector.bench.ops`) at the throughput steps' batch and size."""
    from detector.bench.ops import bench_ops

    dtype = "bf16" if device.startswith("cuda") else "fp32"
    return bench_ops(select_device(device), dtype, s.batch, s.size, s.warmup, s.iters, s.repeats)


def _peers_step(s: ResolvedSuite, device: str, done: dict) -> dict:
    """The peers (:mod:`detector.bench.peers`) at the throughput steps' batch and size, and ours / peer effective
    TFLOP/s from this suite's ``infer_bf16`` (without NMS) and ``train_bf16`` (synthetic) results (fp32 on a CPU)."""
    from detector.bench.peers import PeerBenchSettings, bench_peer, peer_available, per_flop_ratios

    version = peer_available()
    if version is None:
        return {"skipped": "ultralytics is not importable (it is a benchmark peer only, never a dependency)"}
    dtype = "bf16" if device.startswith("cuda") else "fp32"
    ps = PeerBenchSettings(
        device=device, size=s.size, batch=s.batch, dtype=dtype, warmup=s.warmup, iters=s.iters, repeats=s.repeats
    )
    ours: dict = {}
    infer = done.get(f"infer_{dtype}", {})
    if "throughput" in infer:
        ours = {"gflops": infer["model"]["gflops"], "infer_img_s": infer["throughput"]["without_nms"]["img_s"]}
        train = done.get(f"train_{dtype}", {}).get("train", {})
        if "synthetic" in train:
            ours["train_img_s"] = train["synthetic"]["img_s"]
    peers = {}
    for name in ps.models:
        r = bench_peer(name, ps)
        r["ours_per_flop_ratio"] = per_flop_ratios(ours, r) if ours else {}
        peers[name] = r
    return {"ultralytics": version, "ours": ours, "peers": peers}


def step_table(
    s: ResolvedSuite, device: str, data: list[str], done: dict | None = None
) -> dict[str, Callable[[], dict]]:
    """Every known step name -> a function that runs it and returns its result dict. ``done``: the results of the
    steps run so far (the peers step compares with them)."""
    done = {} if done is None else done
    bb = BackboneBenchSettings(
        device=device,
        batch=s.backbone_batch,
        size=s.backbone_size,
        dtype="bf16" if device.startswith("cuda") else "fp32",
        channels_last=True,
        warmup=s.warmup,
        iters=s.iters,
        repeats=s.repeats,
    )
    steps = {
        "backbone": lambda: benchmark_backbone(bb),
        "backbone_compile": lambda: benchmark_backbone(replace(bb, compile=True, warmup=max(3, s.warmup))),
        "infer_fp16_cudagraphs": _detector_step(s, device, data, dtype="fp16", compile="reduce-overhead"),
        "train_bf16_compile": _detector_step(s, device, data, dtype="bf16", train=True, compile=True),
        "infer_fp16_graphs": _detector_step(s, device, data, dtype="fp16", cuda_graphs=True),
        "infer_bf16_graphs": _detector_step(s, device, data, dtype="bf16", cuda_graphs=True),
        "infer_bf16_gemm1x1": _detector_step(s, device, data, dtype="bf16", gemm_1x1=True),
        "infer_fp16_graphs_gemm1x1": _detector_step(s, device, data, dtype="fp16", cuda_graphs=True, gemm_1x1=True),
        "infer_bf16_compile": _detector_step(s, device, data, dtype="bf16", compile=True),
        "infer_bf16_cudnn_benchmark": _detector_step(s, device, data, dtype="bf16", cudnn_benchmark=True),
        "profile": lambda: _profile_step(s, device),
        "ops": lambda: _ops_step(s, device),
        "peers": lambda: _peers_step(s, device, done),
        "loader": lambda: _loader_step(s, data),
    }
    for dtype in ("fp32", "bf16", "fp16"):
        steps[f"infer_{dtype}"] = _detector_step(s, device, data, dtype=dtype)
        steps[f"train_{dtype}"] = _detector_step(s, device, data, dtype=dtype, train=True, real_data=True)
    return steps


def run_suite(settings: SuiteSettings, log: Callable[[str], None] = print) -> dict:
    """Run the steps; returns ``{"env", "settings", "data", "steps": {name: result | {"error": ...}}}`` and writes
    it to ``<out>/suite.json`` (after every step) and the report to ``<out>/suite.md``."""
    from detector.bench.render import render_markdown

    device = select_device(settings.device)
    s = resolve_settings(settings, device.type)
    data, data_desc = data_overrides(s)
    steps_done: dict = {}
    table = step_table(s, str(device), data, steps_done)
    unknown = [n for n in s.steps if n not in table]
    if unknown:
        raise ValueError(f"unknown suite step(s) {unknown}; choose from {sorted(table)}")
    out_dir = Path(s.out)
    for name in ("suite.json", "suite.md"):  # before any step: an earlier suite's figures are kept unless exist_ok
        check_output_file(out_dir / name, "--out", exist_ok=settings.exist_ok, what="the earlier suite's file")
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {"env": environment(device), "settings": asdict(s), "data": data_desc, "steps": steps_done}
    log(f"benchmark suite on {result['env']['device_name']}: {len(s.steps)} steps -> {out_dir}")
    for i, name in enumerate(s.steps, 1):
        t0 = time.perf_counter()
        try:
            result["steps"][name] = table[name]()
            status = "ok"
        except Exception as e:  # one broken step must not lose the others' figures
            result["steps"][name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
            status = f"FAILED ({type(e).__name__}: {e})"
        result["steps"][name]["seconds"] = time.perf_counter() - t0
        log(f"[{i}/{len(s.steps)}] {name}: {status} in {result['steps'][name]['seconds']:.0f} s")
        write_text_atomic(out_dir / "suite.json", json.dumps(result, indent=2))  # this run's own file
    write_text_atomic(out_dir / "suite.md", render_markdown(result))
    return result
