"""Training augmentation on numpy images: random affine, HSV jitter, flip, light photometric ops, box filtering.

Images are RGB uint8 ``[H, W, 3]``; boxes are ``boxes_xyxy`` float32 ``[N, 4]`` in pixels (edge convention: pixel
``i`` covers ``[i, i + 1)``). Every random choice comes from the ``numpy.random.Generator`` passed in, so a sample is
reproducible from its generator's seed. The strengths come from ``cfg.data.augment``
(:class:`detector.config.AugmentConfig`); :class:`detector.data.dataset.DetectionDataset` applies them.
"""

from __future__ import annotations

import math
import warnings

import albumentations as A
import cv2
import numpy as np


def box_candidates(
    boxes_before: np.ndarray,
    boxes_after: np.ndarray,
    *,
    min_wh: float = 2.0,
    min_area_ratio: float = 0.1,
    max_aspect: float = 20.0,
) -> np.ndarray:
    """Keep mask [N] for boxes that survived a transform: both sides >= ``min_wh`` px, area >= ``min_area_ratio`` of
    the (scaled) area before clipping, aspect ratio < ``max_aspect``. Both inputs boxes_xyxy [N, 4], pixels."""
    w0, h0 = boxes_before[:, 2] - boxes_before[:, 0], boxes_before[:, 3] - boxes_before[:, 1]
    w1, h1 = boxes_after[:, 2] - boxes_after[:, 0], boxes_after[:, 3] - boxes_after[:, 1]
    aspect = np.maximum(w1 / (h1 + 1e-9), h1 / (w1 + 1e-9))
    return (w1 >= min_wh) & (h1 >= min_wh) & (w1 * h1 / (w0 * h0 + 1e-9) > min_area_ratio) & (aspect < max_aspect)


def transform_boxes(boxes_xyxy: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to boxes by their 4 corners; returns the enclosing boxes_xyxy [N, 4]."""
    n = len(boxes_xyxy)
    if n == 0:
        return np.zeros((0, 4), np.float32)
    corners = boxes_xyxy[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(n * 4, 2)
    xy = corners @ m[:, :2].T + m[:, 2]
    xy = xy.reshape(n, 4, 2)
    return np.concatenate([xy.min(1), xy.max(1)], axis=1).astype(np.float32)


def random_affine(
    img: np.ndarray,
    boxes_xyxy: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    *,
    out_size: int,
    degrees: float = 0.0,
    translate: float = 0.1,
    scale: float = 0.5,
    shear: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random rotate/scale/shear/translate of ``img`` into an ``out_size`` square with ``cv2.warpAffine``.

    The input centre lands at the output centre (+- ``translate``), so a 2S x 2S mosaic canvas keeps its middle.
    Boxes are mapped by their corners, clipped to the output and filtered with :func:`box_candidates`.
    Returns (img [out_size, out_size, 3], boxes_xyxy [K, 4], labels [K]).
    """
    h, w = img.shape[:2]
    c = np.eye(3)
    c[0, 2], c[1, 2] = -w / 2, -h / 2  # move the centre of the input to the origin
    r = np.eye(3)
    angle = rng.uniform(-degrees, degrees)
    s = rng.uniform(1 - scale, 1 + scale)
    r[:2] = cv2.getRotationMatrix2D((0, 0), angle, s)
    sh = np.eye(3)
    sh[0, 1] = math.tan(math.radians(rng.uniform(-shear, shear)))
    sh[1, 0] = math.tan(math.radians(rng.uniform(-shear, shear)))
    t = np.eye(3)
    t[0, 2] = rng.uniform(0.5 - translate, 0.5 + translate) * out_size
    t[1, 2] = rng.uniform(0.5 - translate, 0.5 + translate) * out_size
    m_edge = (t @ sh @ r @ c)[:2]  # in pixel-edge coordinates (the box convention)
    # cv2 samples at pixel centres: conjugate by a half-pixel shift so pixels and boxes move together
    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    m_centre = (np.linalg.inv(half) @ np.vstack([m_edge, [0, 0, 1]]) @ half)[:2]
    out = cv2.warpAffine(img, m_centre, (out_size, out_size), flags=cv2.INTER_LINEAR, borderValue=(114, 114, 114))
    if len(boxes_xyxy) == 0:
        return out, np.zeros((0, 4), np.float32), labels[:0]
    moved = transform_boxes(boxes_xyxy, m_edge)
    clipped = moved.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, out_size)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, out_size)
    keep = box_candidates(boxes_xyxy * s, clipped)
    return out, clipped[keep], labels[keep]


def augment_hsv(img: np.ndarray, rng: np.random.Generator, hgain: float, sgain: float, vgain: float) -> np.ndarray:
    """Random hue/saturation/value gains on an RGB uint8 image (returns a new array)."""
    if not (hgain or sgain or vgain):
        return img
    gains = rng.uniform(-1, 1, 3) * (hgain, sgain, vgain) + 1
    hue, sat, val = cv2.split(cv2.cvtColor(img, cv2.COLOR_RGB2HSV))
    x = np.arange(256, dtype=np.float32)
    lut_h = ((x * gains[0]) % 180).astype(np.uint8)
    lut_s = np.clip(x * gains[1], 0, 255).astype(np.uint8)
    lut_v = np.clip(x * gains[2], 0, 255).astype(np.uint8)
    hsv = cv2.merge((cv2.LUT(hue, lut_h), cv2.LUT(sat, lut_s), cv2.LUT(val, lut_v)))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def fliplr(img: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror an image and its boxes_xyxy left-right (exact: x -> W - x)."""
    w = img.shape[1]
    out = boxes_xyxy.copy()
    out[:, 0], out[:, 2] = w - boxes_xyxy[:, 2], w - boxes_xyxy[:, 0]
    return np.ascontiguousarray(img[:, ::-1]), out


def clip_and_filter(
    boxes_xyxy: np.ndarray, labels: np.ndarray, h: int, w: int, min_wh: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Clip boxes to a ``w`` x ``h`` image and drop those with a side < ``min_wh`` pixels."""
    boxes = boxes_xyxy.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= min_wh) & ((boxes[:, 3] - boxes[:, 1]) >= min_wh)
    return boxes[keep], labels[keep]


class Photometric:
    """Albumentations pixel-level ops (Blur, ToGray, CLAHE, each with probability ``p``), seeded per call.

    These ops move no pixels, so boxes pass through unchanged; bbox params are still declared so that adding a
    geometric albumentations op here keeps boxes consistent.
    """

    def __init__(self, p: float = 0.01) -> None:
        self.p = p
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "processor for bboxes but no transform": expected, see docstring
            self.compose = A.Compose(
                [A.Blur(blur_limit=(3, 5), p=p), A.ToGray(p=p), A.CLAHE(p=p)],
                bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], min_width=1, min_height=1),
            )

    def __call__(
        self, img: np.ndarray, boxes_xyxy: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.p <= 0:
            return img, boxes_xyxy, labels
        self.compose.set_random_seed(int(rng.integers(2**31)))
        out = self.compose(image=img, bboxes=boxes_xyxy.reshape(-1, 4), labels=labels)
        boxes = np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4)
        return out["image"], boxes, np.asarray(out["labels"], dtype=np.int64)
