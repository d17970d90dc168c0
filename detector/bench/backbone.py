"""Backbone benchmark: our CSPResNeXt-50 vs timm's same-named ``features_only`` model, with identical weights, input,
dtype and memory format, timed side by side (interleaved repeats) so the ratio is fair on a busy machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from detector.bench.timing import (
    DTYPES,
    Timing,
    autocast,
    environment,
    paired_ratio,
    time_fn,
    time_interleaved,
)
from detector.config.tool_options import AT_LEAST_0, AT_LEAST_1, BACKBONE_SIDE, option
from detector.device import select_device


@dataclass
class BackboneBenchSettings:
    """Settings of :func:`benchmark_backbone` (all echoed in the result)."""

    name: str = option("cspresnext50", "backbone with a same-named timm model")
    device: str = option("auto", "cpu | cuda | cuda:N | auto")
    batch: int = option(8, "images per call", range=AT_LEAST_1)
    size: int = option(224, "square input side in pixels", range=BACKBONE_SIDE)
    dtype: str = option("fp32", "autocast dtype", choices=sorted(DTYPES))  # fp32 | bf16 | fp16
    channels_last: bool = option(False, "channels_last memory format for model and input")
    compile: bool = option(False, "torch.compile both models")
    warmup: int = option(3, "untimed calls first", range=AT_LEAST_0)
    iters: int = option(10, "calls per timed run", range=AT_LEAST_1)
    repeats: int = option(5, "timed runs; the median is reported", range=AT_LEAST_1)
    train: bool = option(True, "skip the training-step (fwd+bwd) figure", flag="--no-train", negate=True)


def model_calls(
    model: nn.Module, x: torch.Tensor, dtype: str = "fp32", compile: bool = False
) -> tuple[Callable[[], None], Callable[[], None]]:
    """``(infer, train_step)`` closures over ``model`` (``torch.compile``-d first when ``compile``) and
    ``x [B, 3, H, W]``.

    ``infer``: ``no_grad`` forward under autocast. ``train_step``: forward, loss = sum of the outputs' means (a
    tensor or a list of tensors, e.g. backbone maps), backward, grads dropped. Put the model in the matching mode
    (``eval()`` / ``train()``) before calling them.
    """
    device = x.device
    forward = torch.compile(model) if compile else model

    def infer() -> None:
        with torch.no_grad(), autocast(device, dtype):
            forward(x)

    def train_step() -> None:
        with autocast(device, dtype):
            out = forward(x)
            outs = out if isinstance(out, list | tuple) else [out]
            loss = sum(o.float().mean() for o in outs)
        loss.backward()
        model.zero_grad(set_to_none=True)

    return infer, train_step


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
    """Inference (eval, ``no_grad``) and training-step (train mode, fwd + bwd) ms per call and images/s of one model.
    The model is left in eval mode without gradients."""
    infer, step = model_calls(model, x, dtype)
    model.eval()
    result = _figures(time_fn(infer, x.device, warmup, iters, repeats), x.shape[0], "fwd")
    if train:
        model.train()
        result.update(_figures(time_fn(step, x.device, warmup, iters, repeats), x.shape[0], "train"))
        model.eval()
    return result


def _copy_weights_to_timm(ours: nn.Module, ref: nn.Module) -> None:
    """timm ``features_only`` nets flatten ``stem.conv1`` -> ``stem_conv1`` and ``stages.0`` -> ``stages_0``."""
    mapped = {}
    for k, v in ours.state_dict().items():
        a, b, rest = k.split(".", 2)
        mapped[f"{a}_{b}.{rest}"] = v
    ref.load_state_dict(mapped, strict=True)


def _timm_reference(name: str, ours: nn.Module) -> nn.Module | None:
    """timm's ``features_only`` model with our weights copied in, or None when timm is not installed."""
    try:
        import timm
    except ImportError:
        return None
    ref = timm.create_model(name, features_only=True, out_indices=(2, 3, 4)).eval()
    _copy_weights_to_timm(ours, ref)
    return ref


def _figures(t: Timing, batch: int, prefix: str) -> dict:
    """``{prefix_ms, prefix_img_s}`` of a timing of calls on ``batch`` images."""
    return {f"{prefix}_ms": t.median_s * 1e3, f"{prefix}_img_s": t.throughput(batch)}


def benchmark_backbone(settings: BackboneBenchSettings) -> dict:
    """Throughput of our backbone vs timm's same-named features model (same weights, input, dtype, layout).

    Returns ``{"env", "settings", "max_abs_diff", "ours": {fwd_ms, fwd_img_s[, train_ms, train_img_s]},
    "timm": {...} | None, "ratio_fwd", "ratio_train"}``. Ratios are ours / timm speed (> 1 = ours faster), the
    median over interleaved repeats (see :func:`detector.bench.timing.paired_ratio`).
    """
    from backbones import build_backbone

    s = settings
    if s.dtype not in DTYPES:
        raise ValueError(f"dtype {s.dtype!r} unknown; choose one of {sorted(DTYPES)}")
    device = select_device(s.device)
    torch.manual_seed(0)
    ours = build_backbone(s.name, out_indices=(2, 3, 4)).eval()
    ref = _timm_reference(s.name, ours)
    models = {"ours": ours} if ref is None else {"ours": ours, "timm": ref}
    memory_format = torch.channels_last if s.channels_last else torch.contiguous_format
    x = torch.rand(s.batch, 3, s.size, s.size, device=device).contiguous(memory_format=memory_format)
    for model in models.values():
        model.to(device).to(memory_format=memory_format)
    max_diff = None
    if ref is not None:
        with torch.no_grad():
            max_diff = max((a - b).abs().max().item() for a, b in zip(ours(x), ref(x), strict=True))
    calls = {k: model_calls(m, x, s.dtype, compile=s.compile) for k, m in models.items()}
    for m in models.values():
        m.eval()
    fwd = time_interleaved({k: c[0] for k, c in calls.items()}, device, s.warmup, s.iters, s.repeats)
    results = {k: _figures(fwd[k], s.batch, "fwd") for k in models}
    trn = None
    if s.train:
        for m in models.values():
            m.train()
        trn = time_interleaved({k: c[1] for k, c in calls.items()}, device, s.warmup, s.iters, s.repeats)
        for k in models:
            results[k].update(_figures(trn[k], s.batch, "train"))
            models[k].eval()
    out = {"env": environment(device), "settings": asdict(s), "max_abs_diff": max_diff, "timm": None, **results}
    if ref is not None:
        out["ratio_fwd"] = paired_ratio(fwd["ours"], fwd["timm"])
        if trn is not None:
            out["ratio_train"] = paired_ratio(trn["ours"], trn["timm"])
    return out
