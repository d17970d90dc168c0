"""Detector and data-loader benchmarks: size/cost, batch-1 end-to-end latency, batched throughput with and without
NMS, and the training step (forward + loss + backward + optimiser) on synthetic tensors or the real training loader.

Timing is :func:`detector.benchmark.time_fn` (median of ``repeats`` runs after ``warmup``); figures are printed by
``tools/benchmark.py detector|loader``. Random-init weights: ``model.backbone.pretrained=false`` is added unless the
overrides set it. With random weights almost no box passes ``conf_thres``, so NMS costs less than with a trained model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch

from detector.benchmark import DTYPES, _autocast, environment, resolve_device, synchronize, time_fn

SYNTHETIC_BOXES_PER_IMAGE = 8


@dataclass
class DetectorBenchSettings:
    """Settings of :func:`benchmark_detector` (all echoed in the result). Sizes are square input sides in pixels."""

    config: str | None = None  # YAML config (None = the documented defaults)
    overrides: list[str] = field(default_factory=list)  # "key.sub=value" config overrides
    device: str = "auto"
    size: int = 640  # throughput and training size
    sizes: list[int] | None = None  # batch-1 latency sizes; None = [size]
    batch: int = 32
    dtype: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 on CUDA only)
    channels_last: bool = False
    compile: bool = False
    fuse: bool = False  # fold BatchNorm into convs (inference only)
    train: bool = False
    real_data: bool = False  # also time the training step fed by the config's train loader (needs train=True)
    workers: int | None = None  # real-data loader workers; None = cfg.train.workers
    num_classes: int | None = None  # None: cfg.model.num_classes, else the dataset's (real data), else 80
    conf_thres: float = 0.25
    iou_thres: float = 0.45
    max_det: int = 300
    warmup: int = 3
    iters: int = 10
    repeats: int = 5
    seed: int = 0

    def validate(self, device: torch.device) -> None:
        """Raise ``ValueError`` naming the bad setting."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype {self.dtype!r} unknown; choose one of {sorted(DTYPES)}")
        if self.dtype == "fp16" and device.type == "cpu":
            raise ValueError("fp16 autocast is CUDA-only; on CPU use --dtype fp32 or bf16")
        for s in [self.size, *(self.sizes or [])]:
            if s <= 0 or s % 32:
                raise ValueError(f"image sizes must be positive multiples of 32 (the model's largest stride), got {s}")
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")
        if self.compile and self.warmup < 1:
            raise ValueError("--compile needs --warmup >= 1 so compilation (once per input shape) is not timed")
        if self.real_data and not self.train:
            raise ValueError("--real-data times the training step: pass --train as well")


def bench_config(settings: DetectorBenchSettings):
    """Load the config; random-init backbone unless ``model.backbone.pretrained`` is among the overrides."""
    from detector.config import load_config

    overrides = list(settings.overrides)
    if not any(o.split("=", 1)[0].strip() == "model.backbone.pretrained" for o in overrides):
        overrides.append("model.backbone.pretrained=false")
    return load_config(settings.config, overrides)


def _memory_format(s: DetectorBenchSettings) -> torch.memory_format:
    return torch.channels_last if s.channels_last else torch.contiguous_format


def _build(cfg, num_classes: int, device: torch.device, s: DetectorBenchSettings, train: bool):
    """(model, runner): the Detector on ``device`` and what to call (``torch.compile``-d when asked)."""
    from detector.model import build_model

    torch.manual_seed(s.seed)
    model = build_model(cfg, num_classes=num_classes).train(train)
    if s.fuse and not train:
        from detector.engine.predictor import fuse_conv_bn

        fuse_conv_bn(model)
    model.to(device=device, memory_format=_memory_format(s))
    return model, (torch.compile(model) if s.compile else model)


def host_images(batch: int, size: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """Random letterboxed uint8 images ``[B, 3, S, S]`` in host memory (pinned when ``device`` is CUDA)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=g)
    return x.pin_memory() if device.type == "cuda" else x


def synthetic_targets(batch: int, size: int, num_classes: int, per_image: int = SYNTHETIC_BOXES_PER_IMAGE, seed=0):
    """Random targets ``[B * per_image, 6]`` rows (batch_index, label, x1, y1, x2, y2), boxes 8..size/2 pixels."""
    g = torch.Generator().manual_seed(seed)
    n = batch * per_image
    wh = 8 + torch.rand(n, 2, generator=g) * (size / 2 - 8)
    xy1 = torch.rand(n, 2, generator=g) * (size - wh)
    idx = torch.arange(batch).repeat_interleave(per_image).float()
    labels = torch.randint(0, num_classes, (n,), generator=g).float()
    return torch.cat((idx[:, None], labels[:, None], xy1, xy1 + wh), 1)


def make_infer(model, runner, device: torch.device, s: DetectorBenchSettings) -> Callable[[torch.Tensor, bool], list]:
    """``infer(images_u8_host, nms)``: copy to device, /255, forward, decode (+ postprocess when ``nms``)."""
    from detector.postprocess import postprocess

    mf = _memory_format(s)

    @torch.no_grad()
    def infer(images_u8: torch.Tensor, nms: bool = True) -> list:
        x = images_u8.to(device, non_blocking=True).float().div_(255).contiguous(memory_format=mf)
        with _autocast(device, s.dtype):
            decoded = model.head.decode(runner(x))
        if not nms:
            return [decoded]
        return postprocess(decoded, s.conf_thres, s.iou_thres, s.max_det, input_hw=tuple(x.shape[-2:]))

    return infer


def _timed(fn: Callable[[], object], device: torch.device, s: DetectorBenchSettings, items: int, warmup=None) -> dict:
    t = time_fn(fn, device, s.warmup if warmup is None else warmup, s.iters, s.repeats)
    return {"ms": t.median_s * 1e3, "img_s": t.throughput(items), "runs_ms": [r * 1e3 for r in t.runs_s]}


def bench_inference(cfg, num_classes: int, device: torch.device, s: DetectorBenchSettings) -> dict:
    """Params, GFLOPs, batch-1 latency per size (end-to-end and forward only), batched throughput +/- NMS."""
    from detector.summary import count_parameters, model_flops

    model, runner = _build(cfg, num_classes, device, s, train=False)
    sizes = list(dict.fromkeys(s.sizes or [s.size]))
    gflops = {size: model_flops(model, size)["total"] / 1e9 for size in dict.fromkeys([*sizes, s.size])}
    infer = make_infer(model, runner, device, s)
    mf = _memory_format(s)
    latency = []
    for size in sizes:
        x1 = host_images(1, size, device, s.seed)
        xd = (x1.to(device).float() / 255).contiguous(memory_format=mf)

        def forward_only(xd=xd):
            with torch.no_grad(), _autocast(device, s.dtype):
                runner(xd)

        e2e = _timed(lambda x1=x1: infer(x1, True), device, s, 1)
        fwd = _timed(forward_only, device, s, 1)
        latency.append({"size": size, "batch": 1, "gflops": gflops[size], "e2e": e2e, "forward": fwd})
    xb = host_images(s.batch, s.size, device, s.seed)
    with_nms = _timed(lambda: infer(xb, True), device, s, s.batch)
    without_nms = _timed(lambda: infer(xb, False), device, s, s.batch)
    dets = infer(xb, True)
    throughput = {
        "size": s.size,
        "batch": s.batch,
        "with_nms": with_nms,
        "without_nms": without_nms,
        "nms_share": max(0.0, 1.0 - without_nms["ms"] / with_nms["ms"]),
        "dets_per_img": sum(len(d["scores"]) for d in dets) / s.batch,
    }
    model_info = {"params": count_parameters(model), "gflops": gflops[s.size], "gflops_size": s.size}
    return {"model": model_info, "latency": latency, "throughput": throughput}


def _cycle(loader) -> Iterator[dict]:
    while True:
        yield from loader


def bench_train(cfg, num_classes: int, device: torch.device, s: DetectorBenchSettings, dataset=None) -> dict:
    """Training-step images/s (fwd + loss + bwd + clip + optimiser step, ``TrainStep`` of the engine) at ``s.size``.

    Always with synthetic on-device tensors; with ``dataset`` (the train split) also fed by the real loader, plus
    the loader alone, so a data-loading bottleneck shows as ``real_vs_synthetic`` < 1.
    """
    from detector.engine.optim import build_optimizer
    from detector.engine.step import TrainStep
    from detector.loss import YoloLoss

    model, runner = _build(cfg, num_classes, device, s, train=True)
    t = cfg.train
    optimizer = build_optimizer(model, t.optimizer, t.lr, t.momentum, t.weight_decay, t.nesterov)
    scaler = torch.amp.GradScaler(device.type, enabled=s.dtype == "fp16")
    step = TrainStep(
        runner,
        YoloLoss(model.head, cfg.loss),
        optimizer,
        loss_scale=s.batch,
        grad_clip=t.grad_clip,
        max_nonfinite=10**9,  # random weights: a skipped step still costs the forward and backward
        scaler=scaler,
        autocast_dtype=None if s.dtype == "fp32" else DTYPES[s.dtype],
    )
    mf = _memory_format(s)
    x = torch.rand(s.batch, 3, s.size, s.size, device=device).contiguous(memory_format=mf)
    targets = synthetic_targets(s.batch, s.size, num_classes, seed=s.seed).to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    out: dict = {"size": s.size, "batch": s.batch}
    out["synthetic"] = _timed(lambda: step(x, targets, step=True), device, s, s.batch)
    if device.type == "cuda":
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    if dataset is not None:
        out["real_data"] = _bench_real(dataset, cfg, step, device, s)
        out["real_vs_synthetic"] = out["real_data"]["img_s"] / out["synthetic"]["img_s"]
        out["loader_vs_synthetic"] = out["real_data"]["loader_img_s"] / out["synthetic"]["img_s"]
        out["data_bound"] = out["loader_vs_synthetic"] < 1.0
    model.zero_grad(set_to_none=True)
    return out


def _bench_real(dataset, cfg, step, device: torch.device, s: DetectorBenchSettings) -> dict:
    """Training step fed by the train loader, then the loader alone (both after draining the workers' prefetch)."""
    from detector.data.loader import make_dataloader
    from detector.engine.setup import shutdown_loader

    if len(dataset) < s.batch:
        raise ValueError(
            f"--real-data needs at least --batch {s.batch} training images; the train split has "
            f"{len(dataset)}: lower --batch"
        )
    workers = int(cfg.train.workers if s.workers is None else s.workers)
    loader = make_dataloader(dataset, s.batch, train=True, workers=workers, seed=int(cfg.train.seed))
    batches = _cycle(loader)
    mf = _memory_format(s)

    def real_step():
        b = next(batches)
        x = b["images"].to(device, non_blocking=True).float().div_(255).contiguous(memory_format=mf)
        step(x, b["targets"].to(device, non_blocking=True), step=True)

    warmup = s.warmup + 2 * workers  # the workers' prefetch queue (prefetch_factor 2) starts full
    try:
        res = _timed(real_step, device, s, s.batch, warmup)
        loader_only = _timed(lambda: next(batches), device, s, s.batch, warmup)
    finally:
        shutdown_loader(loader)
    res.update(loader_img_s=loader_only["img_s"], loader_ms=loader_only["ms"], workers=workers)
    return res


def benchmark_detector(settings: DetectorBenchSettings) -> dict:
    """Run the detector benchmark. Returns ``{"env", "settings", "model", "latency", "throughput"[, "train"]}``.

    ``latency``: per size ``{"size", "batch": 1, "gflops", "e2e": {ms, img_s, runs_ms}, "forward": {...}}``;
    ``throughput``: ``{"with_nms", "without_nms", "nms_share", "dets_per_img", ...}``; ``train``: ``{"synthetic",
    "real_data" (with loader_img_s, workers), "real_vs_synthetic", "loader_vs_synthetic", "data_bound"}``.
    """
    s = settings
    device = resolve_device(s.device)
    s.validate(device)
    cfg = bench_config(s)
    dataset = None
    if s.real_data:
        from detector.data.loader import build_dataset

        dataset = build_dataset(cfg, "train")
    num_classes = s.num_classes or cfg.model.num_classes or (dataset.base.num_classes if dataset is not None else 80)
    out = {"env": environment(device), "settings": {**asdict(s), "num_classes": num_classes}}
    out.update(bench_inference(cfg, num_classes, device, s))
    if s.train:
        out["train"] = bench_train(cfg, num_classes, device, s, dataset)
    synchronize(device)
    return out


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
