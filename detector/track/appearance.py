"""A cheap appearance cue for tracking: the colour histogram of each box's crop (a DeepSORT-lite feature).

The pixels of a ``CROP x CROP`` grid over the middle of each box (``INNER`` of its width and height, where the
object is rather than the background) are converted to HSV and counted into ``H_BINS x S_BINS x V_BINS`` bins; the
histogram is L1-normalised and stored as its square root, so that the dot product of two features is their
Bhattacharyya coefficient (1: the same colours, 0: no colour in common). One batched OpenCV conversion for all boxes.
"""

from __future__ import annotations

import cv2
import numpy as np

INNER = 0.8  # the middle of the box used (fraction of its width and height)
CROP = 12  # CROP x CROP pixels of each box are counted
H_BINS, S_BINS, V_BINS = 8, 3, 3
FEATURE_SIZE = H_BINS * S_BINS * V_BINS


def colour_features(image_rgb: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
    """``image_rgb`` uint8 ``[H, W, 3]``, ``boxes_xyxy`` ``[K, 4]`` pixels -> float32 ``[K, FEATURE_SIZE]``, each row
    the square root of an L1-normalised HSV histogram (a box with no pixel inside the frame: all zeros). The pixels
    counted are a ``CROP x CROP`` grid over the middle of each box, gathered for all boxes with one indexing."""
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    out = np.zeros((len(boxes), FEATURE_SIZE), np.float32)
    if not len(boxes):
        return out
    h, w = image_rgb.shape[:2]
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    hw, hh = (boxes[:, 2] - boxes[:, 0]) * INNER / 2, (boxes[:, 3] - boxes[:, 1]) * INNER / 2
    x1, x2 = np.minimum(np.maximum(cx - hw, 0), w), np.minimum(np.maximum(cx + hw, 0), w)
    y1, y2 = np.minimum(np.maximum(cy - hh, 0), h), np.minimum(np.maximum(cy + hh, 0), h)
    valid = (x2 - x1 >= 1) & (y2 - y1 >= 1)
    step = (np.arange(CROP) + 0.5) / CROP  # the grid's cell centres, 0-1
    xs = np.minimum((x1[:, None] + step * (x2 - x1)[:, None]).astype(np.int64), w - 1)  # [K, CROP], >= 0
    ys = np.minimum((y1[:, None] + step * (y2 - y1)[:, None]).astype(np.int64), h - 1)
    crops = image_rgb[ys[:, :, None], xs[:, None, :]]  # [K, CROP, CROP, 3]
    hsv = cv2.cvtColor(crops.reshape(-1, CROP, 3), cv2.COLOR_RGB2HSV).reshape(len(boxes), -1, 3).astype(np.int64)
    # OpenCV's 8-bit hue is 0-179
    bins = (hsv[..., 0] * H_BINS // 180) * S_BINS * V_BINS + (hsv[..., 1] * S_BINS // 256) * V_BINS
    bins = bins + hsv[..., 2] * V_BINS // 256  # [K, CROP*CROP] bin of each pixel
    flat = (bins + np.arange(len(boxes))[:, None] * FEATURE_SIZE).reshape(-1)
    counts = np.bincount(flat, minlength=len(boxes) * FEATURE_SIZE).reshape(len(boxes), FEATURE_SIZE)
    out[valid] = np.sqrt(counts[valid] / (CROP * CROP)).astype(np.float32)
    return out


def appearance_distance(tracks: np.ndarray, dets: np.ndarray) -> np.ndarray:
    """``[T, F]`` and ``[K, F]`` features (:func:`colour_features`) -> ``[T, K]`` distance in [0, 1]: 1 minus the
    Bhattacharyya coefficient of the two histograms (0: the same colours; 1 for a feature of all zeros)."""
    t, d = np.asarray(tracks, np.float64), np.asarray(dets, np.float64)
    if not len(t) or not len(d):
        return np.ones((len(t), len(d)))
    return np.clip(1.0 - t @ d.T, 0.0, 1.0)


def blend(feature: np.ndarray, new: np.ndarray, momentum: float) -> np.ndarray:
    """Tracks' features moved towards new boxes': ``momentum * feature + (1 - momentum) * new``, renormalised (the
    squares sum to 1, as a histogram's square root does). ``feature`` and ``new`` are ``[F]`` or ``[K, F]`` (one row
    per track); float32 of the same shape."""
    f = (momentum * np.asarray(feature, np.float32) + (1.0 - momentum) * np.asarray(new, np.float32)).astype(np.float32)
    norm = np.sqrt((f * f).sum(-1, keepdims=True))
    return np.where(norm > 0, f / np.where(norm > 0, norm, 1), f).astype(np.float32)
