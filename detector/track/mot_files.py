"""MOTChallenge text files: one row per box, ``frame,id,x,y,w,h,score,class[,visibility]``.

``frame`` counts from 1 (the MOTChallenge convention; our frame indices count from 0), ``x, y`` is the box's top-left
corner and ``w, h`` its size, in pixels; ``class`` is the model's label (0-based, as in ``tracks.json``). Ground truth
(``gt.txt``, written by the shapes video generator) has ``1`` in the score column (MOTChallenge's "consider" flag)
and a 9th column, the visible fraction of the object (0-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.output_files import write_text_atomic


@dataclass
class MotRows:
    """The rows of a MOT file as arrays: ``frames`` int64 ``[N]`` (from 1), ``ids`` int64 ``[N]``, ``boxes_xywh``
    float64 ``[N, 4]`` pixels, ``scores`` ``[N]``, ``labels`` int64 ``[N]``, ``visibility`` ``[N]`` (1.0 when the
    file has no such column)."""

    frames: np.ndarray
    ids: np.ndarray
    boxes_xywh: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    visibility: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids ``[K]``, boxes_xyxy ``[K, 4]``) of frame ``f`` (from 1)."""
        sel = self.frames == f
        b = self.boxes_xywh[sel]
        return self.ids[sel], np.c_[b[:, :2], b[:, :2] + b[:, 2:]]


def mot_lines(frame: int, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> list[str]:
    """The rows of one frame (``frame`` from 0; written from 1)."""
    lines = []
    for i, (x1, y1, x2, y2), s, c in zip(
        ids.tolist(), boxes_xyxy.tolist(), scores.tolist(), labels.tolist(), strict=True
    ):
        lines.append(f"{frame + 1},{i},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{s:.4f},{c}")
    return lines


def write_mot(path: str | Path, lines: list[str]) -> None:
    """Write rows (see :func:`mot_lines`) atomically."""
    write_text_atomic(path, "".join(line + "\n" for line in lines), fsync=False)


def read_mot(path: str | Path, option: str = "--mot") -> MotRows:
    """Read a MOT file. Raises FileNotFoundError for a missing file and ValueError naming ``option``, the file, the
    line and the value for a row that is not ``frame,id,x,y,w,h,score[,class[,visibility]]`` numbers, a frame below
    1, a negative width or height, or one ID twice in a frame."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{option} {p}: no such file")
    rows: list[list[float]] = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = [v.strip() for v in line.replace(" ", ",").split(",") if v.strip()]
        try:
            vals = [float(v) for v in parts]
        except ValueError:
            raise ValueError(
                f"{option} {p}:{n}: not numbers: {line.strip()!r} (expected frame,id,x,y,w,h,score,...)"
            ) from None
        if len(vals) < 7 or not np.isfinite(vals[:7]).all():
            raise ValueError(
                f"{option} {p}:{n}: expected at least 7 finite values frame,id,x,y,w,h,score; got {line.strip()!r}"
            )
        if vals[0] < 1 or vals[0] != int(vals[0]) or vals[1] != int(vals[1]):
            raise ValueError(f"{option} {p}:{n}: frame must be an integer >= 1 and id an integer; got {line.strip()!r}")
        if vals[4] < 0 or vals[5] < 0:
            raise ValueError(f"{option} {p}:{n}: negative box width or height in {line.strip()!r}")
        vals += [0.0] * (7 - min(len(vals), 7))
        rows.append([*vals[:7], vals[7] if len(vals) > 7 else 0.0, vals[8] if len(vals) > 8 else 1.0])
    a = np.array(rows, np.float64).reshape(-1, 9)
    out = MotRows(
        a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2:6], a[:, 6], a[:, 7].astype(np.int64), a[:, 8]
    )
    keys = out.frames * (int(out.ids.max(initial=0)) + 1) + out.ids
    if len(np.unique(keys)) != len(keys):
        dup = next(k for k, c in zip(*np.unique(keys, return_counts=True), strict=True) if c > 1)
        f, i = divmod(int(dup), int(out.ids.max(initial=0)) + 1)
        raise ValueError(f"{option} {p}: id {i} appears twice in frame {f}; each ID is one box per frame")
    return out
