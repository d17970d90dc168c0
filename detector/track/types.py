"""What a tracker returns for one frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TrackedBoxes:
    """The tracks shown on one frame: ``ids`` int64 ``[N]`` (from 1, stable across frames), ``boxes_xyxy`` float32
    ``[N, 4]`` pixels (the matched detection's box), ``scores`` float32 ``[N]``, ``labels`` int64 ``[N]``."""

    ids: np.ndarray
    boxes_xyxy: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @staticmethod
    def empty() -> TrackedBoxes:
        return TrackedBoxes(
            np.zeros(0, np.int64), np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        return len(self.ids)


def as_detections(boxes_xyxy: object, scores: object, labels: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detections (numpy arrays or CPU tensors) as float32 ``[N, 4]``, float32 ``[N]``, int64 ``[N]``; ValueError
    when the lengths differ."""

    def arr(x: object, dtype: type) -> np.ndarray:
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        return np.asarray(x, dtype=dtype)

    boxes = arr(boxes_xyxy, np.float32).reshape(-1, 4)
    s, lab = arr(scores, np.float32).reshape(-1), arr(labels, np.int64).reshape(-1)
    if not len(boxes) == len(s) == len(lab):
        raise ValueError(f"tracker: {len(boxes)} boxes, {len(s)} scores and {len(lab)} labels; expected equal counts")
    return boxes, s, lab
