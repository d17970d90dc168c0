"""Detector training-step benchmark (forward + loss + backward + clip + optimiser step, the engine's ``TrainStep``):
on synthetic on-device tensors, and fed by the real training loader with its augmentation, plus the loader alone,
so a data-loading bottleneck shows as ``real_vs_synthetic`` < 1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn

from detector.bench.inference import timed
from detector.bench.timing import DTYPES
from detector.config import Config
from detector.data.dataset import DetectionDataset
from detector.data.loader import make_dataloader
from detector.engine.training.optim import build_optimizer
from detector.engine.training.setup import shutdown_loader
from detector.engine.training.step import TrainStep
from detector.model import Detector
from detector.model.registry import build_loss

if TYPE_CHECKING:  # bench/detector.py imports this module
    from detector.bench.detector import DetectorBenchSettings

SYNTHETIC_BOXES_PER_IMAGE = 8


def synthetic_targets(batch: int, size: int, num_classes: int, per_image: int = SYNTHETIC_BOXES_PER_IMAGE, seed=0):
    """Random targets ``[B * per_image, 6]`` rows (batch_index, label, x1, y1, x2, y2), boxes 8..size/2 pixels."""
    g = torch.Generator().manual_seed(seed)
    n = batch * per_image
    wh = 8 + torch.rand(n, 2, generator=g) * (size / 2 - 8)
    xy1 = torch.rand(n, 2, generator=g) * (size - wh)
    idx = torch.arange(batch).repeat_interleave(per_image).float()
    labels = torch.randint(0, num_classes, (n,), generator=g).float()
    return torch.cat((idx[:, None], labels[:, None], xy1, xy1 + wh), 1)


def _cycle(loader) -> Iterator[dict]:
    while True:
        yield from loader


def make_train_step(
    model: Detector, runner: nn.Module, cfg: Config, device: torch.device, s: DetectorBenchSettings
) -> TrainStep:
    """The engine's ``TrainStep`` over ``runner`` (``model`` or its compiled version) with the config's optimiser,
    gradient clipping and the settings' autocast dtype (fp16 with a grad scaler)."""
    t = cfg.train
    optimizer = build_optimizer(model, t.optimizer, t.lr, t.momentum, t.weight_decay, t.nesterov)
    return TrainStep(
        runner,
        build_loss(cfg.model.head, model.head),
        optimizer,
        loss_scale=s.batch,
        grad_clip=t.grad_clip,
        max_nonfinite=10**9,  # random weights: a skipped step still costs the forward and backward
        scaler=torch.amp.GradScaler(device.type, enabled=s.dtype == "fp16"),
        autocast_dtype=None if s.dtype == "fp32" else DTYPES[s.dtype],
    )


def bench_train(
    model: Detector,
    runner: nn.Module,
    cfg: Config,
    num_classes: int,
    device: torch.device,
    s: DetectorBenchSettings,
    dataset: DetectionDataset | None = None,
) -> dict:
    """Training-step images/s at ``s.size`` for a train-mode ``model``: ``{"size", "batch", "synthetic"[,
    "peak_mem_gib", "real_data", "real_vs_synthetic", "loader_vs_synthetic", "data_bound"]}`` (real data when
    ``dataset``, the train split, is given)."""
    step = make_train_step(model, runner, cfg, device, s)
    x = torch.rand(s.batch, 3, s.size, s.size, device=device).contiguous(memory_format=s.memory_format)
    targets = synthetic_targets(s.batch, s.size, num_classes, seed=s.seed).to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    out: dict = {"size": s.size, "batch": s.batch}
    out["synthetic"] = timed(lambda: step(x, targets, step=True), device, s, s.batch)
    if device.type == "cuda":
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    if dataset is not None:
        out["real_data"] = _bench_real(dataset, cfg, step, device, s)
        out["real_vs_synthetic"] = out["real_data"]["img_s"] / out["synthetic"]["img_s"]
        out["loader_vs_synthetic"] = out["real_data"]["loader_img_s"] / out["synthetic"]["img_s"]
        out["data_bound"] = out["loader_vs_synthetic"] < 1.0
    model.zero_grad(set_to_none=True)
    return out


def _bench_real(
    dataset: DetectionDataset, cfg: Config, step: TrainStep, device: torch.device, s: DetectorBenchSettings
) -> dict:
    """Training step fed by the train loader, then the loader alone (both after draining the workers' prefetch)."""
    if len(dataset) < s.batch:
        raise ValueError(
            f"--real-data needs at least --batch {s.batch} training images; the train split has "
            f"{len(dataset)}: lower --batch"
        )
    workers = cfg.train.workers if s.workers is None else s.workers
    warmup = s.warmup + 2 * workers  # the workers' prefetch queue (prefetch_factor 2) starts full
    # one pass long enough for every batch below (+ the prefetch): no epoch restart stalls on a small dataset
    batches_needed = 2 * (warmup + s.iters * s.repeats) + 2 * workers + 1
    loader = make_dataloader(
        dataset, s.batch, train=True, workers=workers, seed=cfg.train.seed, num_samples=batches_needed * s.batch
    )
    batches = _cycle(loader)
    seen_sizes: set[tuple[int, int]] = set()

    def real_step():
        b = next(batches)
        seen_sizes.add(tuple(b["images"].shape[-2:]))
        x = b["images"].to(device, non_blocking=True).float().div_(255).contiguous(memory_format=s.memory_format)
        step(x, b["targets"].to(device, non_blocking=True), step=True)

    try:
        res = timed(real_step, device, s, s.batch, warmup)
        loader_only = timed(lambda: next(batches), device, s, s.batch, warmup)
    finally:
        shutdown_loader(loader)
    if seen_sizes != {(s.size, s.size)}:
        raise RuntimeError(f"the real loader gave images of {sorted(seen_sizes)} px, the benchmark times {s.size}")
    res.update(loader_img_s=loader_only["img_s"], loader_ms=loader_only["ms"], workers=workers, img_size=s.size)
    return res
