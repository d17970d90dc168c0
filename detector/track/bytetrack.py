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
from detector.track.appearance import FEATURE_SIZE, blend, colour_features
from detector.track.association import assign, class_gate, iou_matrix
from detector.track.kalman import KalmanBoxFilter, cxcywh_to_xyxy, xyxy_to_cxcywh
from detector.track.reid import LostTracks, assign_min_cost, reid_cost
from detector.track.types import TrackedBoxes, as_detections

DUPLICATE_IOU = 0.7  # an unmatched box overlapping a box matched on the same frame this much starts no track
FEATURE_MOMENTUM = 0.9  # a track's colour feature: this much of the old one, the rest from each new confident box
CLEAR_IOU = 0.1  # a box overlapping another box more than this is partly hidden: its colours do not update a track


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
    hits: int = 1  # frames matched in a row while tentative
    feature: np.ndarray | None = None  # colour feature [F] (detector.track.appearance), None until a clear box

    def vote(self, label: int, score: float) -> None:
        """Add a matched box's class; the track's label is the class with the highest summed score."""
        self.votes[label] = self.votes.get(label, 0.0) + score
        self.label = max(self.votes, key=lambda k: self.votes[k])


@dataclass
class _TrackIoU:
    """One frame's IoU of the predicted box of every track IoU matching can reach (lost up to ``track.buffer``
    frames) with every box: ``matrix [T, N]`` and ``row`` (``id(track)`` -> its row)."""

    matrix: np.ndarray
    row: dict[int, int]


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
    tracks are moved over the gap, and a track unmatched for up to ``cfg.buffer`` frames keeps its ID). Given the
    frame (``image``), a lost track can also be re-identified for up to ``cfg.reid_buffer`` frames
    (:mod:`detector.track.reid`), by its colours too when ``cfg.appearance``."""

    wants_image = True  # update() takes the frame (the colour feature needs the pixels)

    def __init__(self, cfg: TrackConfig | None = None):
        self.cfg = cfg if cfg is not None else TrackConfig()
        check_track_config(self.cfg)
        self.kf = KalmanBoxFilter()
        self.tracks: list[_Track] = []
        self.frame = -1
        self.next_id = 1

    def _advance(self, frame_index: int | None) -> tuple[bool, list[_Track]]:
        """Move to ``frame_index`` (None: the next frame); returns whether it is the first frame and the tracks IoU
        matching can reach (lost up to ``track.buffer`` frames), whose motion was stepped to it."""
        frame = self.frame + 1 if frame_index is None else int(frame_index)
        if frame <= self.frame:
            raise ValueError(f"tracker: frame {frame} after frame {self.frame}; frames must come in order")
        # one Kalman step per frame since the last update (a gap moves the boxes further), for the tracks IoU matching
        # can still reach; a track lost for longer is found again only by re-identification, which restarts its motion
        moving = [t for t in self.tracks if frame - t.last_frame - 1 <= self.cfg.buffer]
        if moving:
            means = np.stack([t.mean for t in moving])
            covs = np.stack([t.cov for t in moving])
            for _ in range(frame - self.frame):
                means, covs = self.kf.predict_many(means, covs)
            for t, mean, cov in zip(moving, means, covs, strict=True):
                t.mean, t.cov = mean, cov
        first = self.frame < 0
        self.frame = frame
        self.tracks = [t for t in self.tracks if frame - t.last_frame - 1 <= self._keep()]  # missed too many
        return first, moving

    def _keep(self) -> int:
        """Frames a lost track is kept: the IoU buffer, or the re-identification one when longer."""
        return max(self.cfg.buffer, self.cfg.reid_buffer)

    def _score(
        self, tracks: list[_Track], cols: np.ndarray, labels: np.ndarray, feats: np.ndarray | None, iou: _TrackIoU
    ) -> np.ndarray:
        """``[len(tracks), len(cols)]`` association score of ``tracks`` with the frame's boxes ``cols``: the IoU of
        each track's predicted box (``iou``: computed once per frame), zero across classes (``class_aware``) and, given
        the boxes' colour ``feats``, zero where a track's known colours are too far from the box's."""
        score = iou.matrix[np.ix_(np.array([iou.row[id(t)] for t in tracks], np.int64), cols)]
        if self.cfg.class_aware:
            score = score * class_gate(np.array([t.label for t in tracks]), labels[cols])
        if feats is not None and len(tracks) and len(cols):  # a box of other colours is not the track's object
            fc = feats[cols]
            known = np.array([t.feature is not None for t in tracks])
            tf = np.stack([t.feature if t.feature is not None else fc[0] * 0 for t in tracks])
            far = 1.0 - tf.astype(np.float64) @ fc.T.astype(np.float64) > self.cfg.appearance_thresh
            score = np.where(far & known[:, None] & (fc.sum(1) > 0)[None, :], 0.0, score)
        return score

    def _correct(self, matched: list[tuple[_Track, int]], boxes: np.ndarray) -> None:
        """One batched Kalman update of every track IoU matching matched on this frame with its box (``boxes``
        ``[N, 4]`` xyxy pixels). Done once, after all stages: no stage reads the motion of a track matched earlier in
        the frame (each takes the tracks still unmatched)."""
        if not matched:
            return
        tracks = [t for t, _ in matched]
        means, covs = np.stack([t.mean for t in tracks]), np.stack([t.cov for t in tracks])
        means, covs = self.kf.update_many(means, covs, xyxy_to_cxcywh(boxes[[k for _, k in matched]]))
        for t, mean, cov in zip(tracks, means, covs, strict=True):
            t.mean, t.cov = mean, cov

    def _take(self, pairs: list[tuple[_Track, int]], det: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Each track of ``pairs`` takes its detection (an index into ``det``: boxes ``[N, 4]`` xyxy pixels, scores,
        labels): its box, score and class vote; its motion and colours are updated after all stages
        (:meth:`_correct`, :meth:`_recolour`)."""
        for t, k in pairs:
            t.box_xyxy, t.score = det[0][k], float(det[1][k])
            t.vote(int(det[2][k]), t.score)
            t.last_frame = self.frame

    def _recolour(self, pairs: list[tuple[_Track, int]], feats: np.ndarray | None, clear: np.ndarray) -> None:
        """The colours of every track that took a clear confident box (``clear[k]``, a feature with some colour) on
        this frame: the box's feature for a track without one, else both blended (:func:`blend`), in one batch. Done
        after all stages: no stage reads the colours of a track matched earlier in the frame."""
        if feats is None:
            return
        pairs = [(t, k) for t, k in pairs if clear[k] and feats[k].any()]
        old = [(t, k, t.feature) for t, k in pairs if t.feature is not None]
        for t, k in pairs:
            if t.feature is None:
                t.feature = feats[k].copy()
        if old:
            mixed = blend(np.stack([f for _, _, f in old]), feats[[k for _, k, _ in old]], FEATURE_MOMENTUM)
            for (t, _, _), f in zip(old, mixed, strict=True):
                t.feature = f

    def _reidentify(
        self, lost: list[_Track], d: np.ndarray, det: tuple[np.ndarray, np.ndarray, np.ndarray],
        feats: np.ndarray | None, frame_wh: tuple[int, int] | None,
    ) -> list[tuple[int, int]]:  # fmt: skip
        """Pairs (lost track, index into ``d``) re-identified (:func:`detector.track.reid.reid_cost`). Colours are
        compared when every lost track has them; when one was never seen clear (no feature), costs with and without
        colour would not compare, so this frame's re-identification uses the other gates alone."""
        if not lost or not len(d):
            return []
        use_app = feats is not None and all(t.feature is not None for t in lost)
        info = LostTracks(
            np.array([t.box_xyxy for t in lost]), np.array([self.frame - t.last_frame for t in lost]),
            np.array([t.label for t in lost]),
            np.stack([t.feature for t in lost if t.feature is not None]) if use_app else None,
        )  # fmt: skip
        cost = reid_cost(
            info, det[0][d], det[2][d], feats[d] if use_app and feats is not None else None,
            self.cfg.reid_speed, self.cfg.appearance_thresh, frame_wh,
        )  # fmt: skip
        return assign_min_cost(cost)

    def update(
        self, boxes_xyxy: object, scores: object, labels: object, frame_index: int | None = None,
        image: np.ndarray | None = None,
    ) -> TrackedBoxes:  # fmt: skip
        """One frame's detections (``[N, 4]`` xyxy pixels, ``[N]`` scores, ``[N]`` labels; numpy or tensors) -> the
        tracks shown on it. ``frame_index`` (from 0; None: the next frame) lets a caller skip frames; ``image`` (the
        frame, RGB uint8 ``[H, W, 3]``) gives the colour feature (``cfg.appearance``) and the frame border."""
        boxes, scores_np, labels_np = as_detections(boxes_xyxy, scores, labels)
        first, moving = self._advance(frame_index)
        cfg = self.cfg
        keep = scores_np >= cfg.low_thresh
        det = (boxes[keep], scores_np[keep], labels_np[keep])
        boxes, scores_np, labels_np = det
        high = np.flatnonzero(scores_np >= cfg.high_thresh)
        low = np.flatnonzero(scores_np < cfg.high_thresh)
        frame_wh = None if image is None else (int(image.shape[1]), int(image.shape[0]))
        feats = None
        if cfg.appearance and image is not None:
            feats = np.zeros((len(boxes), FEATURE_SIZE), np.float32)
            feats[high] = colour_features(image, boxes[high])
        # one IoU matrix a frame: the boxes with each other (which are clear) and every track's predicted box with them
        pred = cxcywh_to_xyxy(np.array([t.mean[:4] for t in moving]).reshape(-1, 4))
        both = iou_matrix(np.concatenate([boxes.astype(np.float64), pred]), boxes)
        iou = _TrackIoU(both[len(boxes) :], {id(t): i for i, t in enumerate(moving)})
        overlap = both[: len(boxes)] - np.eye(len(boxes))
        clear = (overlap.max(1, initial=0.0) <= CLEAR_IOU) & (scores_np >= cfg.high_thresh)
        confirmed = [t for t in self.tracks if t.track_id]
        tentative = [t for t in self.tracks if not t.track_id]
        # (2) confident boxes with every confirmed track lost up to the buffer
        near = [t for t in moving if t.track_id]
        pairs, um_tracks, um_high = assign(self._score(near, high, labels_np, feats, iou), cfg.match_iou)
        matched = [(near[r], int(high[c])) for r, c in pairs]
        self._take(matched, det)
        # (3) low-score boxes with the unmatched tracks seen on the previous frame
        recent = [near[r] for r in um_tracks if near[r].last_frame >= self.frame - 1]
        pairs, _, _ = assign(self._score(recent, low, labels_np, None, iou), cfg.low_match_iou)
        low_matched = [(recent[r], int(low[c])) for r, c in pairs]
        self._take(low_matched, det)
        # (3b) re-identification: confident boxes left with the lost tracks
        rest = high[um_high]
        found: list[tuple[_Track, int]] = []
        if cfg.reid_buffer > 0:
            lost = [t for t in confirmed if t.last_frame < self.frame and self.frame - t.last_frame <= cfg.reid_buffer]
            pairs = self._reidentify(lost, rest, det, feats, frame_wh)
            found = [(lost[r], int(rest[c])) for r, c in pairs]
            for t, k in found:  # the object may have turned while lost: its motion starts again from this box
                t.mean, t.cov = self.kf.initiate(xyxy_to_cxcywh(boxes[k]))
            self._take(found, det)
            rest = np.delete(rest, [c for _, c in pairs])
        # (4) tentative tracks take the remaining confident boxes, or go
        pairs, _, um_rest = assign(self._score(tentative, rest, labels_np, None, iou), max(cfg.match_iou, 0.3))
        born = [(tentative[r], int(rest[c])) for r, c in pairs]
        self._take(born, det)
        self._correct(matched + low_matched + born, boxes)  # the motion of every track IoU matching matched, at once
        self._recolour(matched + low_matched + found + born, feats, clear)
        for r, _ in pairs:
            tentative[r].hits += 1
            if tentative[r].hits >= cfg.confirm:
                tentative[r].track_id = self._new_id()
        self.tracks = [t for t in self.tracks if t.track_id or t.last_frame == self.frame]
        # (5) new tracks from confident leftovers that are not a second box on an object tracked on this frame (class-
        # aware NMS keeps boxes of two classes on one object); shown at once on the first frame
        taken = [t.box_xyxy for t in self.tracks if t.last_frame == self.frame]
        for c in sorted(um_rest, key=lambda c: -scores_np[rest[c]]):
            k = rest[c]
            if scores_np[k] < cfg.new_track_thresh:
                continue
            if taken and iou_matrix(boxes[k : k + 1], np.array(taken)).max() >= DUPLICATE_IOU:
                continue
            mean, cov = self.kf.initiate(xyxy_to_cxcywh(boxes[k]))
            t = _Track(mean, cov, boxes[k], float(scores_np[k]), int(labels_np[k]), self.frame)
            t.vote(t.label, t.score)
            if feats is not None and clear[k] and feats[k].any():
                t.feature = feats[k].copy()
            if first or cfg.confirm <= 1:
                t.track_id = self._new_id()
            self.tracks.append(t)
            taken.append(boxes[k])
        # (6) forget tracks lost for longer than both buffers
        self.tracks = [t for t in self.tracks if self.frame - t.last_frame <= self._keep()]
        return self._shown()

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _shown(self) -> TrackedBoxes:
        shown = [t for t in self.tracks if t.track_id and t.last_frame == self.frame]
        area = self.cfg.min_box_area  # w * h of the float32 box, as np.prod computes it but without its per-call cost
        shown = [t for t in shown if (t.box_xyxy[2] - t.box_xyxy[0]) * (t.box_xyxy[3] - t.box_xyxy[1]) >= area]
        if not shown:
            return TrackedBoxes.empty()
        shown.sort(key=lambda t: t.track_id)
        return TrackedBoxes(
            np.array([t.track_id for t in shown], np.int64),
            np.array([t.box_xyxy for t in shown], np.float32).reshape(-1, 4),
            np.array([t.score for t in shown], np.float32),
            np.array([t.label for t in shown], np.int64),
        )
