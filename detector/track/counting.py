"""Counting tracks that cross a line: ``--count-line x1,y1,x2,y2`` (pixels).

A track crosses when its box centre moves from one side of the line to the other between two of its positions and
the crossing point lies on the segment. ``in`` is the crossing from the left of the direction (x1,y1)->(x2,y2) to
its right (in image coordinates, y down: for a horizontal line drawn left to right, from above to below); ``out`` the
other way. Counts are per class name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def parse_count_line(text: str, width: int, height: int) -> tuple[float, float, float, float]:
    """``"x1,y1,x2,y2"`` -> the four numbers; ValueError naming ``--count-line`` and the frame size when the text is
    not four numbers, the line has zero length or an end lies outside the ``width x height`` frame."""
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4 or not np.isfinite(vals).all():
        raise ValueError(f"--count-line {text!r}: expected four numbers x1,y1,x2,y2 in pixels, e.g. 0,120,256,120")
    x1, y1, x2, y2 = vals
    if (x1, y1) == (x2, y2):
        raise ValueError(
            f"--count-line {text}: zero length; give two different end points inside the {width}x{height} frame"
        )
    for x, y in ((x1, y1), (x2, y2)):
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValueError(
                f"--count-line {text}: the end ({x:g},{y:g}) is outside the {width}x{height} frame "
                f"(x in [0, {width}], y in [0, {height}])"
            )
    return x1, y1, x2, y2


def _side(line: tuple[float, float, float, float], p: np.ndarray) -> float:
    x1, y1, x2, y2 = line
    return float((x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1))  # > 0: right of the direction (y down)


@dataclass
class LineCounter:
    """Counts per class name of tracks crossing ``line`` (x1, y1, x2, y2 pixels); a track counts at most once per
    direction change (crossing back and forth counts each crossing)."""

    line: tuple[float, float, float, float]
    counts_in: dict[str, int] = field(default_factory=dict)
    counts_out: dict[str, int] = field(default_factory=dict)
    _last: dict[int, np.ndarray] = field(default_factory=dict)

    def update(self, ids: np.ndarray, boxes_xyxy: np.ndarray, names: list[str]) -> list[int]:
        """Feed one frame's tracks; returns the IDs that crossed on this frame."""
        crossed = []
        x1, y1, x2, y2 = self.line
        d = np.array([x2 - x1, y2 - y1])
        for tid, box, name in zip(ids.tolist(), np.asarray(boxes_xyxy).reshape(-1, 4), names, strict=True):
            c = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float64)
            prev = self._last.get(tid)
            self._last[tid] = c
            if prev is None:
                continue
            s0, s1 = _side(self.line, prev), _side(self.line, c)
            if s0 == 0 or s1 == 0 or (s0 > 0) == (s1 > 0):
                continue
            t = s0 / (s0 - s1)  # where the centre's path meets the line's infinite extension
            hit = prev + t * (c - prev)
            u = float(np.dot(hit - (x1, y1), d) / np.dot(d, d))
            if not 0 <= u <= 1:
                continue  # passed beside the segment
            target = self.counts_in if s1 > 0 else self.counts_out
            target[name] = target.get(name, 0) + 1
            crossed.append(tid)
        return crossed

    def as_dict(self) -> dict:
        """``{"line": [x1, y1, x2, y2], "in": {class: n}, "out": {class: n}}`` (for tracks.json)."""
        return {
            "line": list(self.line),
            "in": dict(sorted(self.counts_in.items())),
            "out": dict(sorted(self.counts_out.items())),
        }
