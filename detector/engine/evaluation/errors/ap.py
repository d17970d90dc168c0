"""COCO-style AP at one IoU threshold from matched detections (:mod:`detector.engine.evaluation.errors.breakdown`): per
category the 101-point interpolated precision of pycocotools' ``accumulate``, averaged over the categories that have
ground truth exactly as its ``summarize`` averages (the same numbers in the same order, so the result is
bit-identical)."""

from __future__ import annotations

import numpy as np

REC_THRS = np.linspace(0.0, 1.0, 101)  # pycocotools' recall thresholds


def interpolated_precision(tp_in_rank_order: np.ndarray, num_gt: int) -> np.ndarray:
    """Precision ``[101]`` at the recall thresholds for one category: ``tp_in_rank_order`` bool ``[n]`` (true /
    false positives, best-ranked first; ignored detections left out), ``num_gt`` > 0 its non-ignored GT count."""
    tps = np.cumsum(tp_in_rank_order).astype(float)
    fps = np.cumsum(~tp_in_rank_order).astype(float)
    recall = tps / num_gt
    precision = tps / (fps + tps + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the precision envelope (max to the right)
    idx = np.searchsorted(recall, REC_THRS, side="left")
    out = np.zeros(len(REC_THRS))
    reached = idx < len(precision)
    out[reached] = precision[idx[reached]]
    return out


def mean_ap(labels: np.ndarray, rank: np.ndarray, tp: np.ndarray, num_gt: np.ndarray) -> float:
    """AP over the categories with ground truth: ``labels`` int ``[n]`` (category index in ``[0, K)``), ``rank``
    ``[n]`` (evaluation order, lower first), ``tp`` bool ``[n]`` of the counted detections (true or false positives);
    ``num_gt`` int ``[K]``. NaN when no category has ground truth."""
    k = len(num_gt)
    precision = -np.ones((len(REC_THRS), k))
    order = np.lexsort((rank, labels))
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    tp_sorted = tp[order]
    for c in np.flatnonzero(num_gt > 0):
        precision[:, c] = interpolated_precision(tp_sorted[bounds[c] : bounds[c + 1]], int(num_gt[c]))
    valid = precision[precision > -1]
    return float(np.mean(valid)) if valid.size else float("nan")
