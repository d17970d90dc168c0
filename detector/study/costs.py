"""What each backbone's detector costs: parameters, GFLOPs at the study's input size, CPU batch-1 latency and CUDA
batched throughput, measured by the code of ``tools/benchmark.py detector`` (:mod:`detector.bench`).

The model is built as that benchmark builds it (random init, BatchNorm folded, channels_last: the form
``tools/detect.py`` runs) and timed by the same function (:func:`detector.bench.inference.bench_inference`: batch-1
end-to-end latency = uint8 host image -> /255 -> forward -> decode -> NMS, median of ``repeats`` runs of ``iters``
calls after ``warmup``), so a latency here is within the run-to-run spread of the command in ``"command"``.
The record (``<study>/<label>/cost.json``) is reused while the settings, the model and the machine are the same.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch

from detector.bench.detector import DetectorBenchSettings, build_bench_model
from detector.bench.inference import bench_inference
from detector.bench.timing import environment
from detector.config import Config, config_to_dict
from detector.model import build_model
from detector.study.folder import read_json, write_json
from detector.study.spec import CostSettings
from detector.summary import count_parameters, model_flops

log = logging.getLogger(__name__)

COST_RECORD = "cost.json"


def _settings(c: CostSettings, device: str, size: int, batch: int, dtype: str) -> DetectorBenchSettings:
    return DetectorBenchSettings(
        device=device, size=size, sizes=[size], batch=batch, dtype=dtype, warmup=c.warmup, iters=c.iters,
        repeats=c.repeats,
    )  # fmt: skip


def _bench(cfg: Config, num_classes: int, s: DetectorBenchSettings) -> dict[str, Any]:
    """:func:`bench_inference` on a model built as ``tools/benchmark.py detector`` builds it."""
    device = torch.device(s.device)
    model, runner = build_bench_model(cfg, num_classes, device, s, train=False)
    try:
        return bench_inference(model, runner, device, s, cfg.predict)
    finally:
        del model, runner
        if device.type == "cuda":
            torch.cuda.empty_cache()


def benchmark_command(config_path: Path, size: int, num_classes: int, device: str, batch: int, dtype: str) -> str:
    """The ``tools/benchmark.py detector`` command that measures the same figure."""
    return (
        f"python tools/benchmark.py detector {config_path} --device {device} --size {size} --batch {batch} "
        f"--num-classes {num_classes} --dtype {dtype}"
    )


def measure_cost(
    cfg: Config, num_classes: int, settings: CostSettings, config_path: Path, *, gpu: bool | None = None
) -> dict[str, Any]:
    """``{"params", "gflops", "size", "cpu": {"latency_ms", "runs_ms", "command"} | None, "gpu": {"img_s", "batch",
    "dtype", "device_name", "command"} | {"skipped": reason}, "env"}`` for ``cfg``'s detector with ``num_classes``.

    GFLOPs: one image at ``data.img_size``, a multiply-add = 2 FLOPs, conv/matmul only (:mod:`detector.summary`).
    ``gpu``: measure the CUDA throughput (None: when a GPU is present).
    """
    size = cfg.data.img_size
    cfg = _random_init(cfg)
    torch.manual_seed(0)
    probe = build_model(cfg, num_classes=num_classes).eval()
    out: dict[str, Any] = {
        "params": count_parameters(probe),
        "gflops": model_flops(probe, size)["total"] / 1e9,
        "size": size,
        "num_classes": num_classes,
    }
    del probe
    out["cpu"] = None
    if settings.latency:
        s = _settings(settings, "cpu", size, 1, "fp32")
        r = _bench(cfg, num_classes, s)
        lat = r["latency"][0]["e2e"]
        out["cpu"] = {
            "latency_ms": lat["ms"],
            "runs_ms": lat["runs_ms"],
            "threads": torch.get_num_threads(),
            "command": benchmark_command(config_path, size, num_classes, "cpu", 1, "fp32"),
        }
    gpu = torch.cuda.is_available() if gpu is None else gpu
    if gpu:
        s = _settings(settings, "cuda", size, settings.gpu_batch, settings.gpu_dtype)
        r = _bench(cfg, num_classes, s)
        out["gpu"] = {
            "img_s": r["throughput"]["with_nms"]["img_s"],
            "runs_ms": r["throughput"]["with_nms"]["runs_ms"],
            "batch": settings.gpu_batch,
            "dtype": settings.gpu_dtype,
            "device_name": torch.cuda.get_device_name(),
            "command": benchmark_command(
                config_path, size, num_classes, "cuda", settings.gpu_batch, settings.gpu_dtype
            ),
        }
    else:
        out["gpu"] = {"skipped": "no CUDA device here: the batch-32 GPU throughput was not measured"}
    out["env"] = environment("cpu")
    return out


def _random_init(cfg: Config) -> Config:
    """A copy of the config with a randomly initialised backbone (as the benchmark builds it: costs do not depend
    on the weights, and nothing is downloaded)."""
    c = copy.deepcopy(cfg)
    c.model.backbone.pretrained = False
    return c


def backbone_cost(
    folder: Path, cfg: Config, num_classes: int, settings: CostSettings, config_path: Path
) -> dict[str, Any]:
    """:func:`measure_cost`, or the record in ``folder/cost.json`` when it was measured with the same settings,
    model config, class count and on the same kind of machine."""
    env = environment("cpu")
    key = {
        "settings": dataclasses.asdict(settings),
        "model": config_to_dict(cfg)["model"],
        "img_size": cfg.data.img_size,
        "num_classes": num_classes,
        "machine": {k: env[k] for k in ("device_name", "torch", "threads", "cpu_count")},
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    path = folder / COST_RECORD
    cached = read_json(path)
    if isinstance(cached, dict) and cached.get("key") == key:
        return cached
    log.info("measuring the cost of %s (params, GFLOPs, latency)", folder.name)
    record = {"key": key, **measure_cost(cfg, num_classes, settings, config_path)}
    write_json(path, record)
    return record
