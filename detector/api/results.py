"""What the public API returns: :class:`Result` (one image's detections), :class:`Metrics` (an evaluation) and
:class:`Run` (a training run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the types only: importing them pulls in the evaluator
    from detector.engine.evaluation.errors.breakdown import ErrorBreakdown
    from detector.engine.evaluation.evaluator import EvalResult


@dataclass(frozen=True, eq=False)
class Result:
    """The detections of one image (or video frame), after NMS, in the image's own pixels.

    ``boxes_xyxy``: float32 ``[N, 4]`` (x1, y1, x2, y2; pixels of ``image``, clipped to it). ``scores``: float32
    ``[N]`` in [0, 1]. ``class_ids``: int64 ``[N]``, 0..C-1, indexing ``names`` (the model's C class names).
    ``image``: the image predicted on, uint8 ``[H, W, 3]`` in **BGR** order (as ``cv2.imread`` gives).
    ``path``: the file (or video) it came from, None for an array; ``index``: its number in the source (image or
    frame number, from 0).
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    names: tuple[str, ...]
    image: np.ndarray = field(repr=False)
    path: str | None = None
    index: int = 0
    track_ids: np.ndarray | None = None  # int64 [N] from :meth:`detector.Model.track` (stable across frames), else None

    def __len__(self) -> int:
        """Number of detections N."""
        return len(self.scores)

    @property
    def labels(self) -> list[str]:
        """The class name of each detection (``names[class_ids[i]]``), N strings."""
        return [self.names[c] if 0 <= c < len(self.names) else str(c) for c in self.class_ids.tolist()]

    def plot(self, thickness: int | None = None) -> np.ndarray:
        """A copy of ``image`` (BGR uint8 ``[H, W, 3]``, ready for ``cv2.imwrite``) with every box, class name and
        score drawn; the colour is fixed per class. ``thickness``: line width in pixels (None: ~0.3% of the image
        diagonal)."""
        from detector.engine.prediction.draw import draw_detections

        return draw_detections(
            self.image, self.boxes_xyxy, self.class_ids, self.scores, list(self.names), bgr=True, thickness=thickness
        )

    def to_list(self) -> list[dict[str, Any]]:
        """Plain dicts, one per detection: ``{"box_xyxy": [4 floats, pixels], "score", "class_id", "name"}``, plus
        ``"track_id"`` for a tracked frame."""
        rows = [
            {"box_xyxy": [float(v) for v in box], "score": float(s), "class_id": int(c), "name": name}
            for box, s, c, name in zip(self.boxes_xyxy, self.scores, self.class_ids, self.labels, strict=True)
        ]
        if self.track_ids is not None:
            for row, tid in zip(rows, self.track_ids.tolist(), strict=True):
                row["track_id"] = int(tid)
        return rows


@dataclass(frozen=True)
class Metrics:
    """The COCO evaluation of a model (pycocotools' numbers, fractions in [0, 1]; -1.0 where undefined: no
    ground-truth box in that range).

    ``ap``: mAP@[.5:.95]; ``ap50`` / ``ap75``: at IoU 0.5 / 0.75; ``ap_small`` / ``ap_medium`` / ``ap_large``: by
    object area. ``stats``: all 12 COCO numbers by name (``AP``, ``AP50``, ..., ``ARl``; also ``metrics["AP50"]``).
    ``per_class``: one dict per category ``{"category_id", "name", "AP", "AP50", "num_gt"}``. ``errors``: the
    TIDE-style error breakdown (``errors=True``; see docs/ERRORS.md), else None. ``out``: the folder the files were
    written to (``out=``), else None. ``result``: the evaluator's full result (PR arrays).
    """

    ap: float
    ap50: float
    ap75: float
    ap_small: float
    ap_medium: float
    ap_large: float
    stats: dict[str, float]
    per_class: list[dict[str, Any]]
    errors: ErrorBreakdown | None = None
    out: Path | None = None
    result: EvalResult | None = field(default=None, repr=False)

    def __getitem__(self, key: str) -> float:
        """One of the 12 COCO numbers by name: ``metrics["AP50"]``."""
        return self.stats[key]

    @classmethod
    def from_result(cls, result: EvalResult, errors: ErrorBreakdown | None, out: Path | None) -> Metrics:
        s = {k: float(v) for k, v in result.stats.items()}
        return cls(
            s["AP"], s["AP50"], s["AP75"], s["APs"], s["APm"], s["APl"], s, [dict(c) for c in result.per_class],
            errors, out, result,
        )  # fmt: skip


@dataclass(frozen=True)
class Run:
    """A finished training run: ``folder`` (``config.yaml``, ``results.csv``, ``weights/``), ``best`` and ``last``
    (the checkpoints; ``detector.load(run.best)``), ``metrics`` (the last validation's 12 COCO numbers by name, NaN
    when the val split has no box), ``best_fitness`` (the best mAP@[.5:.95] seen) and ``epochs`` (planned)."""

    folder: Path
    best: Path
    last: Path
    metrics: dict[str, float]
    best_fitness: float
    epochs: int

    @classmethod
    def from_trainer(cls, out: dict[str, Any]) -> Run:
        """From :func:`detector.engine.training.trainer.train`'s dict."""
        return cls(
            Path(out["out_dir"]), Path(out["best"]), Path(out["last"]),
            {k: float(v) for k, v in dict(out["metrics"]).items()}, float(out["best_fitness"]), int(out["epochs"]),
        )  # fmt: skip
