"""Auto-anchor at the start of training (anchor heads only): report how well the anchors fit the training boxes and,
when asked (``model.head.auto_anchor``), replace anchors whose best possible recall (BPR) is below 0.98 by
k-means anchors, in the model and in the run's config (so ``config.yaml``, the checkpoints and the model agree).

Box sizes are read from the dataset's COCO index (``dataset.coco``: the same for COCO and YOLO-txt data), scaled
as the letterbox scales them to ``img_size``. Every process computes the same seeded result, so DDP ranks agree.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from detector.config.head_families import YoloV4HeadConfig
from detector.model.heads.yolov4.anchors import check_anchors
from detector.model.heads.yolov4.head import YoloHead

log = logging.getLogger(__name__)

BPR_THRESHOLD = 0.98  # anchors below this best possible recall are replaced when auto_anchor is on
MAX_BOXES = 100_000  # box sizes used by k-means (a seeded sample of larger datasets)


def dataset_box_sizes(coco: Any, img_size: int, seed: int = 0) -> np.ndarray:
    """``[N, 2]`` (w, h) of the non-crowd boxes of a pycocotools ``COCO`` index, in pixels after letterboxing each
    image to ``img_size`` (scale ``img_size / max(image h, w)``); at most :data:`MAX_BOXES` (seeded sample)."""
    sizes = []
    for ann in coco.dataset.get("annotations", []):
        if ann.get("iscrowd", 0):
            continue
        img = coco.imgs.get(ann["image_id"])
        if img is None or not img.get("width") or not img.get("height"):
            continue
        scale = img_size / max(img["width"], img["height"])
        sizes.append((ann["bbox"][2] * scale, ann["bbox"][3] * scale))
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    if len(wh) > MAX_BOXES:
        wh = wh[np.random.default_rng(seed).choice(len(wh), MAX_BOXES, replace=False)]
    return wh


def fit_anchors(head: YoloHead, coco: Any, img_size: int, anchor_t: float, replace: bool) -> dict[str, Any]:
    """Check ``head.anchors`` (``[L, A, 2]`` pixels) against the training boxes; with ``replace`` and BPR below
    :data:`BPR_THRESHOLD`, copy better k-means anchors into the buffer (in place) and return them in config form as
    ``report["anchors"]`` (None when unchanged). The report also has ``bpr_before``, ``bpr_after`` and ``message``."""
    wh = dataset_box_sizes(coco, img_size)
    anchors = head.anchors.detach().cpu().double()
    if not len(wh):
        return {"anchors": None, "bpr_before": 1.0, "bpr_after": 1.0, "message": "no training boxes: anchors kept"}
    thr = BPR_THRESHOLD if replace else 0.0  # 0.0: only measure
    new, report = check_anchors(wh, anchors, anchor_t=anchor_t, img_size=img_size, thr=thr)
    report["bpr_after"] = report["bpr_after"] if new is not None else report["bpr_before"]
    bpr = report["bpr_before"]
    if new is not None:
        with torch.no_grad():
            head.anchors.copy_(torch.as_tensor(new, dtype=head.anchors.dtype).view_as(head.anchors))
        report["message"] = (
            f"auto-anchor: best possible recall {bpr:.4f} < {BPR_THRESHOLD} on {len(wh)} boxes; k-means anchors "
            f"raise it to {report['bpr_after']:.4f}: model.head.anchors = {new}"
        )
    elif replace:
        report["message"] = f"auto-anchor: {report['message']} ({len(wh)} boxes)"
    else:
        advice = "; set model.head.auto_anchor=true to fit anchors to this dataset" if bpr < BPR_THRESHOLD else ""
        report["message"] = (
            f"anchors: best possible recall {bpr:.4f} on {len(wh)} training boxes (anchor_t {anchor_t}){advice}"
        )
    report["anchors"] = new
    return report


def anchors_as_config(head: YoloHead) -> list[list[float]]:
    """``head.anchors`` (``[L, A, 2]`` pixels) in config form, one row per level ``[w0, h0, w1, h1, ...]`` (rounded
    to 4 decimals: float32 buffers read back as the config's numbers)."""
    return [[round(float(v), 4) for v in level.reshape(-1).tolist()] for level in head.anchors.detach().cpu()]


def auto_anchor(head: YoloHead, cfg: YoloV4HeadConfig, coco: Any, img_size: int) -> dict[str, Any]:
    """:func:`fit_anchors` as the trainer runs it at the start of a fresh run or a fine-tune: box sizes at
    ``img_size`` (``data.img_size``), matching threshold ``cfg.loss.anchor_t``, replacement when ``cfg.auto_anchor``
    is on (``cfg`` is the run's own ``model.head``). Replaced anchors are also written into ``cfg.anchors``.
    Returns the report (``message`` to log)."""
    report = fit_anchors(head, coco, img_size, cfg.loss.anchor_t, replace=cfg.auto_anchor)
    if report["anchors"] is not None:
        cfg.anchors = anchors_as_config(head)
    return report
