"""Training data-loader benchmark at the config level: images/s with the config's augmentation for each worker
count (the per-worker figure tells how many CPU cores feed one GPU)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.bench.timing import environment
from detector.config import AugmentConfig
from detector.config.tool_options import AT_LEAST_0, AT_LEAST_1, option
from detector.data.coco import CocoDetection
from detector.data.dataset import BaseDataset, DetectionDataset
from detector.data.loader import make_dataloader
from detector.data.synthetic.shapes import make_shapes


@dataclass
class LoaderBenchSettings:
    """Settings of :func:`bench_loader` (echoed in the result); None sizes come from the config (or 640 / 16)."""

    config: str | None = option(
        None, "YAML config (its train split); default: generated shapes", positional=True, nargs="?"
    )
    overrides: list[str] = option([], "config overrides (dotted keys)", positional=True, nargs="*", metavar="key=value")
    size: int | None = option(None, "input side, pixels (default data.img_size or 640)", key="data.img_size")
    batch: int | None = option(None, "images per batch (default train.batch_size or 16)", key="train.batch_size")
    workers: list[int] | None = option(
        None, "worker counts, e.g. 0,4,8 (default train.workers)", key="train.workers", comma=True
    )
    num_batches: int = option(10, "timed batches", flag="--batches", range=AT_LEAST_1)
    warmup_batches: int = option(2, "untimed batches first", flag="--warmup", range=AT_LEAST_0)


def bench_loader(s: LoaderBenchSettings) -> dict:
    """Training-loader images/s for each worker count, on the config's train split (its augmentation) or, without
    ``s.config``, on a generated shapes set. Size/batch default to ``data.img_size`` / ``train.batch_size`` (or
    640 / 16). Returns ``{"env", "settings", "runs": [benchmark_loader(...) per worker count]}``."""
    config, overrides, size, batch, workers = s.config, s.overrides, s.size, s.batch, s.workers
    num_batches, warmup_batches = s.num_batches, s.warmup_batches
    base, augment = None, None
    if config is not None:
        from detector.config import load_config
        from detector.data.loader import build_source

        cfg = load_config(config, list(overrides or []))
        base, augment = build_source(cfg.data, "train"), cfg.data.augment
        size, batch = size or cfg.data.img_size, batch or cfg.train.batch_size
        workers = workers if workers is not None else [int(cfg.train.workers)]
    size, batch, workers = size or 640, batch or 16, workers if workers is not None else [0]
    settings: dict[str, Any] = {"config": config, "overrides": list(overrides or []), "size": size, "batch": batch}
    settings.update(workers=workers, num_batches=num_batches, warmup_batches=warmup_batches)
    runs = [
        benchmark_loader(
            base,
            img_size=size,
            batch_size=batch,
            workers=w,
            num_batches=num_batches,
            warmup_batches=warmup_batches,
            augment=augment,
        )
        for w in workers
    ]
    return {"env": environment("cpu"), "settings": settings, "runs": runs}


def benchmark_loader(
    base: BaseDataset | None = None,
    *,
    img_size: int,
    batch_size: int,
    workers: int,
    num_batches: int,
    warmup_batches: int,
    augment: AugmentConfig | None = None,
) -> dict[str, float]:
    """Time ``num_batches`` training batches (after ``warmup_batches``) at ``img_size`` pixels.

    ``base`` defaults to a small generated shapes dataset (64 images of 640 px). Returns
    ``{"images_per_s", "images_per_s_per_worker", "workers", "img_size", "batch_size", "seconds"}``; with
    ``workers=0`` the per-worker figure is that of the main process.
    """
    tmp = None
    if base is None:
        tmp = tempfile.TemporaryDirectory(prefix="cspx-bench-")
        paths = make_shapes(Path(tmp.name), num_train=64, num_val=0, img_size=640, seed=0)
        base = CocoDetection(paths["train_ann"], paths["train_images"], check=False)
    try:
        ds = DetectionDataset(base, img_size, train=True, augment=augment or AugmentConfig(mixup=0.1, degrees=5.0))
        # one pass holds every timed batch: a small dataset never makes the workers restart an epoch mid-run
        total = (warmup_batches + num_batches) * batch_size
        loader = make_dataloader(
            ds, batch_size, train=True, workers=workers, persistent_workers=False, num_samples=total
        )
        it = iter(loader)
        for _ in range(warmup_batches):
            next(it)
        images, start = 0, time.perf_counter()
        for _ in range(num_batches):
            images += next(it)["images"].shape[0]
        seconds = time.perf_counter() - start
    finally:
        if tmp is not None:
            tmp.cleanup()
    rate = images / seconds
    return {
        "images_per_s": rate,
        "images_per_s_per_worker": rate / max(1, workers),
        "workers": float(workers),
        "img_size": float(img_size),
        "batch_size": float(batch_size),
        "seconds": seconds,
    }
