"""A grid of val images: ground truth, then each backbone's detections side by side (drawn by
:func:`detector.engine.prediction.draw.draw_detections`), as PNG bytes."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from matplotlib.figure import Figure

from detector.engine.prediction.draw import draw_detections
from detector.study.figures import png_bytes


def pick_indices(num_images: int, k: int) -> list[int]:
    """``k`` dataset indices spread evenly over ``num_images`` (all of them when there are fewer)."""
    if num_images <= 0 or k <= 0:
        return []
    return sorted({int(round(v)) for v in np.linspace(0, num_images - 1, min(k, num_images))})


def read_detections(predictions: str | Path, image_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """COCO results of ``image_ids`` from a predictions JSON, grouped by image id."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for d in json.loads(Path(predictions).read_text()):
        if int(d["image_id"]) in image_ids:
            out[int(d["image_id"])].append(d)
    return out


MIN_SIDE = 256  # smaller images are enlarged (nearest neighbour) so captions stay small relative to them


def _enlarged(img: np.ndarray, boxes: np.ndarray, labels: np.ndarray, image_id: int) -> tuple:
    """``(image, boxes_xyxy, labels, image_id, scale)`` with images under ``MIN_SIDE`` px scaled up by ``scale``."""
    scale = max(1.0, MIN_SIDE / max(img.shape[:2]))
    if scale > 1.0:
        h, w = img.shape[:2]
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_NEAREST)
    return img, np.asarray(boxes, np.float32) * scale, labels, image_id, scale


def _draw_predictions(
    img: np.ndarray,
    dets: list[dict[str, Any]],
    cat_ids: Sequence[int],
    names: Sequence[str],
    score_thres: float,
    scale: float,
) -> np.ndarray:
    index = {int(c): i for i, c in enumerate(cat_ids)}
    kept = [d for d in dets if d["score"] >= score_thres and int(d["category_id"]) in index]
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (d["bbox"] for d in kept)], dtype=np.float32) * scale
    labels = np.array([index[int(d["category_id"])] for d in kept], dtype=np.int64)
    scores = np.array([d["score"] for d in kept], dtype=np.float32)
    return draw_detections(img, boxes.reshape(-1, 4), labels, scores, names)


def detection_grid(
    dataset: Any, indices: list[int], columns: Sequence[tuple[str, str | Path]], score_thres: float
) -> bytes | None:
    """Rows = val images ``indices`` of ``dataset`` (a :class:`detector.data.DetectionDataset`), columns = ground
    truth and then one per ``(title, predictions JSON)``; detections with score >= ``score_thres``."""
    if not indices:
        return None
    items = [_enlarged(*dataset.base.load_item(i)) for i in indices]
    ids = {int(it[3]) for it in items}
    per_column = [read_detections(path, ids) for _, path in columns]
    names, cat_ids = list(dataset.class_names), list(dataset.cat_ids)
    n_rows, n_cols = len(items), len(columns) + 1
    fig = Figure(figsize=(2.6 * n_cols, 2.6 * n_rows + 0.4))
    for r, (img, boxes, labels, image_id, scale) in enumerate(items):
        cells = [draw_detections(img, boxes, labels, None, names)]
        for dets in per_column:
            cells.append(_draw_predictions(img, dets.get(int(image_id), []), cat_ids, names, score_thres, scale))
        for c, cell in enumerate(cells):
            ax = fig.add_subplot(n_rows, n_cols, r * n_cols + c + 1)
            ax.imshow(cell)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("ground truth" if c == 0 else columns[c - 1][0], fontsize=9)
            if c == 0:
                ax.set_ylabel(f"image {image_id}", fontsize=8)
    fig.suptitle(f"Detections with score >= {score_thres:g} (first seed of each backbone)", fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)
