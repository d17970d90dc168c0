"""Model size and cost: parameter counts per part and GFLOPs at a given input size.

FLOP convention: ``torch.utils.flop_counter.FlopCounterMode`` counts convolutions and matrix products only, a
multiply-add as 2 FLOPs (so GFLOPs = 2 x GMACs, the number ultralytics/YOLOv5 print); one image of
``img_size x img_size``; element-wise ops (activations, BatchNorm in eval, pooling) are not counted.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (elements) of ``module``; only those with ``requires_grad`` when ``trainable_only``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def count_flops(fn, *args) -> tuple[int, object]:
    """``(FLOPs, output)`` of ``fn(*args)`` under the convention above (any model: ours, a peer's)."""
    with FlopCounterMode(display=False) as counter:
        out = fn(*args)
    return counter.get_total_flops(), out


@torch.no_grad()
def model_flops(model: nn.Module, img_size: int | tuple[int, int] = 640) -> dict[str, int]:
    """FLOPs of one forward pass of a Detector-like model (``backbone``/``neck``/``head`` attributes) per part."""
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    param = next(model.parameters())
    x = torch.zeros(1, 3, h, w, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        f_bb, feats = count_flops(model.backbone, x)
        f_neck, feats = count_flops(model.neck, feats)
        f_head, _ = count_flops(model.head.forward_raw if hasattr(model.head, "forward_raw") else model.head, feats)
    finally:
        model.train(was_training)
    return {"backbone": f_bb, "neck": f_neck, "head": f_head, "total": f_bb + f_neck + f_head}


def model_summary(model: nn.Module, img_size: int = 640) -> str:
    """A table of parameters (total and trainable) and GFLOPs for backbone, neck, head and the whole model."""
    flops = model_flops(model, img_size)
    rows = []
    for name in ("backbone", "neck", "head"):
        part = getattr(model, name)
        rows.append((name, type(part).__name__, count_parameters(part), count_parameters(part, True), flops[name]))
    rows.append(("total", type(model).__name__, count_parameters(model), count_parameters(model, True), flops["total"]))
    lines = [
        f"{'part':<10}{'module':<22}{'params':>14}{'trainable':>14}{'GFLOPs':>10}",
        "-" * 70,
    ]
    for name, module, n, nt, fl in rows:
        if name == "total":
            lines.append("-" * 70)
        lines.append(f"{name:<10}{module:<22}{n:>14,}{nt:>14,}{fl / 1e9:>10.2f}")
    lines.append(f"GFLOPs at {img_size}x{img_size}, batch 1, multiply-add = 2 FLOPs (conv/matmul only)")
    return "\n".join(lines)
