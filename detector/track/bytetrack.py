"""ByteTrack (Zhang et al., 2022): every detection box is used, the low-score ones only to continue tracks.

Per frame: (1) each track's box is moved by its constant-velocity Kalman filter (over skipped frames too);
(2) confident boxes (score >= ``high_thresh``) are matched to all tracks, lost ones included, by IoU;
(3) the low-score boxes (``low_thresh`` <= score < ``high_thresh``) are matched to the tracks still unmatched that
were seen on the previous frame -- an occluded object's weak box keeps its ID; (4) tentative tracks (born on the
previous frame) take the remaining confident boxes or are dropped; (5) confident boxes left over with score >=
``new_track_thresh`` start tentative tracks; (6) tracks unmatched for more than ``buffer`` frames are removed.
A track's class is the score-weighted vote of its boxes' classes. A track is shown (gets an ID) once it was matched
on two consecutive frames (or on the first frame of the video). Step (5) starts no track from a box that overlaps a
box matched on the same frame by IoU >= 0.7 (class-aware NMS leaves boxes of two classes on one object).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.config import TrackConfig
from detector.track.association import assign, class_gate, iou_matrix
from detector.track.kalman import KalmanBoxFilter, cxcywh_to_xyxy, xyxy_to_cxcywh
from detector.track.types import TrackedBoxes, as_detections

DUPLICATE_IOU = 0.7  # an unmatched box overlapping a box matched on the same frame this much starts no track


@dataclass
class _Track:
    mean: np.ndarray  # Kalman state [8]
    cov: np.ndarray  # [8, 8]
    box_xyxy: np.ndarray  # last matched box [4], pixels
    score: float
    label: int
    last_frame: int  # frame of the last match
    track_id: int = 0  # 0 while tentative
    votes: dict[int, float] = field(default_factory=dict)  # label -> summed score of its matched boxes

    def vote(self, label: int, score: float) -> None:
        """Add a matched box's class; the track's label is the class with the highest summed score."""
        self.votes[label] = self.votes.get(label, 0.0) + score
        self.label = max(self.votes, key=lambda k: self.votes[k])

    def predicted_xyxy(self) -> np.ndarray:
        return cxcywh_to_xyxy(self.mean[:4])


def check_track_config(cfg: TrackConfig) -> None:
    """ValueError naming the keys when the thresholds contradict each other."""
    if cfg.low_thresh > cfg.high_thresh:
        raise ValueError(
            f"track.low_thresh={cfg.low_thresh} is above track.high_thresh={cfg.high_thresh}: "
            "low-score boxes are those in [low_thresh, high_thresh); lower low_thresh or raise high_thresh"
        )
    if cfg.new_track_thresh < cfg.low_thresh:
        raise ValueError(
            f"track.new_track_thresh={cfg.new_track_thresh} is below track.low_thresh={cfg.low_thresh}: "
            "a new track needs a box the tracker keeps; raise new_track_thresh"
        )


class ByteTracker:
    """ByteTrack over one video: call :meth:`update` once per frame, in order (``frame_index`` may skip frames: the
    tracks are moved over the gap, and a track unmatched for up to ``cfg.buffer`` frames keeps its ID)."""

    def __init__(self, cfg: TrackConfig | None = None):
        self.cfg = cfg if cfg is not None else TrackConfig()
        check_track_config(self.cfg)
        self.kf = KalmanBoxFilter()
        self.tracks: list[_Track] = []
        self.frame = -1
        self.next_id = 1

    def _advance(self, frame_index: int | None) -> int:
        frame = self.frame + 1 if frame_index is None else int(frame_index)
        if frame <= self.frame:
            raise ValueError(f"tracker: frame {frame} after frame {self.frame}; frames must come in order")
        if self.tracks:  # one Kalman step per frame since the last update (a gap moves the boxes further)
            means = np.stack([t.mean for t in self.tracks])
            covs = np.stack([t.cov for t in self.tracks])
            for _ in range(frame - self.frame):
                means, covs = self.kf.predict_many(means, covs)
            for t, mean, cov in zip(self.tracks, means, covs, strict=True):
                t.mean, t.cov = mean, cov
        first = self.frame < 0
        self.frame = frame
        self.tracks = [t for t in self.tracks if frame - t.last_frame - 1 <= self.cfg.buffer]  # missed too many
        return int(first)

    def _score(self, tracks: list[_Track], boxes: np.ndarray, labels: np.ndarray) -> np.ndarray:
        pred = np.array([t.predicted_xyxy() for t in tracks]).reshape(-1, 4)
        iou = iou_matrix(pred, boxes)
        if self.cfg.class_aware:
            iou = iou * class_gate(np.array([t.label for t in tracks]), labels)
        return iou

    def _match(self, tracks: list[_Track], boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> None:
        """Correct ``tracks[i]`` with detection ``i`` (``boxes [K, 4]`` xyxy pixels, ``scores``, ``labels`` ``[K]``):
        one batched Kalman update for all of them."""
        if not tracks:
            return
        means = np.stack([t.mean for t in tracks])
        covs = np.stack([t.cov for t in tracks])
        means, covs = self.kf.update_many(means, covs, xyxy_to_cxcywh(boxes))
        for t, mean, cov, box, score, label in zip(tracks, means, covs, boxes, scores.tolist(), labels.tolist(),
                                                    strict=True):  # fmt: skip
            t.mean, t.cov = mean, cov
            t.box_xyxy, t.score = box, score
            t.vote(int(label), float(score))
            t.last_frame = self.frame

    def update(
        self, boxes_xyxy: object, scores: object, labels: object, frame_index: int | None = None
    ) -> TrackedBoxes:
        """One frame's detections (``[N, 4]`` xyxy pixels, ``[N]`` scores, ``[N]`` labels; numpy or tensors) -> the
        tracks shown on it. ``frame_index`` (from 0; None: the next frame) lets a caller skip frames."""
        boxes, scores_np, labels_np = as_detections(boxes_xyxy, scores, labels)
        first = self._advance(frame_index)
        cfg = self.cfg
        keep = scores_np >= cfg.low_thresh
        boxes, scores_np, labels_np = boxes[keep], scores_np[keep], labels_np[keep]
        high = np.flatnonzero(scores_np >= cfg.high_thresh)
        low = np.flatnonzero(scores_np < cfg.high_thresh)
        confirmed = [t for t in self.tracks if t.track_id]
        tentative = [t for t in self.tracks if not t.track_id]
        # (2) confident boxes with every confirmed track, lost ones included
        pairs, um_tracks, um_high = assign(self._score(confirmed, boxes[high], labels_np[high]), cfg.match_iou)
        d = high[[c for _, c in pairs]]
        self._match([confirmed[r] for r, _ in pairs], boxes[d], scores_np[d], labels_np[d])
        # (3) low-score boxes with the unmatched tracks seen on the previous frame
        recent = [confirmed[r] for r in um_tracks if confirmed[r].last_frame >= self.frame - 1]
        pairs, _, _ = assign(self._score(recent, boxes[low], labels_np[low]), cfg.low_match_iou)
        d = low[[c for _, c in pairs]]
        self._match([recent[r] for r, _ in pairs], boxes[d], scores_np[d], labels_np[d])
        # (4) tentative tracks take the remaining confident boxes, or go
        rest = high[um_high]
        pairs, _, um_rest = assign(self._score(tentative, boxes[rest], labels_np[rest]), max(cfg.match_iou, 0.3))
        d = rest[[c for _, c in pairs]]
        self._match([tentative[r] for r, _ in pairs], boxes[d], scores_np[d], labels_np[d])
        for r, _ in pairs:
            tentative[r].track_id = self._new_id()
        self.tracks = [t for t in self.tracks if t.track_id or t.last_frame == self.frame]
        # (5) new tracks from confident leftovers that are not a second box on an object tracked on this frame (class-
        # aware NMS keeps boxes of two classes on one object); shown at once on the first frame
        taken = [t.box_xyxy for t in self.tracks if t.last_frame == self.frame]
        for c in sorted(um_rest, key=lambda c: -scores_np[rest[c]]):
            d = rest[c]
            if scores_np[d] < cfg.new_track_thresh:
                continue
            if taken and iou_matrix(boxes[d : d + 1], np.array(taken)).max() >= DUPLICATE_IOU:
                continue
            mean, cov = self.kf.initiate(xyxy_to_cxcywh(boxes[d]))
            t = _Track(mean, cov, boxes[d], float(scores_np[d]), int(labels_np[d]), self.frame)
            t.vote(t.label, t.score)
            if first:
                t.track_id = self._new_id()
            self.tracks.append(t)
            taken.append(boxes[d])
        # (6) forget tracks lost for longer than the buffer
        self.tracks = [t for t in self.tracks if self.frame - t.last_frame <= cfg.buffer]
        return self._shown()

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _shown(self) -> TrackedBoxes:
        shown = [t for t in self.tracks if t.track_id and t.last_frame == self.frame]
        shown = [t for t in shown if np.prod(t.box_xyxy[2:] - t.box_xyxy[:2]) >= self.cfg.min_box_area]
        if not shown:
            return TrackedBoxes.empty()
        shown.sort(key=lambda t: t.track_id)
        return TrackedBoxes(
            np.array([t.track_id for t in shown], np.int64),
            np.array([t.box_xyxy for t in shown], np.float32).reshape(-1, 4),
            np.array([t.score for t in shown], np.float32),
            np.array([t.label for t in shown], np.int64),
        )
