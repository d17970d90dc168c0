"""Data-loader throughput: images/s with the full training augmentation (mosaic, affine, HSV, flip, photometric)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from detector.data.coco import CocoDetection
from detector.data.dataset import DetectionDataset
from detector.data.loader import make_dataloader
from detector.data.shapes import make_shapes
from detector.data.transforms import AugmentParams


def benchmark_loader(
    base: CocoDetection | None = None,
    *,
    img_size: int = 640,
    batch_size: int = 16,
    workers: int = 0,
    num_batches: int = 10,
    warmup_batches: int = 2,
    augment: AugmentParams | None = None,
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
        ds = DetectionDataset(base, img_size, train=True, augment=augment or AugmentParams(mixup=0.1, degrees=5.0))
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
