"""Timing primitives for the benchmarks: device selection, synchronised wall-clock timing (median of repeated runs
after warm-up), side-by-side (interleaved) timing of competing callables, and the environment every figure is
printed with."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def synchronize(device: torch.device | str) -> None:
    """Wait for queued kernels on ``device`` (no-op on CPU) so wall-clock timings are real."""
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def autocast(device: torch.device, dtype: str) -> AbstractContextManager:
    """``torch.autocast`` for ``bf16`` / ``fp16``; a no-op context for ``fp32``."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} unknown; choose one of {sorted(DTYPES)}")
    return torch.autocast(device.type, dtype=DTYPES[dtype]) if dtype != "fp32" else nullcontext()


@dataclass
class Timing:
    """Seconds per call: median over ``repeats`` timed runs of ``iters`` calls each (after warm-up)."""

    median_s: float
    runs_s: list[float]
    iters: int

    def throughput(self, items_per_call: int) -> float:
        """Items (e.g. images) per second at the median time."""
        return items_per_call / self.median_s if self.median_s > 0 else float("inf")


def _check_counts(warmup: int, iters: int, repeats: int) -> None:
    if iters < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"need iters >= 1, repeats >= 1, warmup >= 0 (got {iters}, {repeats}, {warmup})")


def _timed_run(fn: Callable[[], object], device: torch.device | str, iters: int) -> float:
    """Seconds per call of one synchronised run of ``iters`` calls."""
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    synchronize(device)
    return (time.perf_counter() - t0) / iters


def time_fn(
    fn: Callable[[], object], device: torch.device | str = "cpu", warmup: int = 3, iters: int = 10, repeats: int = 5
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` runs of ``iters`` calls; synchronised per run."""
    _check_counts(warmup, iters, repeats)
    for _ in range(warmup):
        fn()
    synchronize(device)
    runs = [_timed_run(fn, device, iters) for _ in range(repeats)]
    return Timing(statistics.median(runs), runs, iters)


def time_interleaved(
    fns: Mapping[str, Callable[[], object]],
    device: torch.device | str = "cpu",
    warmup: int = 3,
    iters: int = 10,
    repeats: int = 5,
) -> dict[str, Timing]:
    """Time competing callables side by side: each repeat runs every ``fn`` once (``iters`` calls), rotating which
    goes first, so clock boosts, thermal drift and other processes hit all of them alike. Same counts as
    :func:`time_fn`; ``runs_s[i]`` of every result comes from the same repeat ``i`` (pair them for ratios)."""
    _check_counts(warmup, iters, repeats)
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    synchronize(device)
    runs: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            runs[name].append(_timed_run(fns[name], device, iters))
    return {name: Timing(statistics.median(v), v, iters) for name, v in runs.items()}


def paired_ratio(a: Timing, b: Timing) -> float:
    """Speed of ``a`` relative to ``b`` (> 1: ``a`` faster): median over repeats of ``b_i / a_i``, for timings
    from :func:`time_interleaved` (each pair ran back to back, so slow phases of the machine cancel out)."""
    return statistics.median(tb / ta for ta, tb in zip(a.runs_s, b.runs_s, strict=True))


def environment(device: torch.device | str) -> dict:
    """Device name, torch / CUDA / cuDNN versions, CPU threads and cores, date: printed with every benchmark."""
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    name = torch.cuda.get_device_name(dev) if cuda else (platform.processor() or platform.machine())
    return {
        "device": str(dev),
        "device_name": name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
    }
