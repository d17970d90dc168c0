"""Mosaic (4 images on a 2S x 2S canvas) and mixup. Images RGB uint8 [H, W, 3]; boxes_xyxy float32 [N, 4] pixels."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Item = tuple[np.ndarray, np.ndarray, np.ndarray]  # (img, boxes_xyxy, labels)


def resize_long_side(img: np.ndarray, boxes_xyxy: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize so the long side is ``size`` pixels (aspect kept); boxes scaled with it."""
    h, w = img.shape[:2]
    r = size / max(h, w)
    if r == 1:
        return img, boxes_xyxy.copy()
    new_w, new_h = max(1, round(w * r)), max(1, round(h * r))
    img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR)
    boxes = boxes_xyxy * np.array([new_w / w, new_h / h, new_w / w, new_h / h], dtype=np.float32)
    return img, boxes


def mosaic4(load: Callable[[int], Item], indices: list[int], size: int, rng: np.random.Generator) -> Item:
    """Place 4 images (each resized to long side ``size``) around a random centre of a 2S x 2S canvas (grey 114).

    ``load(i)`` returns (img, boxes_xyxy, labels) in that image's pixels. The first index goes top-left, then
    top-right, bottom-left, bottom-right. Boxes are shifted to canvas pixels and clipped to their tile.
    Returns (canvas [2S, 2S, 3], boxes_xyxy [N, 4], labels [N]).
    """
    s = size
    xc, yc = (int(v) for v in rng.uniform(0.5 * s, 1.5 * s, 2))
    canvas = np.full((2 * s, 2 * s, 3), 114, dtype=np.uint8)
    all_boxes, all_labels = [], []
    for k, idx in enumerate(indices):
        img, boxes, labels = load(idx)
        img, boxes = resize_long_side(img, boxes, s)
        h, w = img.shape[:2]
        if k == 0:  # top-left: image's bottom-right corner at the centre
            x1a, y1a, x2a, y2a = max(xc - w, 0), max(yc - h, 0), xc, yc
            x1b, y1b = w - (x2a - x1a), h - (y2a - y1a)
        elif k == 1:  # top-right
            x1a, y1a, x2a, y2a = xc, max(yc - h, 0), min(xc + w, 2 * s), yc
            x1b, y1b = 0, h - (y2a - y1a)
        elif k == 2:  # bottom-left
            x1a, y1a, x2a, y2a = max(xc - w, 0), yc, xc, min(2 * s, yc + h)
            x1b, y1b = w - (x2a - x1a), 0
        else:  # bottom-right
            x1a, y1a, x2a, y2a = xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h)
            x1b, y1b = 0, 0
        tw, th = x2a - x1a, y2a - y1a
        canvas[y1a:y2a, x1a:x2a] = img[y1b : y1b + th, x1b : x1b + tw]
        if len(boxes):
            shifted = boxes + np.array([x1a - x1b, y1a - y1b] * 2, dtype=np.float32)
            shifted[:, [0, 2]] = shifted[:, [0, 2]].clip(x1a, x2a)
            shifted[:, [1, 3]] = shifted[:, [1, 3]].clip(y1a, y2a)
            keep = (shifted[:, 2] > shifted[:, 0]) & (shifted[:, 3] > shifted[:, 1])
            all_boxes.append(shifted[keep])
            all_labels.append(labels[keep])
    boxes = np.concatenate(all_boxes) if all_boxes else np.zeros((0, 4), np.float32)
    labels = np.concatenate(all_labels) if all_labels else np.zeros((0,), np.int64)
    return canvas, boxes.astype(np.float32), labels.astype(np.int64)


def mixup(a: Item, b: Item, rng: np.random.Generator) -> Item:
    """Blend two same-size samples with ratio ~ Beta(32, 32); boxes and labels of both are kept."""
    r = rng.beta(32.0, 32.0)
    img = (a[0].astype(np.float32) * r + b[0].astype(np.float32) * (1 - r)).round().astype(np.uint8)
    return img, np.concatenate([a[1], b[1]]), np.concatenate([a[2], b[2]])
