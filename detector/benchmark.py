"""Benchmark helpers: synchronised timing (CPU / CUDA), environment description, and the backbone benchmark
(ours vs timm's ``cspresnext50`` features with identical weights). Figures are printed by ``tools/benchmark.py``."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> cuda if available else cpu; ``cuda`` without a GPU -> ``ValueError``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    return dev


def synchronize(device: torch.device | str) -> None:
    """Wait for queued kernels on ``device`` (no-op on CPU) so wall-clock timings are real."""
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


@dataclass
class Timing:
    """Seconds per call: median over ``repeats`` timed runs of ``iters`` calls each (after warm-up)."""

    median_s: float
    runs_s: list[float]
    iters: int

    def throughput(self, items_per_call: int) -> float:
        """Items (e.g. images) per second at the median time."""
        return items_per_call / self.median_s if self.median_s > 0 else float("inf")


def time_fn(
    fn: Callable[[], object], device: torch.device | str = "cpu", warmup: int = 3, iters: int = 10, repeats: int = 5
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` runs of ``iters`` calls; synchronised per run."""
    if iters < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"need iters >= 1, repeats >= 1, warmup >= 0 (got {iters}, {repeats}, {warmup})")
    for _ in range(warmup):
        fn()
    synchronize(device)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        synchronize(device)
        runs.append((time.perf_counter() - t0) / iters)
    return Timing(statistics.median(runs), runs, iters)


def environment(device: torch.device | str) -> dict:
    """Device name, torch / CUDA versions, CPU threads: printed with every benchmark."""
    dev = torch.device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (platform.processor() or platform.machine())
    return {
        "device": str(dev),
        "device_name": name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda if dev.type == "cuda" else None,
        "threads": torch.get_num_threads(),
    }


def _autocast(device: torch.device, dtype: str):
    return torch.autocast(device.type, dtype=DTYPES[dtype]) if dtype != "fp32" else nullcontext()


def bench_model(
    model: nn.Module,
    x: torch.Tensor,
    *,
    dtype: str = "fp32",
    warmup: int = 3,
    iters: int = 10,
    repeats: int = 5,
    train: bool = True,
) -> dict:
    """Inference (``no_grad``, eval) and training-step (fwd + bwd, train mode) images/s of ``model`` on ``x``.

    ``model(x)`` may return a tensor or a list of tensors (e.g. backbone maps); the training loss is the mean of
    all outputs. ``dtype`` != fp32 runs under ``torch.autocast``.
    """
    device = x.device
    batch = x.shape[0]

    def loss_of(out) -> torch.Tensor:
        outs = out if isinstance(out, list | tuple) else [out]
        return sum(o.float().mean() for o in outs)

    def infer():
        with torch.no_grad(), _autocast(device, dtype):
            model(x)

    def step():
        with _autocast(device, dtype):
            loss = loss_of(model(x))
        loss.backward()
        model.zero_grad(set_to_none=True)

    model.eval()
    fwd = time_fn(infer, device, warmup, iters, repeats)
    result = {"fwd_ms": fwd.median_s * 1e3, "fwd_img_s": fwd.throughput(batch)}
    if train:
        model.train()
        trn = time_fn(step, device, warmup, iters, repeats)
        result.update(train_ms=trn.median_s * 1e3, train_img_s=trn.throughput(batch))
        model.eval()
    return result


@dataclass
class BackboneBenchSettings:
    """Settings of ``benchmark_backbone`` (all echoed in the result)."""

    name: str = "cspresnext50"
    device: str = "auto"
    batch: int = 8
    size: int = 224  # square input side, pixels
    dtype: str = "fp32"  # fp32 | bf16 | fp16 (autocast)
    channels_last: bool = False
    compile: bool = False
    warmup: int = 3
    iters: int = 10
    repeats: int = 5
    train: bool = True


def _copy_weights_to_timm(ours: nn.Module, ref: nn.Module) -> None:
    """timm ``features_only`` nets flatten ``stem.conv1`` -> ``stem_conv1`` and ``stages.0`` -> ``stages_0``."""
    mapped = {}
    for k, v in ours.state_dict().items():
        a, b, rest = k.split(".", 2)
        mapped[f"{a}_{b}.{rest}"] = v
    ref.load_state_dict(mapped, strict=True)


def benchmark_backbone(settings: BackboneBenchSettings) -> dict:
    """Throughput of our backbone vs timm's same-named features model (same weights, input, dtype, layout).

    Returns ``{"env", "settings", "max_abs_diff", "ours": {...}, "timm": {...} | None, "ratio_fwd", "ratio_train"}``;
    ratios are ours / timm images per second (> 1 = ours faster).
    """
    from backbones import build_backbone

    s = settings
    if s.dtype not in DTYPES:
        raise ValueError(f"dtype {s.dtype!r} unknown; choose one of {sorted(DTYPES)}")
    device = resolve_device(s.device)
    torch.manual_seed(0)
    ours = build_backbone(s.name, out_indices=(2, 3, 4)).eval()
    models = {"ours": ours}
    try:
        import timm

        ref = timm.create_model(s.name, features_only=True, out_indices=(2, 3, 4)).eval()
        _copy_weights_to_timm(ours, ref)
        models["timm"] = ref
    except ImportError:
        ref = None
    x = torch.rand(s.batch, 3, s.size, s.size, device=device)
    memory_format = torch.channels_last if s.channels_last else torch.contiguous_format
    x = x.contiguous(memory_format=memory_format)
    max_diff = None
    results: dict = {}
    for model in models.values():
        model.to(device=device, memory_format=memory_format)
    if ref is not None:
        with torch.no_grad():
            max_diff = max((a - b).abs().max().item() for a, b in zip(ours(x), ref(x), strict=True))
    for key, model in models.items():
        runner = torch.compile(model) if s.compile else model
        results[key] = bench_model(
            runner, x, dtype=s.dtype, warmup=s.warmup, iters=s.iters, repeats=s.repeats, train=s.train
        )
    out = {"env": environment(device), "settings": asdict(s), "max_abs_diff": max_diff, **results}
    out.setdefault("timm", None)
    if out["timm"]:
        out["ratio_fwd"] = out["ours"]["fwd_img_s"] / out["timm"]["fwd_img_s"]
        if s.train:
            out["ratio_train"] = out["ours"]["train_img_s"] / out["timm"]["train_img_s"]
    return out
