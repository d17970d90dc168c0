"""YOLOv4/v5-style target assignment: shape-ratio anchor matching plus neighbouring grid cells.

A ground truth (GT) is assigned, on every level, to each anchor whose shape ratio
``max(w / aw, aw / w, h / ah, ah / h) < anchor_t``; a GT that matches no anchor anywhere still gets its single
best-ratio anchor (so tiny and huge boxes are never silently dropped). Each (GT, anchor) pair is assigned to the cell
holding the GT centre and to the nearest neighbouring cells in x and in y whose shared edge lies within
``neighbor_margin`` cells of the centre (0.5 = always the 2 nearest neighbours, as in YOLOv5 / Scaled-YOLOv4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from detector.boxes import xyxy_to_cxcywh


@dataclass
class LevelTargets:
    """Positives of one level, ``n`` rows each: indices into the raw map ``[B, A, H, W, 5 + C]`` and their targets.

    ``boxes_cxcywh`` are in input pixels; ``gt_index`` indexes the rows of the ``[M, 6]`` targets tensor.
    """

    batch: torch.Tensor  # int64 [n]
    anchor: torch.Tensor  # int64 [n]
    gj: torch.Tensor  # int64 [n] cell row
    gi: torch.Tensor  # int64 [n] cell column
    boxes_cxcywh: torch.Tensor  # float [n, 4] pixels
    labels: torch.Tensor  # int64 [n]
    gt_index: torch.Tensor  # int64 [n]


def shape_ratio_metric(wh: torch.Tensor, anchors_wh: torch.Tensor) -> torch.Tensor:
    """``[M, 2]`` box sizes x ``[K, 2]`` anchor sizes -> ``[M, K]`` worst side ratio ``max(r, 1/r)`` (>= 1)."""
    r = wh[:, None, :] / anchors_wh[None, :, :]
    return torch.maximum(r, 1.0 / r).amax(-1)


def assign_targets(
    targets: torch.Tensor,
    anchors: torch.Tensor,
    strides: Sequence[int],
    grid_sizes: Sequence[tuple[int, int]],
    anchor_t: float = 4.0,
    neighbor_margin: float | Sequence[float] = 0.5,
) -> list[LevelTargets]:
    """Assign GT boxes to (level, anchor, cell) positives.

    Args:
        targets: ``[M, 6]`` rows ``(batch_index, label, x1, y1, x2, y2)``, input pixels. Boxes with non-positive or
            non-finite width/height are ignored.
        anchors: ``[L, A, 2]`` anchor sizes in input pixels.
        strides: per level, input pixels per cell.
        grid_sizes: per level ``(H_l, W_l)`` cells.
        anchor_t: shape-ratio threshold (``model.head.loss.anchor_t``).
        neighbor_margin: in cells, in ``[0, 0.5]``, one value or one per level; 0 disables neighbouring cells.
    Returns:
        one :class:`LevelTargets` per level.
    """
    num_levels, num_anchors = anchors.shape[:2]
    margins = [float(neighbor_margin)] * num_levels if isinstance(neighbor_margin, (int, float)) else neighbor_margin
    device = targets.device
    targets = targets.to(anchors.dtype).reshape(-1, 6)
    boxes_cxcywh = xyxy_to_cxcywh(targets[:, 2:6])
    valid = (boxes_cxcywh[:, 2:] > 0).all(1) & torch.isfinite(boxes_cxcywh).all(1)
    gt_index = torch.nonzero(valid).squeeze(1)
    boxes_cxcywh = boxes_cxcywh[gt_index]
    metric = shape_ratio_metric(boxes_cxcywh[:, 2:], anchors.reshape(-1, 2)).view(-1, num_levels, num_anchors)
    matched = metric < anchor_t  # [M, L, A]
    if len(gt_index):  # fallback: every GT keeps its best anchor over all levels
        best = metric.view(len(gt_index), -1).argmin(1)
        matched.view(len(gt_index), -1)[torch.arange(len(gt_index), device=device), best] = True

    out = []
    for level in range(num_levels):
        h, w = grid_sizes[level]
        m_idx, a_idx = torch.nonzero(matched[:, level], as_tuple=True)
        box = boxes_cxcywh[m_idx]
        gxy = box[:, :2] / strides[level]  # centre in cell units
        cell = gxy.floor()
        frac = gxy - cell
        cell_x, cell_y = cell[:, 0].long().clamp(0, w - 1), cell[:, 1].long().clamp(0, h - 1)
        cand = [(m_idx, a_idx, cell_x, cell_y)]
        margin = margins[level]
        if margin > 0:
            for dx, dy, use in (
                (-1, 0, (frac[:, 0] < margin) & (cell_x > 0)),
                (1, 0, (frac[:, 0] > 1 - margin) & (cell_x < w - 1)),
                (0, -1, (frac[:, 1] < margin) & (cell_y > 0)),
                (0, 1, (frac[:, 1] > 1 - margin) & (cell_y < h - 1)),
            ):
                cand.append((m_idx[use], a_idx[use], cell_x[use] + dx, cell_y[use] + dy))
        m_all, a_all, gi, gj = (torch.cat(parts) for parts in zip(*cand, strict=True))
        src = gt_index[m_all]
        out.append(
            LevelTargets(
                batch=targets[src, 0].long(),
                anchor=a_all,
                gj=gj,
                gi=gi,
                boxes_cxcywh=boxes_cxcywh[m_all],
                labels=targets[src, 1].long(),
                gt_index=src,
            )
        )
    return out
