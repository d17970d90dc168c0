"""Box format conversions, IoU variants and the inverse letterbox map.

Formats: ``xyxy`` (x1, y1, x2, y2) and ``cxcywh`` (centre x, centre y, width, height), in the same units as the
input (pixels unless the caller says otherwise); the last dim is 4. COCO's ``xywh`` is converted where it is read and
written (``detector/data/coco.py``, the evaluator), not here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch


def xyxy_to_cxcywh(boxes_xyxy: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` xyxy -> cxcywh."""
    x1, y1, x2, y2 = boxes_xyxy.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def cxcywh_to_xyxy(boxes_cxcywh: torch.Tensor) -> torch.Tensor:
    """``[..., 4]`` cxcywh -> xyxy."""
    cx, cy, w, h = boxes_cxcywh.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def bbox_iou(
    boxes1_xyxy: torch.Tensor, boxes2_xyxy: torch.Tensor, kind: str = "iou", eps: float = 1e-7
) -> torch.Tensor:
    """Elementwise IoU-family metric of matching rows: ``[..., 4]`` x ``[..., 4]`` xyxy -> ``[...]``.

    ``kind``: ``iou``; ``giou`` (IoU - (hull - union) / hull); ``diou`` (IoU - centre distance^2 / hull diagonal^2);
    ``ciou`` (DIoU - alpha * v, v the aspect-ratio term, alpha = v / (1 - IoU + v) treated as a constant).
    """
    if kind not in ("iou", "giou", "diou", "ciou"):
        raise ValueError(f"bbox_iou kind must be iou, giou, diou or ciou, got {kind!r}")
    b1x1, b1y1, b1x2, b1y2 = boxes1_xyxy.unbind(-1)
    b2x1, b2y1, b2x2, b2y2 = boxes2_xyxy.unbind(-1)
    w1, h1 = (b1x2 - b1x1).clamp(min=0), (b1y2 - b1y1).clamp(min=0)
    w2, h2 = (b2x2 - b2x1).clamp(min=0), (b2y2 - b2y1).clamp(min=0)
    inter = (torch.minimum(b1x2, b2x2) - torch.maximum(b1x1, b2x1)).clamp(min=0) * (
        torch.minimum(b1y2, b2y2) - torch.maximum(b1y1, b2y1)
    ).clamp(min=0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    if kind == "iou":
        return iou
    cw = torch.maximum(b1x2, b2x2) - torch.minimum(b1x1, b2x1)  # hull width
    ch = torch.maximum(b1y2, b2y2) - torch.minimum(b1y1, b2y1)  # hull height
    if kind == "giou":
        hull = cw * ch + eps
        return iou - (hull - union) / hull
    diag2 = cw**2 + ch**2 + eps
    dist2 = ((b2x1 + b2x2 - b1x1 - b1x2) ** 2 + (b2y1 + b2y2 - b1y1 - b1y2) ** 2) / 4
    if kind == "diou":
        return iou - dist2 / diag2
    v = (4 / math.pi**2) * (torch.atan(w2 / (h2 + eps)) - torch.atan(w1 / (h1 + eps))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (dist2 / diag2 + v * alpha)


def _lb_values(lb_params: Any) -> tuple[Any, Any, Any]:
    """(scale, pad_x, pad_y) from a LetterboxParams-like object, a ``[3]`` tensor or a sequence."""
    if hasattr(lb_params, "scale"):
        return lb_params.scale, lb_params.pad_x, lb_params.pad_y
    if isinstance(lb_params, torch.Tensor):
        lb_params = lb_params.reshape(-1).tolist()
    if len(lb_params) != 3:
        raise ValueError(f"lb_params must be (scale, pad_x, pad_y), got {lb_params!r}")
    return lb_params[0], lb_params[1], lb_params[2]


def unletterbox_boxes(
    boxes_xyxy: torch.Tensor, lb_params: Any, orig_hw: Sequence[int] | torch.Tensor | None = None
) -> torch.Tensor:
    """Map ``[N, 4]`` xyxy boxes from letterboxed input pixels back to original image pixels.

    Inverse of ``x_in = x_orig * scale + pad_x`` (``y`` with ``pad_y``). ``lb_params`` is a ``LetterboxParams`` or
    ``(scale, pad_x, pad_y)``; when ``orig_hw=(h, w)`` is given the result is clipped to ``[0, w] x [0, h]``.
    Returns a new float tensor.
    """
    scale, pad_x, pad_y = (float(v) for v in _lb_values(lb_params))
    if scale <= 0:
        raise ValueError(f"letterbox scale must be > 0, got {scale}")
    pad = boxes_xyxy.new_tensor([pad_x, pad_y, pad_x, pad_y])
    out = (boxes_xyxy - pad) / scale
    if orig_hw is not None:
        h, w = (float(v) for v in orig_hw)
        out = clip_boxes(out, (h, w))
    return out


def clip_boxes(boxes_xyxy: torch.Tensor, hw: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Clip ``[..., 4]`` xyxy boxes to ``[0, w] x [0, h]`` (``hw = (h, w)`` pixels, a pair or a ``[2]`` tensor);
    returns a new tensor."""
    h, w = float(hw[0]), float(hw[1])
    x = boxes_xyxy[..., 0::2].clamp(0, w)
    y = boxes_xyxy[..., 1::2].clamp(0, h)
    return torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), dim=-1)
