"""Drawing detections on images: boxes, class names and scores, with a stable colour per class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

# 20 well-separated colours (RGB); label i gets PALETTE[i % 20], so a class keeps its colour across images and runs.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 56, 56),
    (255, 157, 151),
    (255, 112, 31),
    (255, 178, 29),
    (207, 210, 49),
    (72, 249, 10),
    (146, 204, 23),
    (61, 219, 134),
    (26, 147, 52),
    (0, 212, 187),
    (44, 153, 168),
    (0, 194, 255),
    (52, 69, 147),
    (100, 115, 255),
    (0, 24, 236),
    (132, 56, 255),
    (82, 0, 133),
    (203, 56, 255),
    (255, 149, 200),
    (255, 55, 199),
)


def class_color(label: int, bgr: bool = False) -> tuple[int, int, int]:
    """Stable colour of class ``label`` as ``(r, g, b)`` (or ``(b, g, r)`` when ``bgr``), uint8 values."""
    r, g, b = PALETTE[int(label) % len(PALETTE)]
    return (b, g, r) if bgr else (r, g, b)


def _to_numpy(x: Any, dtype: type) -> np.ndarray:
    if x is None:
        return np.zeros((0,), dtype=dtype)
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().float().cpu().numpy() if dtype is np.float32 else x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def label_text(label: int, score: float | None, class_names: Sequence[str] | None) -> str:
    """``"name 0.87"`` (or ``"name"`` without a score); unknown labels are shown as their index."""
    name = class_names[label] if class_names is not None and 0 <= label < len(class_names) else str(label)
    return name if score is None else f"{name} {score:.2f}"


def draw_detections(
    img: np.ndarray,
    boxes_xyxy: Any,
    labels: Any,
    scores: Any | None = None,
    class_names: Sequence[str] | None = None,
    *,
    bgr: bool = False,
    thickness: int | None = None,
) -> np.ndarray:
    """Draw boxes with ``"class score"`` captions on a copy of ``img`` and return it.

    ``img``: uint8 ``[H, W, 3]`` in RGB (default) or BGR (``bgr=True``, e.g. straight from ``cv2.imread``); the
    colours follow the same order so the class colour is the same either way. ``boxes_xyxy``: ``[N, 4]`` pixels of
    ``img`` (numpy or tensor); ``labels``: ``[N]`` ints; ``scores``: ``[N]`` floats or None (ground-truth boxes).
    Line thickness defaults to about 0.3% of the image diagonal (at least 1 pixel).
    """
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"draw_detections needs a uint8 [H, W, 3] image, got {img.dtype} {img.shape}")
    boxes = _to_numpy(boxes_xyxy, np.float32).reshape(-1, 4)
    labels_np = _to_numpy(labels, np.int64).reshape(-1)
    scores_np = None if scores is None else _to_numpy(scores, np.float32).reshape(-1)
    if len(labels_np) != len(boxes) or (scores_np is not None and len(scores_np) != len(boxes)):
        raise ValueError(
            f"draw_detections: {len(boxes)} boxes but {len(labels_np)} labels"
            + ("" if scores_np is None else f" and {len(scores_np)} scores")
        )
    out = np.ascontiguousarray(img.copy())
    h, w = out.shape[:2]
    lw = thickness or max(1, round(0.003 * (h + w) / 2 * 1.414))
    font_scale = max(0.3, lw / 3)
    for i, (box, label) in enumerate(zip(boxes, labels_np, strict=True)):
        if not np.isfinite(box).all():
            continue
        color = class_color(int(label), bgr=bgr)
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, lw, lineType=cv2.LINE_8)
        text = label_text(int(label), None if scores_np is None else float(scores_np[i]), class_names)
        tf = max(lw - 1, 1)
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, tf)
        above = y1 - th - baseline >= 0  # caption above the box when it fits, else inside it
        ty1 = y1 - th - baseline if above else y1
        cv2.rectangle(out, (x1, ty1), (x1 + tw, ty1 + th + baseline), color, -1)
        text_color = (0, 0, 0) if sum(color) > 382 else (255, 255, 255)
        cv2.putText(
            out, text, (x1, ty1 + th), cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_color, tf, lineType=cv2.LINE_AA
        )
    return out
