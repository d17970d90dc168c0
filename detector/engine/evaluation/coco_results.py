"""Read and check COCO box results (predictions) into :class:`Detections`, with errors that name the record and field.

Results come as a list of dicts (``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``, what a predictions
JSON holds), a JSON path, or :class:`Detections` (arrays, straight from the model). Lists are checked column by
column with NumPy; when a column fails, the record-by-record walk names the first offending result in list order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detector.coco_fields import is_id, is_number
from detector.engine.evaluation.coco_inputs import (
    EvaluationInputError,
    box_column,
    check_box,
    column,
    few,
    id_column,
    number_column,
    read_json,
)
from detector.engine.evaluation.detections import Detections

RESULT_KEYS = ("image_id", "category_id", "bbox", "score")
_RESULT_HELP = "each result needs image_id, category_id, bbox [x, y, w, h] in original pixels and score"


def load_predictions(predictions: Any, gt: Mapping[str, Any]) -> Detections:
    """Checked :class:`Detections` of COCO results, in the given order.

    ``predictions``: list of result dicts, a JSON path, or :class:`Detections`. ``gt``: the dict from
    :func:`detector.engine.evaluation.coco_inputs.load_gt_dataset`. Raises :class:`EvaluationInputError` for a wrong
    structure, missing keys, bad values (naming the result's index, field and value; scores must be in [0, 1]),
    unknown image or category ids (listing a few of them).
    """
    if isinstance(predictions, Detections):
        source, dets = "predictions", predictions
        _check_arrays(source, dets)
    else:
        if isinstance(predictions, (str, Path)):
            source, data = str(predictions), read_json(predictions, "predictions")
        else:
            source, data = "predictions", predictions
        if isinstance(data, Mapping):
            hint = " (this looks like an annotation file)" if "annotations" in data else ""
            raise EvaluationInputError(f"{source}: expected a JSON list of result dicts, got an object{hint}")
        if not isinstance(data, (list, tuple)):
            raise EvaluationInputError(f"{source}: expected a list of result dicts, got {type(data).__name__}")
        checked = _columns(data)
        dets = checked if checked is not None else _walk(source, data)
    _check_ids(source, dets, gt)
    return dets


def _columns(data: list | tuple) -> Detections | None:
    """The results as Detections when every record passes every check (whole columns at once), else None."""
    image_col, category_col = column(data, "image_id"), column(data, "category_id")
    box_col, score_col = column(data, "bbox"), column(data, "score")
    if image_col is None or category_col is None or box_col is None or score_col is None:
        return None
    image_ids, category_ids = id_column(image_col), id_column(category_col)
    boxes, scores = box_column(box_col), number_column(score_col)
    if image_ids is None or category_ids is None or boxes is None or scores is None:
        return None
    if ((scores < 0) | (scores > 1)).any():
        return None
    return Detections(image_ids, category_ids, boxes, scores)


def _walk(source: str, data: list | tuple) -> Detections:
    """Check record by record: the first bad result raises :class:`EvaluationInputError` naming its index and field."""
    for i, res in enumerate(data):
        if not isinstance(res, Mapping):
            raise EvaluationInputError(f"{source}: result #{i} is a {type(res).__name__}, expected a dict")
        missing = [k for k in RESULT_KEYS if k not in res]
        if missing:
            raise EvaluationInputError(f"{source}: result #{i} misses key(s) {missing}; {_RESULT_HELP}")
        for key in ("image_id", "category_id"):
            if not is_id(res[key]):
                raise EvaluationInputError(f"{source}: result #{i}: '{key}' must be an integer, got {res[key]!r}")
        problem = check_box(res["bbox"])
        if problem:
            raise EvaluationInputError(f"{source}: result #{i} (image {res['image_id']}): {problem}")
        if not is_number(res["score"]):
            raise EvaluationInputError(f"{source}: result #{i}: 'score' must be a finite number, got {res['score']!r}")
        if not 0 <= res["score"] <= 1:
            raise EvaluationInputError(f"{source}: result #{i}: 'score' must be in [0, 1], got {res['score']!r}")
    try:  # every record is valid: only ids beyond 64 bits can get here
        return Detections(
            np.array([int(r["image_id"]) for r in data], dtype=np.int64),
            np.array([int(r["category_id"]) for r in data], dtype=np.int64),
            np.array([[float(v) for v in r["bbox"]] for r in data], dtype=np.float64).reshape(-1, 4),
            np.array([float(r["score"]) for r in data], dtype=np.float64),
        )
    except OverflowError as e:
        raise EvaluationInputError(f"{source}: an image_id or category_id does not fit in 64 bits ({e})") from e


def _check_arrays(source: str, dets: Detections) -> None:
    """Detections built from arrays: finite boxes with w, h >= 0 and scores in [0, 1]; errors name the first bad row."""
    bad_box = ~np.isfinite(dets.boxes_xywh).all(1) | (dets.boxes_xywh[:, 2:] < 0).any(1)
    bad_score = ~np.isfinite(dets.scores)
    out_of_range = ~bad_score & ((dets.scores < 0) | (dets.scores > 1))
    if bad_box.any():
        i = int(np.argmax(bad_box))
        problem = check_box(dets.boxes_xywh[i].tolist())
        raise EvaluationInputError(f"{source}: detection #{i} (image {dets.image_ids[i]}): {problem}")
    if bad_score.any():
        i = int(np.argmax(bad_score))
        raise EvaluationInputError(f"{source}: detection #{i}: 'score' must be a finite number, got {dets.scores[i]}")
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        raise EvaluationInputError(f"{source}: detection #{i}: 'score' must be in [0, 1], got {dets.scores[i]}")


def _check_ids(source: str, dets: Detections, gt: Mapping[str, Any]) -> None:
    known_images = np.array([int(img["id"]) for img in gt["images"]], dtype=np.int64)
    bad_images = np.unique(dets.image_ids[~np.isin(dets.image_ids, known_images)])
    if bad_images.size:
        raise EvaluationInputError(
            f"{source}: {bad_images.size} image id(s) not in the ground truth, e.g. {few(bad_images.tolist())}; "
            "check that the predictions were made on this annotation file's images"
        )
    known_cats = np.array([int(c["id"]) for c in gt["categories"]], dtype=np.int64)
    bad_cats = np.unique(dets.category_ids[~np.isin(dets.category_ids, known_cats)])
    if bad_cats.size:
        raise EvaluationInputError(
            f"{source}: unknown category id(s) {few(bad_cats.tolist())}; valid ids are "
            f"{few(known_cats.tolist(), 10)}. "
            "Category ids must be the dataset's original COCO ids (dataset.cat_ids[label]), not 0-based labels"
        )
