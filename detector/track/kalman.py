"""A constant-velocity Kalman filter over boxes: state ``[cx, cy, w, h, vcx, vcy, vw, vh]`` (pixels, pixels/frame).

The noise scales with the box size (a 200-px box moves and jitters more, in pixels, than a 20-px one), the usual
choice of SORT-style trackers. One filter instance serves all tracks; each track keeps its own mean and covariance.
"""

from __future__ import annotations

import numpy as np

_POS_STD = 1.0 / 20  # measurement and process noise of the position/size, a fraction of the box size
_VEL_STD = 1.0 / 160  # process noise of the velocity, a fraction of the box size per frame


def xyxy_to_cxcywh(box: np.ndarray) -> np.ndarray:
    """``[..., 4]`` xyxy -> cxcywh (pixels)."""
    x1, y1, x2, y2 = np.moveaxis(np.asarray(box, np.float64), -1, 0)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], -1)


def cxcywh_to_xyxy(box: np.ndarray) -> np.ndarray:
    """``[..., 4]`` cxcywh -> xyxy (pixels)."""
    cx, cy, w, h = np.moveaxis(np.asarray(box, np.float64), -1, 0)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


class KalmanBoxFilter:
    """Predict/update of one box state; means are ``[8]``, covariances ``[8, 8]`` (float64)."""

    def __init__(self) -> None:
        self.F = np.eye(8)
        self.F[:4, 4:] = np.eye(4)  # x_{t+1} = x_t + v_t
        self.H = np.eye(4, 8)

    def initiate(self, box_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new track's state from its first box (zero velocity, wide velocity uncertainty)."""
        mean = np.r_[box_cxcywh, np.zeros(4)]
        size = np.array([box_cxcywh[2], box_cxcywh[3]] * 2)
        std = np.r_[2 * _POS_STD * size, 10 * _VEL_STD * size]
        return mean, np.diag(std**2)

    def predict(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state one frame later."""
        size = np.array([mean[2], mean[3]] * 2)
        q = np.diag(np.r_[_POS_STD * size, _VEL_STD * size] ** 2)
        mean = self.F @ mean
        mean[2:4] = np.maximum(mean[2:4], 1.0)  # a shrinking box never turns inside out
        return mean, self.F @ cov @ self.F.T + q

    def update(self, mean: np.ndarray, cov: np.ndarray, box_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state corrected by a measured box."""
        size = np.array([mean[2], mean[3]] * 2)
        r = np.diag((_POS_STD * size) ** 2)
        s = self.H @ cov @ self.H.T + r
        gain = np.linalg.solve(s, self.H @ cov).T  # cov H^T S^-1 (S symmetric)
        mean = mean + gain @ (box_cxcywh - self.H @ mean)
        cov = cov - gain @ self.H @ cov
        return mean, cov
