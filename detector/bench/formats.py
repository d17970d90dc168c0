"""``tools/benchmark.py formats``: one model in every deploy format -- file size, val AP/AP50, bs1 CPU latency.

Each format is exported from the checkpoint into a work folder (``tools/export.py``'s code), evaluated on the config's
val split by our evaluator, then all are timed INTERLEAVED in one run (each repeat times every format once, rotating
the order): one RGB image through the Predictor, pre-processing + inference + NMS, at the same square input size
(the files' fixed size; the checkpoint letterboxed square to it too). Speed-up = the paired ratio over repeats
against ``pytorch`` (fp32, BatchNorm folded, channels_last: today's detect path on the CPU).
"""

from __future__ import annotations

import logging
import platform
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from detector.bench.timing import Timing, environment, paired_ratio, time_interleaved
from detector.config import load_config
from detector.config.tool_options import AT_LEAST_0, AT_LEAST_1, option
from detector.data.loader import build_source
from detector.engine.jobs.evaluate_exported import evaluate_backend
from detector.engine.jobs.export import ExportOptions, run_export
from detector.engine.prediction.predictor import Predictor
from detector.runtime.loader import load_backend
from detector.runtime.settings import exported_predict_settings

log = logging.getLogger(__name__)

# name -> (export format, overrides, int8); "pytorch" is the checkpoint itself
FORMATS: dict[str, tuple[str, list[str], bool]] = {
    "pytorch": ("", [], False),
    "onnx": ("onnx", [], False),
    "openvino": ("openvino", [], False),
    "openvino-fp16": ("openvino", ["predict.half=true"], False),  # fp16 weights, the CPU's default precision
    "openvino-int8": ("openvino", [], True),
    "onnx-int8": ("onnx", [], True),  # onnxruntime QDQ; not offered by tools/export.py (docs/INFERENCE.md#deploy)
    "openvino-int8-default": ("openvino", [], True),  # the INT8 IR, its float ops in the CPU's default precision
}
# OpenVINO precision hint per format name (others: by the file; see detector.runtime.openvino_backend)
PRECISION = {"openvino-int8-default": ""}
DEFAULT_FORMATS = ["pytorch", "onnx", "openvino", "openvino-fp16", "openvino-int8"]


@dataclass
class FormatsSettings:
    """Settings of :func:`benchmark_formats` (echoed in the result)."""

    config: str = option(doc="YAML config: data.train calibrates INT8, data.val gives AP", positional=True)
    weights: str = option(doc="the checkpoint every format is exported from")
    work: str = option("runs/bench_formats", "folder for the exported files")  # created
    formats: list[str] = option(
        list(DEFAULT_FORMATS), f"which of {','.join(FORMATS)}", comma=True, example="pytorch,onnx"
    )
    img_size: int | None = option(None, "square input side (default predict/data.img_size)", key="data.img_size")
    threads: int | None = option(None, "CPU threads of every runtime (default: torch's)", range=AT_LEAST_1)
    calib_images: int = option(300, "INT8 calibration images (data.train)", range=AT_LEAST_1)
    evaluate: bool = option(True, "skip AP/AP50 (timing only)", flag="--no-eval", negate=True)
    warmup: int = option(5, "untimed calls per format first", range=AT_LEAST_0)
    iters: int = option(10, "calls per timed run", range=AT_LEAST_1)
    repeats: int = option(7, "interleaved timed runs; the median is reported", range=AT_LEAST_1)
    overrides: list[str] = option(
        [], "config overrides (dotted keys)", positional=True, nargs="*", metavar="key=value"
    )  # e.g. predict.conf=0.25

    def validate(self) -> None:
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise ValueError(f"--formats {bad or self.formats}: choose from {', '.join(FORMATS)}")
        if "pytorch" not in self.formats:
            self.formats.insert(0, "pytorch")  # the reference of the speed-up column
        if not Path(self.weights).is_file():
            raise FileNotFoundError(f"--weights {self.weights}: no such checkpoint")


def work_path(work: str | Path, name: str) -> Path | None:
    """Where format ``name`` is exported in the folder ``work`` (None: the checkpoint itself, nothing written)."""
    name = name.rsplit("-", 1)[0] if name in PRECISION else name
    fmt = FORMATS[name][0] if name in FORMATS else "onnx"
    if not fmt:
        return None
    return Path(work) / (f"{name}.onnx" if fmt == "onnx" else f"{name}_openvino")


def work_names(formats: list[str]) -> list[str]:
    """The files and folders (relative to the work folder) a run over ``formats`` writes, for the files guard."""
    paths = {work_path(".", f) for f in formats} | ({work_path(".", "onnx")} if "onnx-int8" in formats else set())
    return sorted(str(p) for p in paths if p is not None)


def _export(s: FormatsSettings, name: str, side: int, done: dict[str, Path]) -> Path:
    """The file of format ``name`` in ``s.work`` (exported once per run: ``done`` maps the names already written;
    ``openvino-int8-default`` runs the ``openvino-int8`` file)."""
    name = name.rsplit("-", 1)[0] if name in PRECISION else name
    if name in done:
        return done[name]
    fmt, overrides, int8 = FORMATS[name]
    if not fmt:
        return Path(s.weights)
    out = work_path(s.work, name)
    assert out is not None  # fmt is set
    if name == "onnx-int8":
        done[name] = _onnx_int8(s, side, out, done)
        return done[name]
    run_export(  # check=False: no parity / INT8 AP check; this benchmark evaluates every format itself
        ExportOptions(
            weights=s.weights, format=fmt, img_size=[side], out=str(out), exist_ok=True, check=False,
            int8=int8,
            calib_images=s.calib_images, max_ap_drop=1.0, overrides=[*s.overrides, *overrides],
        )
    )  # fmt: skip
    done[name] = out
    return out


def _onnx_int8(s: FormatsSettings, side: int, out: Path, done: dict[str, Path]) -> Path:
    """onnxruntime's QDQ INT8 of the fp32 ONNX file, calibrated like ``--int8`` (the config's data.train)."""
    from detector.runtime.calibration import calibration_batches, calibration_source
    from detector.runtime.onnx_quantize import quantize_onnx_int8

    fp32 = _export(s, "onnx", side, done)
    cfg = load_config(s.config, list(s.overrides))
    batches = calibration_batches(calibration_source(cfg), s.calib_images, (side, side), seed=cfg.train.seed)
    return quantize_onnx_int8(fp32, out, batches)


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [f for f in path.iterdir() if f.is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def benchmark_formats(s: FormatsSettings) -> dict:
    """Export, evaluate and time every format of ``s.formats``; returns ``{"env", "settings", "rows"}`` with one row
    per format: ``format, path, size_mb, AP, AP50, ms (median), ms_min, ms_max, runs_ms, speedup``."""
    s.validate()
    cfg = load_config(s.config, list(s.overrides))
    side = int(s.img_size or cfg.predict.img_size or cfg.data.img_size)
    cfg.data.img_size, cfg.eval.letterbox = side, "square"  # the same input for every format
    threads = s.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    Path(s.work).mkdir(parents=True, exist_ok=True)
    done: dict[str, Path] = {}
    paths = {name: _export(s, name, side, done) for name in s.formats}
    backends = {
        name: load_backend(p, s.overrides, threads=threads, precision=PRECISION.get(name)) for name, p in paths.items()
    }
    image = _sample_image(cfg)
    predictors = {}
    for name, b in backends.items():
        settings = exported_predict_settings(b.info, [o for o in s.overrides if o.startswith("predict.")], str(b.path))
        settings.img_size, settings.letterbox, settings.half = side, "square", False
        predictors[name] = Predictor(b, settings, device="cpu", fuse=False)  # the checkpoint backend is fused
    rows = []
    for name, b in backends.items():
        row: dict = {"format": name, "path": str(paths[name]), "size_mb": round(_size_mb(paths[name]), 3)}
        if s.evaluate:
            res, _, _ = evaluate_backend(b, cfg, progress=False)
            row.update(AP=res["AP"], AP50=res["AP50"])
        rows.append(row)
    fns = {name: (lambda p=p: p([image])) for name, p in predictors.items()}
    timings = time_interleaved(fns, "cpu", s.warmup, s.iters, s.repeats)
    for row in rows:
        row.update(timing_columns(timings[row["format"]], timings["pytorch"]))
    env = {**environment("cpu"), "cpu": _cpu_name(), "threads": threads, **_versions()}
    return {"env": env, "settings": {**asdict(s), "img_size": side}, "rows": rows}


def timing_columns(t: Timing, ref: Timing) -> dict:
    """A format's latency columns from its interleaved timing ``t`` (seconds per call in each repeat): ``ms``
    (median), ``ms_min``, ``ms_max``, ``runs_ms`` (milliseconds per call) and ``speedup`` over ``ref`` (paired)."""
    runs_ms = [r * 1e3 for r in t.runs_s]
    return {
        "ms": statistics.median(runs_ms), "ms_min": min(runs_ms), "ms_max": max(runs_ms), "runs_ms": runs_ms,
        "speedup": paired_ratio(t, ref),
    }  # fmt: skip


def _sample_image(cfg) -> np.ndarray:  # noqa: ANN001 - a Config
    """The first val image (RGB uint8), else the first train image (``--no-eval`` runs need no val split): what
    every format is timed on."""
    try:
        return build_source(cfg.data, "val").load_item(0)[0]
    except (OSError, ValueError, IndexError):
        return build_source(cfg.data, "train").load_item(0)[0]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("onnxruntime", "openvino", "nncf"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "-"
    return out


def formats_markdown(result: dict) -> str:
    """The table of :func:`benchmark_formats` with its environment line."""
    e, s = result["env"], result["settings"]
    lines = [
        f"CPU: {e['cpu']}, {e['threads']} threads; torch {e['torch']}, onnxruntime {e['onnxruntime']}, openvino "
        f"{e['openvino']}, nncf {e['nncf']}; {e['date']}; input {s['img_size']}x{s['img_size']}, batch 1, "
        f"{s['repeats']} interleaved repeats of {s['iters']} calls",
        "",
        "| format | size (MB) | AP | AP50 | bs1 ms (median) | spread (min-max) | speed-up vs pytorch |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        ap = f"{r['AP']:.4f}" if "AP" in r else "-"
        ap50 = f"{r['AP50']:.4f}" if "AP50" in r else "-"
        lines.append(
            f"| {r['format']} | {r['size_mb']:.2f} | {ap} | {ap50} | {r['ms']:.2f} "
            f"| {r['ms_min']:.2f}-{r['ms_max']:.2f} | {r['speedup']:.2f}x |"
        )
    return "\n".join(lines) + "\n"
