"""The plain IoU-matching baseline: each frame's confident boxes are matched (Hungarian, IoU >= ``match_iou``) to the
previous frame's shown tracks; no motion model, no low-score boxes, no memory of lost tracks. It measures what
ByteTrack's parts add (docs/TRACKING.md)."""

from __future__ import annotations

import numpy as np

from detector.track.association import assign, class_gate, iou_matrix
from detector.track.types import TrackedBoxes, as_detections


class IouTracker:
    """Frame-to-frame IoU matching: boxes with score >= ``high_thresh`` keep the ID of the previous frame's box they
    overlap best (IoU >= ``match_iou``, same class when ``class_aware``); the others get new IDs."""

    def __init__(self, high_thresh: float = 0.5, match_iou: float = 0.3, class_aware: bool = True):
        self.high_thresh, self.match_iou, self.class_aware = high_thresh, match_iou, class_aware
        self.prev = TrackedBoxes.empty()
        self.next_id = 1

    def update(
        self, boxes_xyxy: object, scores: object, labels: object, frame_index: int | None = None,
        image: np.ndarray | None = None,
    ) -> TrackedBoxes:  # fmt: skip
        """One frame's detections -> its tracks (``frame_index`` and ``image`` are accepted for the trackers' common
        interface; the baseline uses neither)."""
        boxes, scores_np, labels_np = as_detections(boxes_xyxy, scores, labels)
        keep = scores_np >= self.high_thresh
        boxes, scores_np, labels_np = boxes[keep], scores_np[keep], labels_np[keep]
        score = iou_matrix(self.prev.boxes_xyxy, boxes)
        if self.class_aware:
            score = score * class_gate(self.prev.labels, labels_np)
        pairs, _, _ = assign(score, self.match_iou)
        ids = np.zeros(len(boxes), np.int64)
        for r, c in pairs:
            ids[c] = self.prev.ids[r]
        for c in np.flatnonzero(ids == 0).tolist():
            ids[c] = self.next_id
            self.next_id += 1
        order = np.argsort(ids, kind="stable")
        self.prev = TrackedBoxes(ids[order], boxes[order], scores_np[order], labels_np[order])
        return self.prev
