"""Anchor-based YOLOv4 head: per-level 3x3 conv + 1x1 prediction conv, raw maps and their decoding.

Box parametrisation (one function, :func:`decode_boxes`, used by both the loss and inference):

- centre: ``xy = (sigmoid(t_xy) * s - (s - 1) / 2 + grid_xy) * stride`` (YOLOv4 grid sensitivity ``s = scale_x_y``);
- size, ``wh_decode="sigmoid2"`` (default): ``wh = (2 * sigmoid(t_wh)) ** 2 * anchor_wh`` (the bounded
  Scaled-YOLOv4/YOLOv5 variant: 0..4x the anchor, matching the assigner's ``anchor_t = 4``);
  ``wh_decode="exp"``: ``wh = exp(t_wh) * anchor_wh`` (darknet's ``[yolo]`` layer; ``t_wh`` is clamped at
  ``EXP_CLAMP`` so a wild logit cannot overflow to inf -- exp(10) is already 22026 anchors).

Bias init: objectness logit = ``logit(8 / (640 / stride) ** 2)`` (about 8 objects per 640x640 image at each level),
class logits = ``logit(prior_prob)``.

Head protocol (shared with every head family, see ``detector/model/heads/base.py``): ``forward_raw(feats) -> raw maps``,
``decode(raw) -> [B, N, 4 + C]`` (cx, cy, w, h input pixels, class scores in [0, 1]; here objectness x class
probability), ``forward`` = ``forward_raw`` or, with ``decode_in_forward`` (export switch), ``decode(forward_raw)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from detector.config.head_families import WH_DECODES
from detector.model.heads.base import DetectionHead
from detector.model.layers import ConvBNAct, conv_bias

EXP_CLAMP = 10.0  # max t_wh before exp() in the "exp" size decode


def decode_boxes(
    t_xywh: torch.Tensor,
    grid_xy: torch.Tensor,
    anchor_wh: torch.Tensor,
    stride: float,
    scale_x_y: float,
    wh_decode: str = "sigmoid2",
) -> torch.Tensor:
    """Raw ``[..., 4]`` (tx, ty, tw, th) -> cxcywh boxes in input pixels.

    ``grid_xy``: cell column/row index ``[..., 2]``; ``anchor_wh``: anchor size in input pixels ``[..., 2]``;
    all three broadcast together. ``wh_decode``: ``sigmoid2`` or ``exp`` (module docstring).
    """
    xy = (t_xywh[..., :2].sigmoid() * scale_x_y - (scale_x_y - 1.0) / 2 + grid_xy) * stride
    if wh_decode == "exp":
        wh = t_xywh[..., 2:4].clamp(max=EXP_CLAMP).exp() * anchor_wh
    else:
        wh = (2.0 * t_xywh[..., 2:4].sigmoid()) ** 2 * anchor_wh
    return torch.cat((xy, wh), dim=-1)


def parse_anchors(anchors: Sequence[Sequence[float]], num_levels: int) -> torch.Tensor:
    """Config anchors (per level a flat ``w0, h0, w1, h1, ...`` list, pixels) -> ``[L, A, 2]`` float tensor."""
    rows = [list(map(float, level)) for level in anchors]
    if len(rows) != num_levels:
        raise ValueError(
            f"model.head.anchors has {len(rows)} levels but the neck gives {num_levels}; give one row per level"
        )
    for i, row in enumerate(rows):
        if not row or len(row) % 2 or len(row) != len(rows[0]):
            raise ValueError(
                f"model.head.anchors[{i}] = {row}: every level needs the same number of (w, h) pairs, "
                f"got {len(row)} values"
            )
        if min(row) <= 0:
            raise ValueError(f"model.head.anchors[{i}] = {row}: anchor sizes must be > 0 pixels")
    return torch.tensor(rows).view(num_levels, -1, 2)


class YoloHead(DetectionHead):
    """Per level: ConvBNAct 3x3 (``hidden_mult`` x channels, BatchNorm ``bn_eps``) + 1x1 conv to ``A * (5 + C)``.

    ``forward(feats)`` returns raw maps ``list[[B, A, H_l, W_l, 5 + C]]`` (tx, ty, tw, th, obj, cls... logits), or the
    decoded ``[B, N, 4 + C]`` when ``decode_in_forward`` is True (export switch).
    Buffers: ``anchors [L, A, 2]`` pixels. Attributes: ``strides``, ``scale_x_y``, ``wh_decode``, ``num_classes``,
    ``num_anchors``.
    """

    config_buffers = ("anchors",)
    anchors: torch.Tensor  # buffer [L, A, 2], pixels

    def __init__(
        self,
        in_channels: Sequence[int],
        strides: Sequence[int],
        anchors: Sequence[Sequence[float]],
        num_classes: int,
        scale_x_y: Sequence[float] = (1.2, 1.1, 1.05),
        prior_prob: float = 0.01,
        hidden_mult: float = 2.0,
        act: str = "leaky",
        wh_decode: str = "sigmoid2",
        bn_eps: float = 1e-3,
    ):
        super().__init__()
        if wh_decode not in WH_DECODES:
            raise ValueError(f"model.head.wh_decode must be one of {list(WH_DECODES)}, got {wh_decode!r}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if len(scale_x_y) != len(strides):
            raise ValueError(f"model.head.scale_x_y needs one value per level ({len(strides)}), got {list(scale_x_y)}")
        if not 0 < prior_prob < 1:
            raise ValueError(f"model.head.prior_prob must be in (0, 1), got {prior_prob}")
        self.num_classes = int(num_classes)
        self.strides = [int(s) for s in strides]
        self.scale_x_y = [float(s) for s in scale_x_y]
        self.wh_decode = wh_decode
        self.register_buffer("anchors", parse_anchors(anchors, len(self.strides)))
        self.num_anchors = self.anchors.shape[1]
        self.num_outputs = 5 + self.num_classes
        self.decode_in_forward = False
        self.convs = nn.ModuleList(ConvBNAct(c, int(c * hidden_mult), 3, act=act, bn_eps=bn_eps) for c in in_channels)
        self.preds = nn.ModuleList(
            nn.Conv2d(int(c * hidden_mult), self.num_anchors * self.num_outputs, 1) for c in in_channels
        )
        self._grids: dict[tuple, torch.Tensor] = {}
        self.init_bias(prior_prob)

    def init_bias(self, prior_prob: float) -> None:
        """Objectness bias ``logit(8 / (640 / stride)^2)``, class biases ``logit(prior_prob)``, box biases 0."""
        cls_bias = math.log(prior_prob / (1 - prior_prob))
        for pred, stride in zip(self.preds, self.strides, strict=True):
            p_obj = min(8.0 / (640.0 / stride) ** 2, 0.5)
            with torch.no_grad():
                b = conv_bias(pred).view(self.num_anchors, self.num_outputs)
                b[:, :4] = 0.0
                b[:, 4] = math.log(p_obj / (1 - p_obj))
                b[:, 5:] = cls_bias

    def forward_raw(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Neck maps -> raw ``list[[B, A, H_l, W_l, 5 + C]]`` logits."""
        out = []
        for x, conv, pred in zip(feats, self.convs, self.preds, strict=True):
            y = pred(conv(x))  # [B, A*(5+C), H, W]
            b, _, h, w = y.shape
            out.append(y.view(b, self.num_anchors, self.num_outputs, h, w).permute(0, 1, 3, 4, 2).contiguous())
        return out

    def grid(self, level: int, h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Cached cell index grid ``[1, 1, h, w, 2]`` (x = column, y = row) for one level."""
        key = (level, h, w, device, dtype)
        g = self._grids.get(key)
        if g is None:
            # built in fp32 then cast: ONNX has no fp16 Range
            ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
            g = torch.stack((xs, ys), -1).view(1, 1, h, w, 2).to(dtype)
            if not torch.jit.is_tracing():
                self._grids[key] = g
        return g

    def decode_level(self, raw: torch.Tensor, level: int) -> torch.Tensor:
        """One raw map ``[B, A, H, W, 5 + C]`` -> ``[B, A * H * W, 4 + C]`` (cx, cy, w, h pixels, obj x class prob).

        Always computed in float32 (pixel boxes need the precision under bf16/fp16 autocast)."""
        raw = raw.float()
        b, a, h, w, no = raw.shape
        grid = self.grid(level, h, w, raw.device, raw.dtype)
        anchor_wh = self.anchors[level].float().view(1, a, 1, 1, 2)
        boxes = decode_boxes(raw[..., :4], grid, anchor_wh, self.strides[level], self.scale_x_y[level], self.wh_decode)
        scores = raw[..., 5:].sigmoid() * raw[..., 4:5].sigmoid()
        return torch.cat((boxes, scores), -1).view(b, a * h * w, no - 1)

    def decode(self, raw: Sequence[torch.Tensor]) -> torch.Tensor:
        """Raw maps -> float32 ``[B, N, 4 + C]`` (cx, cy, w, h input pixels, class scores = obj x class prob),
        N = sum over levels of A * H_l * W_l. Always float32 with autocast off, whatever the logits' dtype."""
        with torch.autocast(raw[0].device.type, enabled=False):
            return torch.cat([self.decode_level(r, i) for i, r in enumerate(raw)], dim=1)

    def _apply(self, fn, recurse=True):  # device/dtype moves invalidate the grid cache
        self._grids = {}
        return super()._apply(fn, recurse)
