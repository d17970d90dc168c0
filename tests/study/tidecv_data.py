"""Synthetic COCO ground truth and detections for the tidecv comparison (tests/study/test_errors_tidecv.py): a
mixture of every error type, plus the cases where tidecv's rules differ (crowd regions, a category with detections
but no GT, an image without GT, more than 100 detections in one image, tied scores). NumPy only, so the same data
can be fed to tidecv in a separate virtualenv."""

from __future__ import annotations

from typing import Any

import numpy as np


def _box(rng: np.random.Generator, size: float) -> list[float]:
    w, h = rng.uniform(20, 120, 2)
    x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
    return [float(x), float(y), float(w), float(h)]


def _shift(rng: np.random.Generator, b: list[float], frac: float) -> list[float]:
    """``b`` moved by about ``frac`` of its size (0.05: IoU ~0.8; 0.5: IoU ~0.3) and slightly rescaled."""
    x, y, w, h = b
    dx, dy = rng.normal(0, frac, 2) * (w, h)
    s = rng.uniform(0.9, 1.1, 2)
    return [float(x + dx), float(y + dy), float(w * s[0]), float(h * s[1])]


def mixture(seed: int, mix: dict[str, float], images: int = 40, classes: int = 4) -> tuple[dict, list[dict]]:
    """``(gt, detections)``: per GT box one outcome drawn with the weights ``mix`` (keys tp, loc, cls, both, dupe,
    miss; a "dupe" also adds a true positive), plus background boxes, crowd regions and the edge cases above."""
    rng = np.random.default_rng(seed)
    size = 640.0
    cats = [{"id": c + 1, "name": f"c{c + 1}"} for c in range(classes + 1)]  # the last category has no GT
    gt: dict[str, Any] = {"images": [], "annotations": [], "categories": cats}
    dets: list[dict] = []
    kinds, weights = list(mix), np.array(list(mix.values()), dtype=float)
    quantized = seed % 2 == 0  # tied scores in one of the mixtures

    def score() -> float:
        s = float(rng.uniform(0.05, 1.0))
        return round(s, 1) if quantized else s

    def add(img: int, cat: int, box: list[float]) -> None:
        dets.append({"image_id": img, "category_id": cat, "bbox": box, "score": score()})

    for img in range(1, images + 1):
        gt["images"].append({"id": img, "file_name": f"{img}.jpg", "width": 640, "height": 640})
        n = 0 if img == images else int(rng.integers(1, 7))  # the last image has no GT
        for _ in range(n):
            cat, box = int(rng.integers(1, classes + 1)), _box(rng, size)
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": img, "category_id": cat,
                                      "bbox": box, "area": box[2] * box[3], "iscrowd": 0})  # fmt: skip
            kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
            other = 1 + (cat % classes)
            if kind in ("tp", "dupe"):
                add(img, cat, _shift(rng, box, 0.03))
            if kind == "dupe":
                add(img, cat, _shift(rng, box, 0.06))
            elif kind == "loc":
                add(img, cat, _shift(rng, box, 0.45))
            elif kind == "cls":
                add(img, other, _shift(rng, box, 0.03))
            elif kind == "both":
                add(img, other, _shift(rng, box, 0.45))
        for _ in range(int(rng.integers(0, 3))):  # background
            add(img, int(rng.integers(1, classes + 2)), _box(rng, size))
        if img % 7 == 0:  # a crowd region with a detection inside it
            box = _box(rng, size)
            cat = int(rng.integers(1, classes + 1))
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": img, "category_id": cat,
                                      "bbox": box, "area": box[2] * box[3], "iscrowd": 1})  # fmt: skip
            add(img, cat, _shift(rng, box, 0.02))
    for _ in range(110):  # more than 100 detections in image 1, low scores
        dets.append({"image_id": 1, "category_id": int(rng.integers(1, classes + 1)), "bbox": _box(rng, size),
                     "score": round(float(rng.uniform(0.001, 0.05)), 3)})  # fmt: skip
    return gt, dets


MIXTURES = {
    "balanced": (11, {"tp": 5, "loc": 2, "cls": 2, "both": 1, "dupe": 1, "miss": 1}),
    "sloppy": (12, {"tp": 3, "loc": 4, "cls": 1, "both": 2, "dupe": 2, "miss": 3}),
    "classy": (13, {"tp": 4, "loc": 1, "cls": 4, "both": 1, "dupe": 0.5, "miss": 0.5}),
}
