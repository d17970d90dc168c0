"""Loss of the anchor-free decoupled head: task-aligned assignment, BCE classification, CIoU + DFL box losses.

With ``S`` = the sum of all soft class targets of the batch (at least 1):

- ``cls``: ``sum BCE(class logits, soft targets) / S`` over every cell and class (positives and background);
- ``box``: ``sum_pos w * (1 - CIoU(pred, gt)) / S``, ``w`` = the positive's soft target;
- ``dfl``: distribution focal loss (GFL, arXiv 2006.04388) on the four side distances of each positive: the target
  distance ``d`` (in strides, clipped to ``reg_max - 1 - 0.01``) lies between bins ``i = floor(d)`` and ``i + 1``;
  the loss is ``(i + 1 - d) * CE(bins, i) + (d - i) * CE(bins, i + 1)``, averaged over the sides, weighted by ``w``.

The returned loss ``box * l_box + cls * l_cls + dfl * l_dfl`` is per batch normalised by ``S``, like YOLOv8's
before its multiplication by the batch size (the trainer multiplies by the batch size, see
:mod:`detector.engine.training.step`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detector.boxes import bbox_iou
from detector.config.head_families import DecoupledLossConfig
from detector.model.heads.decoupled.assigner import task_aligned_assign
from detector.model.heads.decoupled.head import DecoupledHead, dfl_expectation, distances_to_xyxy, xyxy_to_distances


def pad_targets(targets: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``[M, 6]`` rows (batch_index, label, x1, y1, x2, y2) -> padded ``labels [B, K]`` int64, ``boxes [B, K, 4]``,
    ``valid [B, K]`` bool, K = the most boxes in one image. Boxes without positive width and height are invalid."""
    device = targets.device
    idx = targets[:, 0].long()
    counts = torch.bincount(idx, minlength=batch_size) if len(targets) else torch.zeros(batch_size, dtype=torch.long)
    k = int(counts.max()) if len(targets) else 0
    labels = torch.zeros(batch_size, k, dtype=torch.long, device=device)
    boxes = torch.zeros(batch_size, k, 4, device=device)
    valid = torch.zeros(batch_size, k, dtype=torch.bool, device=device)
    if k:
        order = torch.argsort(idx, stable=True)
        idx, rows = idx[order], targets[order]
        starts = torch.cumsum(counts.to(device), 0) - counts.to(device)
        slot = torch.arange(len(rows), device=device) - starts[idx]
        labels[idx, slot] = rows[:, 1].long()
        boxes[idx, slot] = rows[:, 2:6]
        wh = rows[:, 4:6] - rows[:, 2:4]
        valid[idx, slot] = (wh > 0).all(1) & torch.isfinite(rows[:, 2:6]).all(1)
    return labels, boxes, valid


def distribution_focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``logits [P, 4, R]`` bin logits, ``target [P, 4]`` distances in bins (in ``[0, R - 1)``) -> ``[P]`` loss."""
    left = target.floor().long()
    w_right = target - left
    w_left = 1.0 - w_right
    flat = logits.reshape(-1, logits.shape[-1])
    ce_left = F.cross_entropy(flat, left.reshape(-1), reduction="none").view_as(target)
    ce_right = F.cross_entropy(flat, (left + 1).reshape(-1), reduction="none").view_as(target)
    return (ce_left * w_left + ce_right * w_right).mean(-1)


class DecoupledLoss(nn.Module):
    """``loss, parts = DecoupledLoss(head, cfg.model.head.loss)(raw, targets)``; parts: ``{"box", "cls", "dfl"}``."""

    def __init__(self, head: DecoupledHead, cfg: DecoupledLossConfig):
        super().__init__()
        for key in ("box", "cls", "dfl", "alpha", "beta"):
            if getattr(cfg, key) < 0:
                raise ValueError(f"model.head.loss.{key} must be >= 0, got {getattr(cfg, key)}")
        if cfg.topk < 1:
            raise ValueError(f"model.head.loss.topk must be >= 1, got {cfg.topk}")
        self.head, self.cfg = head, cfg

    def forward(self, raw: Sequence[torch.Tensor], targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """``raw``: head maps ``list[[B, 4 * reg_max + C, H_l, W_l]]``; ``targets``: ``[M, 6]`` (batch_index, label,
        x1, y1, x2, y2) input pixels. Returns the scalar loss and the weighted parts as floats."""
        head, cfg = self.head, self.cfg
        if len(raw) != len(head.strides):
            raise ValueError(f"DecoupledLoss got {len(raw)} raw maps, the head has {len(head.strides)} levels")
        r, c = head.reg_max, head.num_classes
        flat = head.flatten(raw)  # [B, N, 4R + C] float32
        batch = flat.shape[0]
        dist_logits, cls_logits = flat[..., : 4 * r], flat[..., 4 * r :]
        points, stride = head.points(raw)  # [N, 2] pixels, [N, 1]
        targets = targets.to(device=flat.device, dtype=torch.float32).reshape(-1, 6)
        bad = torch.nonzero((targets[:, 1] < 0) | (targets[:, 1] >= c)).flatten()
        if len(bad):
            row = int(bad[0])
            raise ValueError(
                f"target row {row} has label {int(targets[row, 1])} but the model has {c} classes; "
                f"check the dataset's class count against model.num_classes"
            )
        ltrb = dfl_expectation(dist_logits, r)  # [B, N, 4] strides
        pred_boxes = distances_to_xyxy(points, ltrb * stride)  # pixels
        gt_labels, gt_boxes, gt_valid = pad_targets(targets, batch)
        assigned = task_aligned_assign(
            cls_logits.detach().sigmoid(),
            pred_boxes.detach(),
            points,
            gt_labels,
            gt_boxes,
            gt_valid,
            cfg.topk,
            cfg.alpha,
            cfg.beta,
        )
        score_sum = assigned.scores.sum().clamp(min=1.0)
        l_cls = F.binary_cross_entropy_with_logits(cls_logits, assigned.scores, reduction="sum") / score_sum
        l_box = flat.new_zeros(())
        l_dfl = flat.new_zeros(())
        fg = assigned.fg
        if fg.any():
            weight = assigned.scores.sum(-1)[fg]  # [P]
            iou = bbox_iou(pred_boxes[fg], assigned.boxes_xyxy[fg], kind="ciou")
            l_box = ((1.0 - iou) * weight).sum() / score_sum
            point_fg = points.expand(batch, -1, -1)[fg]
            stride_fg = stride.expand(batch, -1, -1)[fg]
            target_dist = xyxy_to_distances(point_fg, assigned.boxes_xyxy[fg]) / stride_fg
            target_dist = target_dist.clamp(0, r - 1 - 0.01)
            dfl = distribution_focal_loss(dist_logits[fg].view(-1, 4, r), target_dist)
            l_dfl = (dfl * weight).sum() / score_sum
        l_box, l_cls, l_dfl = l_box * cfg.box, l_cls * cfg.cls, l_dfl * cfg.dfl
        loss = l_box + l_cls + l_dfl
        parts = {"box": float(l_box.detach()), "cls": float(l_cls.detach()), "dfl": float(l_dfl.detach())}
        return loss, parts
