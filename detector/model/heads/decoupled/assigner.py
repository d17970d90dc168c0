"""Task-aligned label assignment (TOOD, arXiv 2108.07755; as used by YOLOv6/v8) for anchor-free heads.

For every ground truth (GT) ``g`` and cell centre ``p``:

1. candidates: the cell centres that lie strictly inside the GT box;
2. alignment ``t = score(p, label_g) ** alpha * IoU(pred_box(p), box_g) ** beta`` (predictions detached);
3. the ``topk`` candidates with the largest ``t`` are positives of ``g``; a centre claimed by several GTs keeps the
   GT its predicted box overlaps most;
4. class targets: a positive of ``g`` gets, in column ``label_g``, ``t / max_g(t) * max_g(IoU)`` (the alignment
   normalised per GT so that the best-aligned positive's target equals the best IoU of that GT); every other entry
   is 0.

Padded batch layout: GTs as ``[B, M, ...]`` with a validity mask, cells as ``[B, N, ...]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from detector.boxes import bbox_iou


@dataclass
class AlignedTargets:
    """Assignment of ``N`` cells per image. ``fg [B, N]`` bool (positive cells), ``gt_index [B, N]`` int64 (index
    into the image's GTs; 0 for background), ``boxes_xyxy [B, N, 4]`` pixels (the assigned GT box), ``scores [B, N,
    C]`` float (soft class targets, 0 for background)."""

    fg: torch.Tensor
    gt_index: torch.Tensor
    boxes_xyxy: torch.Tensor
    scores: torch.Tensor


def points_in_boxes(points: torch.Tensor, boxes_xyxy: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """``points [N, 2]``, ``boxes [B, M, 4]`` -> ``[B, M, N]`` bool: the point lies strictly inside the box."""
    x, y = points[:, 0], points[:, 1]
    b = boxes_xyxy[..., None, :]  # [B, M, 1, 4]
    margin = torch.stack((x - b[..., 0], y - b[..., 1], b[..., 2] - x, b[..., 3] - y), -1)  # [B, M, N, 4]
    return margin.amin(-1) > eps


@torch.no_grad()
def task_aligned_assign(
    pred_scores: torch.Tensor,
    pred_boxes_xyxy: torch.Tensor,
    points: torch.Tensor,
    gt_labels: torch.Tensor,
    gt_boxes_xyxy: torch.Tensor,
    gt_valid: torch.Tensor,
    topk: int = 10,
    alpha: float = 0.5,
    beta: float = 6.0,
    eps: float = 1e-9,
) -> AlignedTargets:
    """Assign cells to GTs (see the module docstring).

    Args:
        pred_scores: ``[B, N, C]`` class probabilities in [0, 1].
        pred_boxes_xyxy: ``[B, N, 4]`` predicted boxes, input pixels.
        points: ``[N, 2]`` cell centres, input pixels.
        gt_labels: ``[B, M]`` int64 labels (any value where not valid).
        gt_boxes_xyxy: ``[B, M, 4]`` GT boxes, input pixels.
        gt_valid: ``[B, M]`` bool, False for padding rows.
    """
    b, n, c = pred_scores.shape
    m = gt_boxes_xyxy.shape[1]
    device = pred_scores.device
    if m == 0:
        return AlignedTargets(
            fg=torch.zeros(b, n, dtype=torch.bool, device=device),
            gt_index=torch.zeros(b, n, dtype=torch.long, device=device),
            boxes_xyxy=torch.zeros(b, n, 4, device=device),
            scores=torch.zeros(b, n, c, device=device),
        )
    inside = points_in_boxes(points, gt_boxes_xyxy) & gt_valid[..., None]  # [B, M, N]
    ious = bbox_iou(gt_boxes_xyxy[:, :, None], pred_boxes_xyxy[:, None]).clamp(min=0) * inside  # [B, M, N]
    labels = gt_labels.clamp(0, c - 1)
    cls_scores = pred_scores.gather(2, labels[:, None, :].expand(b, n, m)).transpose(1, 2)  # [B, M, N]
    align = cls_scores.pow(alpha) * ious.pow(beta) * inside

    # top-k candidates per GT (ties at 0 are removed by the `inside` mask)
    k = min(topk, n)
    top_idx = align.topk(k, dim=-1).indices  # [B, M, k]
    is_top = torch.zeros_like(inside).scatter_(-1, top_idx, True)
    pos = is_top & inside & (align > 0)  # [B, M, N]

    # a cell claimed by several GTs keeps the one with the highest IoU
    multi = pos.sum(1, keepdim=True) > 1  # [B, 1, N]
    if multi.any():
        best = torch.zeros_like(pos).scatter_(1, ious.argmax(1, keepdim=True), True)
        pos = torch.where(multi, best & pos.any(1, keepdim=True), pos)
    fg = pos.any(1)  # [B, N]
    gt_index = pos.float().argmax(1)  # [B, N]

    boxes = gt_boxes_xyxy.gather(1, gt_index[..., None].expand(b, n, 4))
    target_labels = labels.gather(1, gt_index)  # [B, N]
    # per-GT normalisation: t / max(t) * max(IoU) over that GT's positives
    align = align * pos
    norm = align * (ious * pos).amax(-1, keepdim=True) / (align.amax(-1, keepdim=True) + eps)  # [B, M, N]
    weight = norm.amax(1)  # [B, N]
    scores = torch.zeros(b, n, c, device=device, dtype=pred_scores.dtype)
    scores.scatter_(2, target_labels[..., None], weight[..., None].to(scores.dtype))
    scores = scores * fg[..., None]
    return AlignedTargets(fg=fg, gt_index=gt_index, boxes_xyxy=boxes, scores=scores)
