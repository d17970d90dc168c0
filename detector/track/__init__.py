"""Multi-object tracking on top of detections: ByteTrack (:class:`ByteTracker`) with re-identification of lost tracks
(:mod:`detector.track.reid`, colour features :mod:`detector.track.appearance`), a plain IoU-matching baseline
(:class:`IouTracker`), the MOTChallenge files (:mod:`detector.track.mot_files`), counting across a line
(:mod:`detector.track.counting`) and the MOT metrics (:mod:`detector.track.metrics`).

The trackers take one frame's detections at a time (boxes_xyxy in pixels, scores, labels; optionally the frame, for
the colours) and return the tracks shown on that frame, each with a stable integer ID (from 1). ``Tracker`` wraps a
Predictor for video.
"""

from detector.config import TrackConfig
from detector.track.bytetrack import ByteTracker
from detector.track.iou_tracker import IouTracker
from detector.track.types import TrackedBoxes

__all__ = ["ByteTracker", "IouTracker", "TrackedBoxes", "build_tracker"]


def build_tracker(cfg: TrackConfig) -> ByteTracker | IouTracker:
    """The tracker ``cfg.tracker`` names, with the section's settings (``iou``: high_thresh, match_iou,
    class_aware)."""
    if cfg.tracker == "iou":
        return IouTracker(cfg.high_thresh, cfg.match_iou, cfg.class_aware)
    return ByteTracker(cfg)
