"""Small stand-ins shared by the detector tests (not a test module)."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from detector.heads.decoupled import DecoupledHead
from detector.heads.yolov4 import YoloHead
from detector.model import Detector
from detector.neck import SPPPAN

SMALL_ANCHORS = [[10, 14, 20, 16, 16, 24], [28, 36, 40, 28, 36, 48], [56, 48, 48, 72, 80, 80]]


class TinyBackbone(nn.Module):
    """Five stride-2 conv blocks; returns the stride 8/16/32 maps with ``channels``/``strides`` metadata."""

    def __init__(self, channels: tuple[int, int, int] = (16, 24, 32)):
        super().__init__()
        widths = [8, 12, *channels]
        layers, c_in = [], 3
        for c in widths:
            layers.append(nn.Sequential(nn.Conv2d(c_in, c, 3, 2, 1), nn.BatchNorm2d(c), nn.SiLU()))
            c_in = c
        self.stages = nn.ModuleList(layers)
        self.channels, self.strides = list(channels), [8, 16, 32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 2:
                outs.append(x)
        return outs


def tiny_detector(
    num_classes: int = 2, anchors=None, widths=(16, 24, 32), depth: int = 1, head: str = "yolov4", reg_max: int = 8
) -> Detector:
    """A small detector for tests: ``head`` is ``yolov4`` or ``decoupled``."""
    backbone = TinyBackbone()
    neck = SPPPAN(backbone.channels, backbone.strides, widths, depth)
    if head == "decoupled":
        det_head = DecoupledHead(neck.channels, neck.strides, num_classes, reg_max=reg_max)
    else:
        det_head = YoloHead(neck.channels, neck.strides, anchors or SMALL_ANCHORS, num_classes, hidden_mult=1.0)
    return Detector(backbone, neck, det_head)


def loss_cfg(**kw) -> SimpleNamespace:
    base = dict(box=0.05, obj=1.0, cls=0.5, balance=[4.0, 1.0, 0.4], anchor_t=4.0, label_smoothing=0.0)
    base.update(kw)
    return SimpleNamespace(**base)


SIZE = 128
# per image: (label, x1, y1, x2, y2); label 0 = filled rectangle, 1 = filled circle
OBJECTS = [
    [(0, 10, 12, 50, 40), (1, 70, 60, 110, 100)],
    [(1, 20, 70, 56, 106), (0, 64, 16, 120, 44)],
    [(0, 40, 40, 72, 100)],
    [(1, 8, 8, 40, 40), (0, 80, 84, 116, 112), (1, 84, 12, 116, 44)],
]


def make_overfit_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """4 images of ``SIZE`` px with the ``OBJECTS`` drawn on noise; targets ``[M, 6]`` (batch, label, xyxy px)."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(len(OBJECTS), 3, SIZE, SIZE, generator=g) * 0.2 + 0.4
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    rows = []
    for i, objs in enumerate(OBJECTS):
        for label, x1, y1, x2, y2 in objs:
            if label == 0:
                mask = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
                color = torch.tensor([0.9, 0.2, 0.1])
            else:
                cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
                mask = (xs - cx) ** 2 + (ys - cy) ** 2 < r**2
                color = torch.tensor([0.1, 0.3, 0.9])
            images[i][:, mask] = color[:, None]
            rows.append([i, label, x1, y1, x2, y2])
    return images, torch.tensor(rows, dtype=torch.float32)
