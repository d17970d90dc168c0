"""Re-identification of lost tracks: a confident box no track took may be an object seen before, back after a long
occlusion or after leaving the frame. It takes a lost track's ID when every gate passes:

- class: the track's voted class is the box's;
- motion: the box centre is within ``(1 + reid_speed * frames_lost) * size`` of where the track was last seen (``size``
  the larger side of its last box): the object may have turned while hidden (or outside the frame), so the gate is a
  disc around its last position that grows with the time lost rather than the Kalman prediction, which runs on in a
  straight line;
- size: the larger sides differ by at most ``MAX_SIZE_RATIO`` (skipped for a box cut by the frame border);
- appearance (when on): the colour-histogram distance is at most ``appearance_thresh``.

Among the pairs that pass, the assignment minimises appearance distance plus a small motion term (without appearance:
the motion term alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SIZE_RATIO = 1.5  # larger side of the box / of the track's last box, either way
MOTION_WEIGHT = 0.1  # cost of a centre at the edge of the motion gate (appearance distances are 0-1)
_BORDER = 2.0  # px: a box this close to the frame edge is cut by it (its size says little)


@dataclass
class LostTracks:
    """What re-identification knows of the lost tracks: last boxes ``[T, 4]`` xyxy pixels, frames lost ``[T]``
    (>= 1), labels ``[T]``, features ``[T, F]`` (None: no appearance)."""

    boxes_xyxy: np.ndarray
    lost: np.ndarray
    labels: np.ndarray
    features: np.ndarray | None


def _size(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0)


def _cut(boxes: np.ndarray, frame_wh: tuple[int, int] | None) -> np.ndarray:
    """``[N]`` True where the box touches the frame border (None: frame size unknown, no box is cut)."""
    if frame_wh is None:
        return np.zeros(len(boxes), bool)
    w, h = frame_wh
    return (
        (boxes[:, 0] <= _BORDER)
        | (boxes[:, 1] <= _BORDER)
        | (boxes[:, 2] >= w - _BORDER)
        | (boxes[:, 3] >= h - _BORDER)
    )


def reid_cost(
    lost: LostTracks,
    boxes_xyxy: np.ndarray,
    labels: np.ndarray,
    features: np.ndarray | None,
    reid_speed: float,
    appearance_thresh: float,
    frame_wh: tuple[int, int] | None,
) -> np.ndarray:
    """``[T, K]`` cost of giving box ``k`` the ID of lost track ``t`` (lower is better; ``inf`` where a gate fails).
    ``boxes_xyxy [K, 4]`` pixels, ``labels [K]``, ``features [K, F]`` or None (then appearance is not used)."""
    tb, db = np.asarray(lost.boxes_xyxy, np.float64).reshape(-1, 4), np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    t_size, d_size = _size(tb), _size(db)
    t_c, d_c = (tb[:, :2] + tb[:, 2:]) / 2, (db[:, :2] + db[:, 2:]) / 2
    dist = np.linalg.norm(t_c[:, None] - d_c[None], axis=2)  # [T, K] pixels
    radius = (1.0 + reid_speed * np.asarray(lost.lost, np.float64))[:, None] * t_size[:, None]
    ok = (dist <= radius) & (np.asarray(lost.labels)[:, None] == np.asarray(labels)[None, :])
    ratio = np.maximum(t_size[:, None] / d_size[None], d_size[None] / t_size[:, None])
    cut = _cut(tb, frame_wh)[:, None] | _cut(db, frame_wh)[None, :]
    ok &= cut | (ratio <= MAX_SIZE_RATIO)
    cost = MOTION_WEIGHT * dist / np.maximum(radius, 1e-9)
    if lost.features is not None and features is not None:
        app = np.clip(1.0 - np.asarray(lost.features, np.float64) @ np.asarray(features, np.float64).T, 0.0, 1.0)
        ok &= app <= appearance_thresh
        cost = cost + app
    return np.where(ok, cost, np.inf)


def assign_min_cost(cost: np.ndarray) -> list[tuple[int, int]]:
    """The pairs ``(row, col)`` of the assignment minimising the summed finite ``cost`` ``[N, M]`` (``inf``: not
    allowed), sorted."""
    from scipy.optimize import linear_sum_assignment

    if not cost.size or not np.isfinite(cost).any():
        return []
    big = float(np.nanmax(np.where(np.isfinite(cost), cost, 0.0))) * 10 + 1e3
    rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, big))
    return sorted((int(r), int(c)) for r, c in zip(rows, cols, strict=True) if np.isfinite(cost[r, c]))
