"""Matching tracks to detections: the IoU matrix and a thresholded optimal assignment (Hungarian, scipy)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` ``[N, 4]`` with every box of ``b`` ``[M, 4]`` (pixels, xyxy) -> ``[N, M]``."""
    a, b = np.asarray(a_xyxy, np.float64).reshape(-1, 4), np.asarray(b_xyxy, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.maximum(rb - lt, 0.0)  # np.maximum and products: np.clip/np.prod cost more per call than these sizes
    inter = wh[..., 0] * wh[..., 1]
    size_a, size_b = np.maximum(a[:, 2:] - a[:, :2], 0.0), np.maximum(b[:, 2:] - b[:, :2], 0.0)
    area_a, area_b = size_a[:, 0] * size_a[:, 1], size_b[:, 0] * size_b[:, 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def assign(score: np.ndarray, min_score: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """The assignment of rows to columns that maximises the summed ``score`` ``[N, M]``, keeping only pairs with
    ``score >= min_score``. Returns (matched ``(row, col)`` pairs, unmatched rows, unmatched columns), each sorted."""
    n, m = score.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    gated = np.where(score >= min_score, score, 0.0)
    rows, cols = linear_sum_assignment(-gated)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if score[r, c] >= min_score]
    matched_r, matched_c = {r for r, _ in pairs}, {c for _, c in pairs}
    return sorted(pairs), [r for r in range(n) if r not in matched_r], [c for c in range(m) if c not in matched_c]


def class_gate(track_labels: np.ndarray, det_labels: np.ndarray) -> np.ndarray:
    """``[N, M]`` 1.0 where the track's class equals the detection's, else 0.0 (multiply into a score matrix)."""
    return (np.asarray(track_labels)[:, None] == np.asarray(det_labels)[None, :]).astype(np.float64)
