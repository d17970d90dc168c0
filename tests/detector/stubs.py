"""Small stand-ins shared by the detector tests (not a test module)."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from detector.head import YoloHead
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


def tiny_detector(num_classes: int = 2, anchors=None, widths=(16, 24, 32), depth: int = 1) -> Detector:
    backbone = TinyBackbone()
    neck = SPPPAN(backbone.channels, backbone.strides, widths, depth)
    head = YoloHead(neck.channels, neck.strides, anchors or SMALL_ANCHORS, num_classes, hidden_mult=1.0)
    return Detector(backbone, neck, head)


def loss_cfg(**kw) -> SimpleNamespace:
    base = dict(box=0.05, obj=1.0, cls=0.5, balance=[4.0, 1.0, 0.4], anchor_t=4.0, label_smoothing=0.0)
    base.update(kw)
    return SimpleNamespace(**base)
