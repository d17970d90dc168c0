"""YOLO loss: CIoU box loss, BCE objectness with IoU targets, BCE classification.

Normalisation (independent of batch size): the box and class terms are means over the positives of the batch, the
objectness term is a mean over every anchor cell of every image (times the level's ``balance`` weight); the returned
loss is ``box * l_box + obj * l_obj + cls * l_cls``, i.e. the loss of an average image -- it does not grow with the
batch size (the trainer should not divide it by the batch size again).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from detector.boxes import bbox_iou, cxcywh_to_xyxy
from detector.config.head_families import YoloV4LossConfig
from detector.model.heads.yolov4.assigner import assign_targets
from detector.model.heads.yolov4.head import YoloHead, decode_boxes


class YoloLoss(nn.Module):
    """``loss, parts = YoloLoss(head, loss_cfg)(raw, targets)``.

    ``loss_cfg`` (``model.head.loss``) provides ``box``, ``obj``, ``cls`` (gains), ``balance`` (objectness weight
    per level), ``anchor_t`` and ``label_smoothing``. Anchors, strides and ``scale_x_y`` are read from the
    head at every call, so anchors changed by auto-anchor are picked up.

    ``neighbor_margin`` (cells): a GT whose centre lies within this distance of a cell edge is also assigned to that
    neighbouring cell. None (default) derives it per level from the head's grid sensitivity, ``(scale_x_y - 1) / 2``
    capped at 0.5: exactly the band of centres a neighbour can still decode (1.2 -> 0.1 cell, 2.0 -> 0.5 = YOLOv5).
    """

    def __init__(self, head: YoloHead, loss_cfg: YoloV4LossConfig, neighbor_margin: float | None = None):
        super().__init__()
        self.head = head
        self.gains = (float(loss_cfg.box), float(loss_cfg.obj), float(loss_cfg.cls))
        self.balance = [float(b) for b in loss_cfg.balance]
        if len(self.balance) != len(head.strides):
            raise ValueError(
                f"model.head.loss.balance has {len(self.balance)} values but the head has {len(head.strides)} levels; "
                f"give one objectness weight per level (e.g. [4.0, 1.0, 0.4])"
            )
        self.anchor_t = float(loss_cfg.anchor_t)
        eps = float(loss_cfg.label_smoothing)
        if not 0 <= eps < 1:
            raise ValueError(f"model.head.loss.label_smoothing must be in [0, 1), got {eps}")
        self.cls_pos, self.cls_neg = 1.0 - 0.5 * eps, 0.5 * eps
        self.neighbor_margin = neighbor_margin

    def forward(self, raw: Sequence[torch.Tensor], targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """``raw``: head maps ``list[[B, A, H_l, W_l, 5 + C]]``; ``targets``: ``[M, 6]`` (batch_index, label, x1, y1,
        x2, y2) in input pixels. Returns the scalar loss and ``{"box", "obj", "cls"}`` (weighted parts, floats)."""
        head = self.head
        if len(raw) != len(head.strides):
            raise ValueError(f"YoloLoss got {len(raw)} raw maps, the head has {len(head.strides)} levels")
        num_classes = raw[0].shape[-1] - 5
        anchors = head.anchors.to(device=raw[0].device, dtype=torch.float32)
        targets = targets.to(device=raw[0].device, dtype=torch.float32)
        bad_rows = torch.nonzero((targets[:, 1] < 0) | (targets[:, 1] >= num_classes)).flatten()
        if len(bad_rows):
            bad = int(bad_rows[0])
            raise ValueError(
                f"target row {bad} has label {int(targets[bad, 1])} but the model has {num_classes} classes; "
                f"check the dataset's class count against model.num_classes"
            )
        margin: float | list[float] = (
            self.neighbor_margin
            if self.neighbor_margin is not None
            else [min(0.5, max(0.0, (float(s) - 1.0) / 2)) for s in head.scale_x_y]
        )
        grid_sizes = [(int(r.shape[2]), int(r.shape[3])) for r in raw]
        assigned = assign_targets(targets, anchors, head.strides, grid_sizes, self.anchor_t, margin)
        zero = raw[0].new_zeros((), dtype=torch.float32)
        l_box, l_obj, l_cls = zero.clone(), zero.clone(), zero.clone()
        for level, (pred, tgt) in enumerate(zip(raw, assigned, strict=True)):
            pred = pred.float()
            tobj = torch.zeros(pred.shape[:4], device=pred.device)
            if len(tgt.batch):
                ps = pred[tgt.batch, tgt.anchor, tgt.gj, tgt.gi]  # [n, 5 + C]
                grid_xy = torch.stack((tgt.gi, tgt.gj), 1).float()
                pbox = decode_boxes(
                    ps[:, :4],
                    grid_xy,
                    anchors[level, tgt.anchor],
                    head.strides[level],
                    head.scale_x_y[level],
                    head.wh_decode,
                )
                iou = bbox_iou(cxcywh_to_xyxy(pbox), cxcywh_to_xyxy(tgt.boxes_cxcywh), kind="ciou")
                l_box = l_box + (1.0 - iou).mean()
                # objectness target = IoU (detached, >= 0); a cell hit by several GTs keeps the best one
                flat = ((tgt.batch * tobj.shape[1] + tgt.anchor) * tobj.shape[2] + tgt.gj) * tobj.shape[3] + tgt.gi
                tobj.view(-1).scatter_reduce_(0, flat, iou.detach().clamp(min=0), reduce="amax")
                if num_classes > 0:
                    tcls = torch.full_like(ps[:, 5:], self.cls_neg)
                    tcls[torch.arange(len(tgt.labels), device=tcls.device), tgt.labels] = self.cls_pos
                    l_cls = l_cls + F.binary_cross_entropy_with_logits(ps[:, 5:], tcls)
            l_obj = l_obj + F.binary_cross_entropy_with_logits(pred[..., 4], tobj) * self.balance[level]
        g_box, g_obj, g_cls = self.gains
        l_box, l_obj, l_cls = l_box * g_box, l_obj * g_obj, l_cls * g_cls
        loss = l_box + l_obj + l_cls
        parts = {"box": float(l_box.detach()), "obj": float(l_obj.detach()), "cls": float(l_cls.detach())}
        return loss, parts
