"""Drawing tracks on video frames: each track's box and ``#id class score`` in a colour of its ID, a trail of its
last centres, and the counting line with its in/out totals."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from detector.engine.prediction.draw import PALETTE
from detector.track.types import TrackedBoxes


def id_color(track_id: int) -> tuple[int, int, int]:
    """A stable BGR colour of a track ID (neighbouring IDs get well-separated colours)."""
    r, g, b = PALETTE[(int(track_id) * 7) % len(PALETTE)]
    return (b, g, r)


class TrackDrawer:
    """Keeps each track's last ``trail`` centres and draws a frame's tracks on a BGR uint8 ``[H, W, 3]`` image."""

    def __init__(self, class_names: list[str], trail: int = 20):
        self.class_names, self.trail = class_names, trail
        self.trails: dict[int, deque[tuple[int, int]]] = {}

    def _name(self, label: int) -> str:
        return self.class_names[label] if 0 <= label < len(self.class_names) else str(label)

    def draw(
        self,
        img_bgr: np.ndarray,
        tracks: TrackedBoxes,
        line: tuple[float, float, float, float] | None = None,
        counts: dict | None = None,
    ) -> np.ndarray:
        """A copy of ``img_bgr`` with the tracks (boxes in its pixels), their trails and the optional count line."""
        out = np.ascontiguousarray(img_bgr.copy())
        h, w = out.shape[:2]
        lw = max(1, round(0.003 * (h + w) / 2 * 1.414))
        font = max(0.3, lw / 3)
        for tid, box, score, label in zip(tracks.ids, tracks.boxes_xyxy, tracks.scores, tracks.labels, strict=True):
            color = id_color(int(tid))
            x1, y1, x2, y2 = (int(round(float(v))) for v in box)
            trail = self.trails.setdefault(int(tid), deque(maxlen=max(self.trail, 1)))
            trail.append(((x1 + x2) // 2, (y1 + y2) // 2))
            if self.trail > 1 and len(trail) > 1:
                cv2.polylines(out, [np.array(trail, np.int32)], False, color, lw, cv2.LINE_AA)
            cv2.rectangle(out, (x1, y1), (x2, y2), color, lw)
            text = f"#{int(tid)} {self._name(int(label))} {float(score):.2f}"
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
            ty = y1 - th - base if y1 - th - base >= 0 else y1
            cv2.rectangle(out, (x1, ty), (x1 + tw, ty + th + base), color, -1)
            tc = (0, 0, 0) if sum(color) > 382 else (255, 255, 255)
            cv2.putText(out, text, (x1, ty + th), cv2.FONT_HERSHEY_SIMPLEX, font, tc, 1, cv2.LINE_AA)
        if line is not None:
            p1, p2 = (int(round(line[0])), int(round(line[1]))), (int(round(line[2])), int(round(line[3])))
            cv2.line(out, p1, p2, (0, 255, 255), lw + 1, cv2.LINE_AA)
            if counts is not None:
                text = f"in {sum(counts['in'].values())}  out {sum(counts['out'].values())}"
                cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1, cv2.LINE_AA)
        return out
