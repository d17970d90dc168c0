"""A constant-velocity Kalman filter over boxes: state ``[cx, cy, w, h, vcx, vcy, vw, vh]`` (pixels, pixels/frame).

The noise scales with the box size (a 200-px box moves and jitters more, in pixels, than a 20-px one), the usual
choice of SORT-style trackers. One filter instance serves all tracks; each track keeps its own mean and covariance.
"""

from __future__ import annotations

import numpy as np

_POS_STD = 1.0 / 20  # measurement and process noise of the position/size, a fraction of the box size
_VEL_STD = 1.0 / 160  # process noise of the velocity, a fraction of the box size per frame


def xyxy_to_cxcywh(box: np.ndarray) -> np.ndarray:
    """``[..., 4]`` xyxy -> cxcywh (pixels, float64)."""
    b = np.asarray(box, np.float64)
    out = np.empty(b.shape)
    out[..., 0] = (b[..., 0] + b[..., 2]) / 2
    out[..., 1] = (b[..., 1] + b[..., 3]) / 2
    out[..., 2] = b[..., 2] - b[..., 0]
    out[..., 3] = b[..., 3] - b[..., 1]
    return out


def cxcywh_to_xyxy(box: np.ndarray) -> np.ndarray:
    """``[..., 4]`` cxcywh -> xyxy (pixels, float64)."""
    b = np.asarray(box, np.float64)
    out = np.empty(b.shape)
    out[..., 0] = b[..., 0] - b[..., 2] / 2
    out[..., 1] = b[..., 1] - b[..., 3] / 2
    out[..., 2] = b[..., 0] + b[..., 2] / 2
    out[..., 3] = b[..., 1] + b[..., 3] / 2
    return out


_DIAG = np.arange(8)


class KalmanBoxFilter:
    """Predict/update of box states; means are ``[8]`` (``[T, 8]`` for :meth:`predict_many`), covariances ``[8, 8]``
    (``[T, 8, 8]``), float64. The measurement is the first four state entries (H = [I 0])."""

    def __init__(self) -> None:
        self.F = np.eye(8)
        self.F[:4, 4:] = np.eye(4)  # x_{t+1} = x_t + v_t

    def initiate(self, box_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A new track's state from its first box (zero velocity, wide velocity uncertainty)."""
        mean = np.r_[box_cxcywh, np.zeros(4)]
        size = np.array([box_cxcywh[2], box_cxcywh[3]] * 2)
        std = np.r_[2 * _POS_STD * size, 10 * _VEL_STD * size]
        return mean, np.diag(std**2)

    def predict(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state one frame later."""
        means, covs = self.predict_many(mean[None], cov[None])
        return means[0], covs[0]

    def predict_many(self, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every track's state one frame later at once: ``means [T, 8]``, ``covs [T, 8, 8]`` (one batched product
        instead of T small ones: the tracker's cost per frame)."""
        size = np.concatenate([means[:, 2:4], means[:, 2:4]], 1)  # [T, 4]: w, h, w, h
        q = np.concatenate([_POS_STD * size, _VEL_STD * size], 1) ** 2  # [T, 8]: process noise variances
        means = means @ self.F.T
        means[:, 2:4] = np.maximum(means[:, 2:4], 1.0)  # a shrinking box never turns inside out
        covs = self.F @ covs @ self.F.T
        covs[:, _DIAG, _DIAG] += q
        return means, covs

    def update(self, mean: np.ndarray, cov: np.ndarray, box_cxcywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state corrected by a measured box."""
        means, covs = self.update_many(mean[None], cov[None], np.asarray(box_cxcywh, np.float64)[None])
        return means[0], covs[0]

    def update_many(
        self, means: np.ndarray, covs: np.ndarray, boxes_cxcywh: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every matched track corrected by its box at once: ``means [K, 8]``, ``covs [K, 8, 8]``, ``boxes [K, 4]``."""
        size = np.concatenate([means[:, 2:4], means[:, 2:4]], 1)  # [K, 4]
        s = covs[:, :4, :4].copy()  # H cov H^T + R
        s[:, _DIAG[:4], _DIAG[:4]] += (_POS_STD * size) ** 2
        gain = np.linalg.solve(s, covs[:, :4]).transpose(0, 2, 1)  # [K, 8, 4]: cov H^T S^-1 (S symmetric)
        means = means + (gain @ (boxes_cxcywh - means[:, :4])[..., None])[..., 0]
        covs = covs - gain @ covs[:, :4]
        return means, covs
