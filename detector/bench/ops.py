"""Operator micro-benchmarks behind the detector's GPU profile (suite step ``ops``), timed side by side.

For representative convolutions of ``yolo_cspx50`` at batch ``B`` and input side ``S`` (feature maps at S/4, S/8,
S/16): a convolution with its bias (PyTorch's cuDNN path: convolution, then a broadcast bias add), without bias,
and a 1x1 one as ``addmm`` with the bias in the epilogue (:mod:`detector.model.pointwise_gemm`); NCHW vs channels_last;
the 7x7/2 stem with 3 input channels vs zero-padded to 4 and 8. Milliseconds per call (interleaved medians).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from detector.bench.timing import DTYPES, time_interleaved
from detector.model.pointwise_gemm import pointwise_convs_as_gemm

# (name, in, out, kernel, groups, map side as a fraction of the input side)
CONVS = (
    ("1x1 256->256 @S/4", 256, 256, 1, 1, 4),
    ("1x1 512->512 @S/8", 512, 512, 1, 1, 8),
    ("1x1 1024->512 @S/16", 1024, 512, 1, 1, 16),
    ("grouped 3x3 256, 32 groups @S/4", 256, 256, 3, 32, 4),
    ("3x3 256->512 @S/16", 256, 512, 3, 1, 16),
)


def _ms(timings: dict) -> dict[str, float]:
    return {k: t.median_s * 1e3 for k, t in timings.items()}


@torch.inference_mode()
def bench_ops(
    device: torch.device,
    dtype: str = "bf16",
    batch: int = 32,
    size: int = 640,
    warmup: int = 5,
    iters: int = 10,
    repeats: int = 5,
) -> dict:
    """``{"convs": [{"name", "bias", "no_bias", "gemm" (1x1 only), "gemm_max_abs_diff", "nchw"}], "stem": {...}}``;
    times in ms per call."""
    dt, cl = DTYPES[dtype], torch.channels_last
    counts = (warmup, iters, repeats)
    rows = []
    for name, cin, cout, k, groups, div in CONVS:
        torch.manual_seed(0)
        conv = nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups).to(device, dt).to(memory_format=cl)
        plain = nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False).to(device, dt)
        plain = plain.to(memory_format=cl)
        plain.weight.copy_(conv.weight)
        x = torch.rand(batch, cin, size // div, size // div, device=device, dtype=dt).contiguous(memory_format=cl)
        fns = {"bias": partial(conv, x), "no_bias": partial(plain, x)}
        row: dict = {"name": name}
        if k == 1:
            gemm = nn.Conv2d(cin, cout, 1).to(device, dt).to(memory_format=cl)
            gemm.load_state_dict(conv.state_dict())
            pointwise_convs_as_gemm(gemm)
            fns["gemm"] = partial(gemm, x)
            row["gemm_max_abs_diff"] = (gemm(x).float() - conv(x).float()).abs().max().item()
        row.update(_ms(time_interleaved(fns, device, *counts)))
        nchw, xc = conv.to(memory_format=torch.contiguous_format), x.contiguous()
        row["nchw"] = _ms(time_interleaved({"nchw": partial(nchw, xc)}, device, *counts))["nchw"]
        rows.append(row)
    stems: dict[str, Callable[[], object]] = {}
    for cin in (3, 4, 8):
        stem = nn.Conv2d(cin, 64, 7, 2, 3).to(device, dt).to(memory_format=cl)
        x = torch.rand(batch, cin, size, size, device=device, dtype=dt).contiguous(memory_format=cl)
        stems[f"in_channels_{cin}"] = partial(stem, x)
    return {
        "dtype": dtype,
        "batch": batch,
        "size": size,
        "convs": rows,
        "stem": _ms(time_interleaved(stems, device, *counts)),
    }
