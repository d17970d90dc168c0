"""The speed columns of a study, measured side by side: every backbone's detector timed in ONE interleaved pass when
the report is made (:func:`detector.bench.timing.time_interleaved`, as ``tools/benchmark.py`` times competing
models), so a busy phase of the machine hits all of them alike instead of whichever one trained last.

Each model is built as ``tools/benchmark.py detector`` builds it (random init, BatchNorm folded, channels_last) and
called end to end (uint8 host image -> /255 -> forward -> decode -> NMS): CPU batch 1 in float32 (the latency) and,
where a GPU is present, CUDA at the study's batch and dtype (the throughput). The record
(``<study>/speed.json``) is reused while the settings, the models and the machine are the same.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from detector.bench.detector import DetectorBenchSettings, build_bench_model
from detector.bench.inference import host_images, make_decode, make_infer
from detector.bench.timing import Timing, environment, time_interleaved
from detector.config import Config, config_to_dict
from detector.study.folder import read_json, write_json
from detector.study.spec import CostSettings

log = logging.getLogger(__name__)

SPEED_RECORD = "speed.json"


@dataclass(frozen=True)
class StudyModel:
    """One backbone's detector as the study times it: its run config (``data.img_size`` is the input side),
    class count and the config file the benchmark command names."""

    cfg: Config
    num_classes: int
    config_path: Path


def benchmark_command(config_path: Path, size: int, num_classes: int, device: str, batch: int, dtype: str) -> str:
    """The ``tools/benchmark.py detector`` command that measures one model's figure alone."""
    return (
        f"python tools/benchmark.py detector {config_path} --device {device} --size {size} --batch {batch} "
        f"--num-classes {num_classes} --dtype {dtype}"
    )


def _random_init(cfg: Config) -> Config:
    """A copy with a randomly initialised backbone (costs do not depend on the weights; nothing is downloaded)."""
    c = copy.deepcopy(cfg)
    c.model.backbone.pretrained = False
    return c


def _bench_settings(c: CostSettings, device: str, size: int, batch: int, dtype: str) -> DetectorBenchSettings:
    return DetectorBenchSettings(
        device=device, size=size, sizes=[size], batch=batch, dtype=dtype, warmup=c.warmup, iters=c.iters,
        repeats=c.repeats,
    )  # fmt: skip


def _call(m: StudyModel, device: torch.device, s: DetectorBenchSettings) -> Callable[[], object]:
    """One end-to-end call of ``m``'s detector on a fixed random uint8 batch (``s.batch`` x 3 x size x size)."""
    cfg = _random_init(m.cfg)
    model, runner = build_bench_model(cfg, m.num_classes, device, s, train=False)
    infer = make_infer(model, make_decode(model, runner, s), device, s, cfg.predict)
    return partial(infer, host_images(s.batch, s.size, device, s.seed), True)


def time_side_by_side(
    models: Mapping[str, StudyModel], c: CostSettings, device: str, batch: int, dtype: str
) -> dict[str, Timing]:
    """Seconds per end-to-end call of every model, timed in one interleaved pass (all models built first)."""
    dev = torch.device(device)
    calls = {}
    for label, m in models.items():
        calls[label] = _call(m, dev, _bench_settings(c, device, m.cfg.data.img_size, batch, dtype))
    try:
        return time_interleaved(calls, dev, c.warmup, c.iters, c.repeats)
    finally:
        del calls
        if dev.type == "cuda":
            torch.cuda.empty_cache()


def _spread(t: Timing) -> dict[str, Any]:
    runs = [r * 1e3 for r in t.runs_s]
    return {"runs_ms": runs, "min_ms": min(runs), "max_ms": max(runs), "stdev_ms": statistics.pstdev(runs)}


def measure_speed(models: Mapping[str, StudyModel], c: CostSettings, *, gpu: bool | None = None) -> dict[str, Any]:
    """``{"models": {label: {"cpu": {"latency_ms", "runs_ms", "min_ms", "max_ms", "stdev_ms", "threads",
    "command"} | None, "gpu": {"img_s", "runs_ms", ..., "batch", "dtype", "device_name", "command"} |
    {"skipped": reason}}}, "env", "loadavg": [1-min load before, after]}``. ``gpu``: None = when CUDA is present.
    ``runs_ms[i]`` of every model come from the same interleaved repeat ``i``."""
    load_before = os.getloadavg()[0]
    out: dict[str, dict[str, Any]] = {label: {"cpu": None} for label in models}
    if c.latency:
        for label, t in time_side_by_side(models, c, "cpu", 1, "fp32").items():
            m = models[label]
            out[label]["cpu"] = {
                "latency_ms": t.median_s * 1e3,
                **_spread(t),
                "threads": torch.get_num_threads(),
                "command": benchmark_command(m.config_path, m.cfg.data.img_size, m.num_classes, "cpu", 1, "fp32"),
            }
    gpu = torch.cuda.is_available() if gpu is None else gpu
    if gpu:
        timings = time_side_by_side(models, c, "cuda", c.gpu_batch, c.gpu_dtype)
        for label, t in timings.items():
            m = models[label]
            out[label]["gpu"] = {
                "img_s": t.throughput(c.gpu_batch),
                **_spread(t),
                "batch": c.gpu_batch,
                "dtype": c.gpu_dtype,
                "device_name": torch.cuda.get_device_name(),
                "command": benchmark_command(
                    m.config_path, m.cfg.data.img_size, m.num_classes, "cuda", c.gpu_batch, c.gpu_dtype
                ),
            }
    else:
        for label in models:
            out[label]["gpu"] = {"skipped": "no CUDA device here: the batch-32 GPU throughput was not measured"}
    return {"models": out, "env": environment("cpu"), "loadavg": [load_before, os.getloadavg()[0]]}


def study_speed(study_dir: Path, models: Mapping[str, StudyModel], c: CostSettings) -> dict[str, Any]:
    """:func:`measure_speed`, or the record in ``study_dir/speed.json`` when it was measured with the same
    settings, the same models (configs, class counts, in the same order) and on the same kind of machine."""
    env = environment("cpu")
    key = {
        "settings": dataclasses.asdict(c),
        "models": {
            label: {"model": config_to_dict(m.cfg)["model"], "img_size": m.cfg.data.img_size, "nc": m.num_classes}
            for label, m in models.items()
        },
        "machine": {k: env[k] for k in ("device_name", "torch", "threads", "cpu_count")},
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    path = study_dir / SPEED_RECORD
    cached = read_json(path)
    if isinstance(cached, dict) and cached.get("key") == key:
        return cached
    log.info("timing %d detector(s) side by side (interleaved)", len(models))
    record = {"key": key, **measure_speed(models, c)}
    write_json(path, record)
    return record
