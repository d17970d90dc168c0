"""Where the detector's inference time goes, per operator class: grouped 3x3 convolutions (the ResNeXt backbone's),
dense 3x3, 1x1 and other convolutions, and everything else (activations, concatenation, pooling, upsampling, decode).

Each ``nn.Conv2d`` is timed by CUDA events recorded around it (forward pre/post hooks; on the CPU by the wall clock,
the CPU runs synchronously), its FLOPs computed from its shape (2 x multiply-adds, as :mod:`detector.model.summary`);
"other" is the whole forward's time minus the convolutions'. The events cost little next to a batch-32 forward, and
the hooks are removed afterwards. Also the top CUDA kernels by time from ``torch.profiler`` (CUDA only).
"""

from __future__ import annotations

import time
from collections import defaultdict

import torch
from torch import nn

from detector.bench.timing import synchronize


def conv_class(m: nn.Conv2d) -> str:
    """``grouped_3x3`` / ``dense_3x3`` / ``1x1`` / ``other_conv``."""
    k = tuple(m.kernel_size)
    if k == (1, 1):
        return "1x1"
    if k == (3, 3):
        return "grouped_3x3" if m.groups > 1 else "dense_3x3"
    return "other_conv"


def conv_flops(m: nn.Conv2d, out: torch.Tensor) -> int:
    """FLOPs of one call: 2 x B x C_out x H_out x W_out x (C_in / groups) x k_h x k_w."""
    kh, kw = m.kernel_size
    return 2 * out.numel() * (m.in_channels // m.groups) * kh * kw


class _Clock:
    """Start/stop marks: CUDA events on a GPU, ``perf_counter`` on the CPU; milliseconds between them."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def mark(self):
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    def ms(self, a, b) -> float:
        return a.elapsed_time(b) if self.cuda else (b - a) * 1e3


@torch.inference_mode()
def profile_convs(forward, model: nn.Module, x: torch.Tensor, iters: int = 5) -> dict:
    """Mean over ``iters`` calls of ``forward(x)`` (after one warm-up) of the time per operator class.

    Returns ``{"total_ms", "classes": {name: {"ms", "share", "gflops", "tflops", "count"}}}``; ``other`` has no
    FLOPs (element-wise work is not counted as FLOPs).
    """
    device = x.device
    clock = _Clock(device)
    pending: list = []  # (class, start, end, flops)
    starts: dict[int, object] = {}
    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):

            def pre(mod, args):
                starts[id(mod)] = clock.mark()

            def post(mod, args, out):
                pending.append((conv_class(mod), starts.pop(id(mod)), clock.mark(), conv_flops(mod, out)))

            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        forward(x)  # warm-up (cuDNN algorithm choice) with the hooks in place
        synchronize(device)
        pending.clear()
        t0 = clock.mark()
        for _ in range(iters):
            forward(x)
        t1 = clock.mark()
        synchronize(device)
    finally:
        for h in handles:
            h.remove()
    total = clock.ms(t0, t1) / iters
    ms: dict[str, float] = defaultdict(float)
    flops: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for cls, a, b, f in pending:
        ms[cls] += clock.ms(a, b) / iters
        flops[cls] += f // iters
        count[cls] += 1
    classes = {
        c: {"ms": ms[c], "share": ms[c] / total, "gflops": flops[c] / 1e9, "count": count[c] // iters}
        for c in sorted(ms)
    }
    for c in classes.values():
        c["tflops"] = c["gflops"] / c["ms"] if c["ms"] > 0 else 0.0  # GFLOP per ms = TFLOP/s
    other = max(0.0, total - sum(ms.values()))
    classes["other"] = {"ms": other, "share": other / total, "gflops": 0.0, "count": 0, "tflops": 0.0}
    return {"total_ms": total, "classes": classes}


def top_kernels(forward, x: torch.Tensor, top: int = 15) -> list[dict]:
    """The ``top`` CUDA kernels by total time over 3 calls (``torch.profiler``): ``{"name", "ms", "calls"}``."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        forward(x)
        synchronize(x.device)
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                forward(x)
            synchronize(x.device)
    rows = []
    for e in prof.key_averages():
        t = getattr(e, "device_time_total", 0.0) or getattr(e, "cuda_time_total", 0.0)
        if t > 0:
            rows.append({"name": e.key[:120], "ms": t / 1e3 / 3, "calls": e.count // 3})
    return sorted(rows, key=lambda r: -r["ms"])[:top]
