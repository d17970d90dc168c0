"""``Detections``: COCO box results as four NumPy columns, the form predictions travel in from the model to the
evaluation engine (no list of dicts and no JSON in between); :meth:`Detections.to_results` gives the COCO result
dicts for a predictions JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Detections:
    """N box detections. ``image_ids`` int64 ``[N]``; ``category_ids`` int64 ``[N]`` (the dataset's original COCO
    ids); ``boxes_xywh`` float64 ``[N, 4]`` (x, y of the top-left corner, width, height; original image pixels);
    ``scores`` float64 ``[N]``. Arrays are converted to these dtypes; shapes are checked (ValueError)."""

    image_ids: np.ndarray
    category_ids: np.ndarray
    boxes_xywh: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        for name, dtype in (("image_ids", np.int64), ("category_ids", np.int64), ("scores", np.float64)):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype).reshape(-1))
        boxes = np.asarray(self.boxes_xywh, dtype=np.float64)
        object.__setattr__(self, "boxes_xywh", boxes.reshape(-1, 4) if boxes.size == 0 else boxes)
        n = len(self.image_ids)
        if self.boxes_xywh.shape != (n, 4) or len(self.category_ids) != n or len(self.scores) != n:
            raise ValueError(
                f"Detections: column lengths differ: image_ids {n}, category_ids {len(self.category_ids)}, "
                f"boxes_xywh {self.boxes_xywh.shape} (expected ({n}, 4)), scores {len(self.scores)}"
            )

    def __len__(self) -> int:
        return len(self.image_ids)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros(0), np.zeros(0), np.zeros((0, 4)), np.zeros(0))

    @classmethod
    def concat(cls, parts: Sequence[Detections]) -> Detections:
        """All detections of ``parts``, in order."""
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.image_ids for p in parts]),
            np.concatenate([p.category_ids for p in parts]),
            np.concatenate([p.boxes_xywh for p in parts]),
            np.concatenate([p.scores for p in parts]),
        )

    def select(self, mask: np.ndarray) -> Detections:
        """The detections where the boolean ``mask [N]`` is True (or at the given indices), in order."""
        return Detections(self.image_ids[mask], self.category_ids[mask], self.boxes_xywh[mask], self.scores[mask])

    @classmethod
    def from_outputs(
        cls,
        outputs: Sequence[Mapping[str, torch.Tensor]],
        image_ids: Sequence[int] | torch.Tensor,
        cat_ids: Sequence[int],
    ) -> Detections:
        """Model outputs -> Detections. ``outputs[i]``: ``{"boxes_xyxy": [n, 4] original pixels, "scores": [n],
        "labels": [n] int 0..C-1}`` for image ``image_ids[i]``; ``cat_ids[label]`` is the dataset's category id.
        Boxes become xywh rounded to 0.001 px, scores are rounded to 1e-5 (what a predictions JSON holds)."""
        ids = image_ids.tolist() if isinstance(image_ids, torch.Tensor) else list(image_ids)
        if len(ids) != len(outputs):
            raise ValueError(f"Detections.from_outputs: {len(outputs)} outputs but {len(ids)} image ids")
        lut = np.asarray(cat_ids, dtype=np.int64)
        parts = []
        for out, image_id in zip(outputs, ids, strict=True):
            boxes = out["boxes_xyxy"].detach().float().cpu().reshape(-1, 4).double().numpy()
            labels = out["labels"].detach().cpu().reshape(-1).numpy().astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= len(lut)):
                raise ValueError(
                    f"image {image_id}: predicted label {labels.max()} outside 0..{len(lut) - 1}; "
                    "the model's num_classes does not match the dataset's categories"
                )
            xywh = np.concatenate((boxes[:, :2], boxes[:, 2:] - boxes[:, :2]), axis=1)
            scores = out["scores"].detach().float().cpu().reshape(-1).double().numpy()
            parts.append(cls(np.full(len(labels), int(image_id)), lut[labels], np.round(xywh, 3), np.round(scores, 5)))
        return cls.concat(parts)

    def to_results(self) -> list[dict[str, Any]]:
        """COCO result dicts ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` (fresh dicts, plain
        Python numbers: ready for ``json.dump`` and for the evaluation libraries, which write into them)."""
        return [
            {"image_id": i, "category_id": c, "bbox": b, "score": s}
            for i, c, b, s in zip(
                self.image_ids.tolist(),
                self.category_ids.tolist(),
                self.boxes_xywh.tolist(),
                self.scores.tolist(),
                strict=True,
            )
        ]
