"""Tracking through the Predictor: ``Tracker(predictor)(frame_rgb) -> TrackedBoxes``, one call per video frame.

The Predictor must keep the low-score boxes ByteTrack uses: :func:`tracking_settings` lowers its score threshold to
``track.low_thresh`` (and says so); :class:`Tracker` does that for the Predictor it is given.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from detector.config import PredictConfig, TrackConfig
from detector.engine.prediction.predictor import Predictor
from detector.track.bytetrack import ByteTracker
from detector.track.types import TrackedBoxes

log = logging.getLogger(__name__)


def tracking_settings(predict: PredictConfig, track: TrackConfig) -> PredictConfig:
    """``predict`` with ``conf`` = ``track.low_thresh``: when tracking, boxes down to the low threshold go to the
    tracker (its ``high_thresh`` decides which are confident); a changed threshold is logged."""
    if predict.conf != track.low_thresh:
        log.info(
            "tracking: the detector keeps boxes down to track.low_thresh=%g (predict.conf=%g applies without --track)",
            track.low_thresh, predict.conf,
        )  # fmt: skip
    return dataclasses.replace(predict, conf=track.low_thresh)


class Tracker:
    """ByteTrack fed by a :class:`Predictor`: call it with each RGB uint8 ``[H, W, 3]`` frame in order.

    ``tracker.last_detections`` holds the frame's detections (the Predictor's dict) after each call; ``frame_index``
    (from 0) may skip frames (a dropped frame of a stream): IDs survive gaps up to ``track.buffer`` frames.
    """

    def __init__(self, predictor: Predictor, cfg: TrackConfig | None = None):
        self.cfg = cfg if cfg is not None else TrackConfig()
        self.predictor = predictor
        predictor.settings = tracking_settings(predictor.settings, self.cfg)
        self.tracker = ByteTracker(self.cfg)
        self.last_detections: dict = {}

    def __call__(self, frame_rgb: np.ndarray, frame_index: int | None = None) -> TrackedBoxes:
        det = self.predictor([frame_rgb])[0]
        self.last_detections = det
        return self.tracker.update(det["boxes_xyxy"], det["scores"], det["labels"], frame_index, image=frame_rgb)
