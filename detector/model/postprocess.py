"""Decoded predictions -> final detections: confidence filter, class-aware NMS, max_det, back to original pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch
from torchvision.ops import batched_nms

from detector.boxes import clip_boxes, cxcywh_to_xyxy, unletterbox_boxes


class NmsSettings(Protocol):
    """What :func:`postprocess` reads: ``detector.config.PredictConfig`` (detection for users) and ``EvalConfig``
    (mAP) both provide it."""

    @property
    def conf(self) -> float: ...  # score threshold, [0, 1]
    @property
    def iou(self) -> float: ...  # NMS IoU threshold, [0, 1]
    @property
    def max_det(self) -> int: ...  # detections kept per image
    @property
    def multi_label(self) -> bool: ...  # every class above conf gives a candidate (else the best class only)


def postprocess(
    decoded: torch.Tensor,
    nms: NmsSettings,
    lb_params: torch.Tensor | Sequence[Any] | None = None,
    orig_sizes: torch.Tensor | Sequence[Sequence[int]] | None = None,
    input_hw: Sequence[int] | None = None,
    max_nms: int = 30000,
) -> list[dict[str, torch.Tensor]]:
    """Turn ``decoded [B, N, 4 + C]`` (cx, cy, w, h input pixels, class scores in [0, 1]) into detections.

    A candidate is kept when its score > ``nms.conf`` (with ``nms.multi_label`` every class above the threshold gives a
    candidate, else only the best class). Class-aware NMS at ``nms.iou``, then the ``nms.max_det`` best. Boxes are
    clipped to ``input_hw`` (when given), then mapped to original pixels with ``lb_params [B, 3]`` (scale, pad_x,
    pad_y) and clipped to ``orig_sizes [B, 2]`` (h, w) when those are given.

    Returns per image ``dict(boxes_xyxy [K, 4] float32, scores [K] float32, labels [K] int64)``.
    """
    if decoded.dim() != 3 or decoded.shape[-1] < 5:
        raise ValueError(f"postprocess expects decoded predictions [B, N, 4 + C], got shape {tuple(decoded.shape)}")
    conf_thres, multi_label = nms.conf, nms.multi_label
    results = []
    for i, pred in enumerate(decoded.float()):
        pred = pred[pred[:, 4:].amax(1) > conf_thres]
        scores_all = pred[:, 4:]  # [n, C]
        if multi_label:
            idx, labels = torch.nonzero(scores_all > conf_thres, as_tuple=True)
            scores = scores_all[idx, labels]
        else:
            scores, labels = scores_all.max(1) if len(pred) else (scores_all.new_zeros(0), scores_all.new_zeros(0))
            labels = labels.long()
            idx = torch.nonzero(scores > conf_thres).flatten()
            scores, labels = scores[idx], labels[idx]
        boxes_xyxy = cxcywh_to_xyxy(pred[idx, :4])
        if len(scores) > max_nms:
            top = scores.topk(max_nms).indices
            boxes_xyxy, scores, labels = boxes_xyxy[top], scores[top], labels[top]
        keep = batched_nms(boxes_xyxy, scores, labels, nms.iou)[: nms.max_det]  # sorted by decreasing score
        boxes_xyxy, scores, labels = boxes_xyxy[keep], scores[keep], labels[keep]
        if input_hw is not None:
            boxes_xyxy = clip_boxes(boxes_xyxy, input_hw)
        if lb_params is not None:
            orig_hw = orig_sizes[i] if orig_sizes is not None else None
            boxes_xyxy = unletterbox_boxes(boxes_xyxy, lb_params[i], orig_hw)
        elif orig_sizes is not None:
            boxes_xyxy = clip_boxes(boxes_xyxy, orig_sizes[i])
        results.append({"boxes_xyxy": boxes_xyxy.float(), "scores": scores.float(), "labels": labels.to(torch.int64)})
    return results
