"""Letterbox resize: keep the aspect ratio, pad to a fixed square (or to a multiple of ``stride``).

Coordinates use the pixel-edge convention (pixel ``i`` covers ``[i, i + 1)``), so the forward map of a point is
exactly ``x_in = x_orig * scale + pad_x`` and ``y_in = y_orig * scale + pad_y``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LetterboxParams:
    """How an image was letterboxed: ``x_in = x_orig * scale + pad_x`` (pixels); ``orig_h, orig_w`` of the source."""

    scale: float
    pad_x: float
    pad_y: float
    orig_h: int
    orig_w: int


def letterbox(
    img: np.ndarray,
    new_shape: int | tuple[int, int],
    *,
    auto: bool = False,
    stride: int = 32,
    color: int = 114,
    scaleup: bool = True,
) -> tuple[np.ndarray, LetterboxParams]:
    """Resize ``img`` ([H, W, C] uint8) to fit ``new_shape`` (side, or (h, w)) keeping its aspect ratio, then pad.

    ``auto=False`` pads to exactly ``new_shape``; ``auto=True`` pads only up to the next multiple of ``stride`` per
    side (rectangular eval). ``scaleup=False`` never enlarges. Padding is split evenly (extra pixel right/bottom).
    Returns the padded image and its :class:`LetterboxParams`.
    """
    h, w = img.shape[:2]
    out_h, out_w = (new_shape, new_shape) if isinstance(new_shape, int) else new_shape
    scale = min(out_h / h, out_w / w)
    if not scaleup:
        scale = min(scale, 1.0)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if auto:
        out_w, out_h = math.ceil(new_w / stride) * stride, math.ceil(new_h / stride) * stride
    if (new_w, new_h) != (w, h):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        img = cv2.resize(img, (new_w, new_h), interpolation=interp)
    left, top = (out_w - new_w) // 2, (out_h - new_h) // 2
    right, bottom = out_w - new_w - left, out_h - new_h - top
    value = (color,) * (img.shape[2] if img.ndim == 3 else 1)
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)
    # the effective scale per axis differs from `scale` by < 0.5 px over the image; report the x one
    return img, LetterboxParams(float(new_w / w), float(left), float(top), int(h), int(w))


def letterbox_boxes(boxes_xyxy: np.ndarray, params: LetterboxParams) -> np.ndarray:
    """Map boxes_xyxy [N, 4] from original-image pixels to letterboxed-input pixels."""
    out = np.asarray(boxes_xyxy, dtype=np.float32) * params.scale
    out[:, [0, 2]] += params.pad_x
    out[:, [1, 3]] += params.pad_y
    return out
