"""Training data-loader benchmark at the config level: images/s with the config's augmentation for each worker
count (the per-worker figure tells how many CPU cores feed one GPU)."""

from __future__ import annotations

from detector.bench.timing import environment


def bench_loader(
    config: str | None = None,
    overrides: list[str] | None = None,
    *,
    size: int | None = None,
    batch: int | None = None,
    workers: list[int] | None = None,
    num_batches: int = 10,
    warmup_batches: int = 2,
) -> dict:
    """Training-loader images/s for each worker count, on the config's train split (its augmentation) or, without
    ``config``, on a generated shapes set. Size/batch default to ``data.img_size`` / ``train.batch_size`` (or
    640 / 16). Returns ``{"env", "settings", "runs": [benchmark_loader(...) per worker count]}``."""
    from detector.data.benchmark import benchmark_loader
    from detector.data.transforms import AugmentParams

    base, augment = None, None
    if config is not None:
        from detector.config import load_config
        from detector.data.loader import build_dataset

        cfg = load_config(config, list(overrides or []))
        base, augment = build_dataset(cfg, "train").base, AugmentParams.from_cfg(cfg.data.augment)
        size, batch = size or cfg.data.img_size, batch or cfg.train.batch_size
        workers = workers if workers is not None else [int(cfg.train.workers)]
    size, batch, workers = size or 640, batch or 16, workers if workers is not None else [0]
    settings = {"config": config, "overrides": list(overrides or []), "size": size, "batch": batch}
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
