"""Anchor-free decoupled head (YOLOv6/v8 family): separate box and class branches per level, boxes as distances.

Per level ``l`` (stride ``s``), every cell centre ``p = (col + 0.5, row + 0.5) * s`` predicts:

- box: four distances (left, top, right, bottom) from ``p`` to the box sides, each a discrete distribution over
  ``reg_max`` bins ``0, 1, ..., reg_max - 1`` (in strides); the distance is the expectation ``sum_i softmax(t)_i * i``
  (:func:`dfl_expectation`), so a side can lie up to ``(reg_max - 1) * s`` pixels from the centre;
- classes: ``C`` logits, score = ``sigmoid``; there is no objectness.

Raw maps (``forward_raw``): ``list[[B, 4 * reg_max + C, H_l, W_l]]``. ``decode(raw)`` -> ``[B, N, 4 + C]`` float32
(cx, cy, w, h input pixels, class scores), N = sum H_l * W_l. The loss (``loss.py`` beside this file) decodes
with the same :func:`dfl_expectation` and :func:`distances_to_xyxy`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from detector.boxes import xyxy_to_cxcywh
from detector.model.heads.base import DetectionHead
from detector.model.layers import ConvBNAct, conv_bias


def dfl_expectation(logits: torch.Tensor, reg_max: int) -> torch.Tensor:
    """``[..., 4 * reg_max]`` bin logits (side-major) -> ``[..., 4]`` expected distances in strides."""
    probs = logits.unflatten(-1, (4, reg_max)).softmax(-1)
    bins = torch.arange(reg_max, device=logits.device, dtype=probs.dtype)
    return probs @ bins


def distances_to_xyxy(points: torch.Tensor, ltrb: torch.Tensor) -> torch.Tensor:
    """Cell centres ``[..., 2]`` and side distances ``[..., 4]`` (same units) -> boxes ``[..., 4]`` xyxy."""
    return torch.cat((points - ltrb[..., :2], points + ltrb[..., 2:]), -1)


def xyxy_to_distances(points: torch.Tensor, boxes_xyxy: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`distances_to_xyxy`: ``[..., 2]`` points, ``[..., 4]`` boxes -> ``[..., 4]`` (l, t, r, b)."""
    return torch.cat((points - boxes_xyxy[..., :2], boxes_xyxy[..., 2:] - points), -1)


def cell_centres(sizes_hw: Sequence[tuple[int, int]], strides: Sequence[int], device: torch.device) -> tuple:
    """Cell centres of all levels, level-major then row-major: ``(points [N, 2] input pixels, stride [N, 1])``."""
    points, stride_col = [], []
    for (h, w), s in zip(sizes_hw, strides, strict=True):
        ys, xs = torch.meshgrid(
            torch.arange(h, device=device, dtype=torch.float32),
            torch.arange(w, device=device, dtype=torch.float32),
            indexing="ij",
        )
        points.append((torch.stack((xs, ys), -1).view(-1, 2) + 0.5) * s)
        stride_col.append(torch.full((h * w, 1), float(s), device=device))
    return torch.cat(points), torch.cat(stride_col)


class DecoupledHead(DetectionHead):
    """Per level: box branch ``3x3 -> 3x3 -> 1x1 (4 * reg_max)`` and class branch ``3x3 -> 3x3 -> 1x1 (C)``.

    Branch widths follow YOLOv8: ``c_box = max(16, c_P3 / 4, 4 * reg_max)``, ``c_cls = max(c_P3, min(C, 100))``.
    Bias init: box bins 1.0 (uniform distribution), class logits ``logit(prior_prob)`` scaled per level by the
    cell count: ``log(5 / C / (640 / stride)^2)`` when ``prior_prob`` is None (about 5 objects per 640 image).
    """

    config_buffers = ()

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        num_classes: int,
        reg_max: int = 16,
        prior_prob: float | None = None,
        act: str = "silu",
    ):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if reg_max < 2:
            raise ValueError(f"model.head.reg_max must be >= 2, got {reg_max}")
        if prior_prob is not None and not 0 < prior_prob < 1:
            raise ValueError(f"model.head.prior_prob must be in (0, 1), got {prior_prob}")
        self.num_classes, self.reg_max = int(num_classes), int(reg_max)
        self.strides = [int(s) for s in strides]
        self.num_outputs = 4 * self.reg_max + self.num_classes
        self.decode_in_forward = False
        c_box = max(16, in_channels[0] // 4, 4 * self.reg_max)
        c_cls = max(in_channels[0], min(self.num_classes, 100))

        def branch(c_in: int, c_mid: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(
                ConvBNAct(c_in, c_mid, 3, act=act), ConvBNAct(c_mid, c_mid, 3, act=act), nn.Conv2d(c_mid, c_out, 1)
            )

        self.box_branches = nn.ModuleList(branch(c, c_box, 4 * self.reg_max) for c in in_channels)
        self.cls_branches = nn.ModuleList(branch(c, c_cls, self.num_classes) for c in in_channels)
        self._points: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self.init_bias(prior_prob)

    def init_bias(self, prior_prob: float | None) -> None:
        """Box bins 1.0; class bias ``logit(prior_prob)`` or, when None, ``log(5 / C / (640 / stride)^2)``."""
        for box, cls, s in zip(self.box_branches, self.cls_branches, self.strides, strict=True):
            with torch.no_grad():
                conv_bias(box).fill_(1.0)
                if prior_prob is None:
                    conv_bias(cls).fill_(math.log(5 / self.num_classes / (640 / s) ** 2))
                else:
                    conv_bias(cls).fill_(math.log(prior_prob / (1 - prior_prob)))

    def forward_raw(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Neck maps ``[B, c_l, H_l, W_l]`` -> raw ``list[[B, 4 * reg_max + C, H_l, W_l]]`` logits."""
        return [
            torch.cat((box(x), cls(x)), 1)
            for x, box, cls in zip(feats, self.box_branches, self.cls_branches, strict=True)
        ]

    def points(self, raw: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Cached ``(points [N, 2] pixels, stride [N, 1])`` for the raw maps' grid sizes."""
        sizes = tuple((int(r.shape[2]), int(r.shape[3])) for r in raw)
        key = (sizes, raw[0].device)
        cached = self._points.get(key)
        if cached is None:
            cached = cell_centres(sizes, self.strides, raw[0].device)
            if not torch.jit.is_tracing():
                self._points[key] = cached
        return cached

    def flatten(self, raw: Sequence[torch.Tensor]) -> torch.Tensor:
        """Raw maps -> float32 ``[B, N, 4 * reg_max + C]`` (level-major, then row-major cells)."""
        return torch.cat([r.float().flatten(2) for r in raw], 2).transpose(1, 2)

    def decode(self, raw: Sequence[torch.Tensor]) -> torch.Tensor:
        """Raw maps -> float32 ``[B, N, 4 + C]``: (cx, cy, w, h) input pixels and class scores in [0, 1].

        Always float32, autocast off: under bf16 autocast the DFL expectation (a matmul) would otherwise run in bf16."""
        with torch.autocast(raw[0].device.type, enabled=False):
            flat = self.flatten(raw)
            points, stride = self.points(raw)
            ltrb = dfl_expectation(flat[..., : 4 * self.reg_max], self.reg_max) * stride
            boxes = xyxy_to_cxcywh(distances_to_xyxy(points, ltrb))
            return torch.cat((boxes, flat[..., 4 * self.reg_max :].sigmoid()), -1)

    def _apply(self, fn, recurse=True):  # device/dtype moves invalidate the point cache
        self._points = {}
        return super()._apply(fn, recurse)
