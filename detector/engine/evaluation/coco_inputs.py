"""Read and check COCO ground truth before pycocotools / faster-coco-eval see it, with errors that name the problem.

A bad file gives one clear :class:`EvaluationInputError` (which record, which field) instead of an
``AssertionError`` or ``KeyError`` from inside those libraries. The checks run over whole NumPy columns; only when a
column fails is the record-by-record walk run, to name the first offending record in file order. Result lists
(predictions) are checked in :mod:`detector.engine.evaluation.coco_results`.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np

from detector.coco_fields import annotation_problem, bbox_type_problem, describe_annotation, is_id, skipped_message


class EvaluationInputError(ValueError):
    """Ground truth or predictions given to the evaluator are unreadable, malformed or inconsistent."""


class EvaluationWarning(UserWarning):
    """Evaluation ran but the result needs attention (no predictions, no ground truth, skipped annotations,
    engine fallback)."""


def few(ids: Iterable[Any], n: int = 5) -> str:
    """``[a, b, c, d, e] (and K more)``: a few sorted values for an error message."""
    ids = sorted(ids)
    more = f" (and {len(ids) - n} more)" if len(ids) > n else ""
    return f"{ids[:n]}{more}"


def read_json(path: str | Path, what: str) -> Any:
    """Load a JSON file; missing/unreadable/invalid files raise :class:`EvaluationInputError` naming ``path``."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationInputError(f"{what} file not found: {path} (check the path)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise EvaluationInputError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise EvaluationInputError(f"{path}: cannot read {what} file: {e}") from e


# ---------------------------------------------------------------- one value (the record-by-record walk)
def check_box(bbox: Any) -> str | None:
    """None if ``bbox`` is 4 finite numbers with w, h >= 0, else what is wrong."""
    problem = bbox_type_problem(bbox)
    if problem:
        return problem
    if bbox[2] < 0 or bbox[3] < 0:
        return f"'bbox' {list(bbox)} has a negative width/height (COCO boxes are [x, y, w, h], not [x1, y1, x2, y2])"
    return None


# ---------------------------------------------------------------- whole columns (the fast path)
def _all_types(values: Iterable[Any], ok: type | tuple[type, ...]) -> bool:
    """Every value is an instance of ``ok`` and none is a bool (checked once per distinct type)."""
    return all(issubclass(t, ok) and not issubclass(t, (bool, np.bool_)) for t in set(map(type, values)))


def id_column(values: Sequence[Any]) -> np.ndarray | None:
    """int64 array of integer ids, or None when any value is not an int (or does not fit in 64 bits)."""
    if not _all_types(values, Integral):
        return None
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values))
    except OverflowError:
        return None


def box_column(boxes: Sequence[Any]) -> np.ndarray | None:
    """float64 ``[N, 4]`` of boxes that are lists/tuples of 4 finite numbers with w, h >= 0; else None."""
    if not _all_types(boxes, (list, tuple)) or set(map(len, boxes)) - {4}:
        return None
    if not _all_types(itertools.chain.from_iterable(boxes), Real):
        return None
    arr = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    if not np.isfinite(arr).all() or (arr[:, 2:] < 0).any():
        return None
    return arr


def number_column(values: Sequence[Any]) -> np.ndarray | None:
    """float64 array of finite numbers, or None."""
    if not _all_types(values, Real):
        return None
    arr = np.fromiter(values, dtype=np.float64, count=len(values))
    return arr if np.isfinite(arr).all() else None


def column(records: Sequence[Mapping[str, Any]], key: str) -> list[Any] | None:
    """``[r[key] for r in records]``, or None when a record is not a mapping or lacks ``key``."""
    try:
        return [r[key] for r in records]
    except (KeyError, TypeError, IndexError):
        return None


# ---------------------------------------------------------------- ground truth
def _source_and_data(coco_gt: Any) -> tuple[str, Any]:
    if isinstance(coco_gt, (str, Path)):
        return str(coco_gt), read_json(coco_gt, "annotation")
    if isinstance(coco_gt, Mapping):
        return "ground-truth dict", coco_gt
    if isinstance(getattr(coco_gt, "dataset", None), Mapping):
        return "ground-truth COCO object", coco_gt.dataset
    raise EvaluationInputError(
        f"ground truth must be a COCO object, a dict or a path to a COCO JSON, got {type(coco_gt).__name__}"
    )


def load_gt_dataset(coco_gt: Any) -> dict[str, Any]:
    """Ground truth as a checked COCO dict ``{"images", "annotations", "categories"}``.

    ``coco_gt``: a ``COCO`` object (pycocotools or faster-coco-eval; its ``.dataset`` is used), a dict or a JSON path.
    Annotations without ``area`` get ``w * h`` of their box and without ``iscrowd`` get 0 (copies; the input is not
    modified). Image/annotation/category dicts are otherwise shared with the input.
    Annotations whose fields have the wrong type (:func:`detector.coco_fields.annotation_problem`: a string in the
    bbox, a non-integer id, ...) are left out with one :class:`EvaluationWarning` that counts them and names the
    first few, as the dataset and the dataset doctor do; anything else inconsistent raises
    :class:`EvaluationInputError`.
    """
    source, data = _source_and_data(coco_gt)
    if isinstance(data, list):
        raise EvaluationInputError(
            f"{source}: expected a COCO annotation dict with 'images', 'annotations', 'categories', got a list "
            "(is this a predictions file? pass it as the predictions)"
        )
    if not isinstance(data, Mapping):
        raise EvaluationInputError(f"{source}: expected a COCO annotation dict, got {type(data).__name__}")
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise EvaluationInputError(f"{source}: missing or invalid '{key}' (a list is required in a COCO file)")
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise EvaluationInputError(f"{source}: 'annotations' must be a list")
    if not data["categories"]:
        raise EvaluationInputError(f"{source}: 'categories' is empty; nothing can be evaluated")
    image_ids = _entry_ids(source, data, "images")
    cat_ids = _entry_ids(source, data, "categories")
    if not _annotations_ok(annotations, image_ids, cat_ids):
        annotations = _walk_annotations(source, annotations, set(image_ids.tolist()), set(cat_ids.tolist()))
    anns = [ann if "area" in ann and "iscrowd" in ann else _with_area_and_iscrowd(ann) for ann in annotations]
    return {**data, "annotations": anns}


def _with_area_and_iscrowd(ann: Mapping[str, Any]) -> dict[str, Any]:
    out = {**ann}
    out.setdefault("area", float(ann["bbox"][2]) * float(ann["bbox"][3]))
    out.setdefault("iscrowd", 0)
    return out


def _entry_ids(source: str, data: Mapping[str, Any], key: str) -> np.ndarray:
    """Unique integer ids of ``data[key]`` (images or categories), in order; errors name the entry."""
    entries = data[key]
    ids = column(entries, "id") if _all_types(entries, Mapping) else None
    arr = id_column(ids) if ids is not None else None
    if arr is None:
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not is_id(entry.get("id")):
                raise EvaluationInputError(f"{source}: {key}[{i}] has no integer 'id'")
        arr = np.array([int(e["id"]) for e in entries], dtype=np.int64)  # ints beyond 64 bits: OverflowError
    if len(np.unique(arr)) < len(arr):
        seen: set[int] = set()
        for i in arr.tolist():  # the first repeated id, in file order
            if i in seen:
                raise EvaluationInputError(f"{source}: duplicate id {i} in '{key}'; ids must be unique")
            seen.add(i)
    return arr


def _annotations_ok(annotations: list[Any], image_ids: np.ndarray, cat_ids: np.ndarray) -> bool:
    """True when every annotation passes every check (whole columns at once)."""
    if not _all_types(annotations, Mapping):
        return False
    cols: dict[str, list[Any]] = {}
    for key in ("id", "image_id", "category_id", "bbox"):
        values = column(annotations, key)
        if values is None:
            return False
        cols[key] = values
    ann_ids, img, cat = (id_column(cols[k]) for k in ("id", "image_id", "category_id"))
    if ann_ids is None or img is None or cat is None or box_column(cols["bbox"]) is None:
        return False
    areas = [a["area"] for a in annotations if "area" in a]
    crowd = [a["iscrowd"] for a in annotations if "iscrowd" in a]
    crowd_ok = all(issubclass(t, Integral) for t in set(map(type, crowd))) and set(crowd) <= {0, 1}
    if number_column(areas) is None or not crowd_ok:
        return False
    return bool(
        len(np.unique(ann_ids)) == len(ann_ids) and np.isin(img, image_ids).all() and np.isin(cat, cat_ids).all()
    )


def _walk_annotations(source: str, annotations: list[Any], image_ids: set, cat_ids: set) -> list[Any]:
    """Check record by record: annotations with fields of the wrong type are left out (one warning counts them);
    raise :class:`EvaluationInputError` for the first otherwise bad annotation (in file order). Returns the kept."""
    ann_ids: set = set()
    kept, skipped = [], []
    for i, ann in enumerate(annotations):
        where = f"{source}: annotations[{i}]"
        if not isinstance(ann, Mapping):
            raise EvaluationInputError(f"{where} is a {type(ann).__name__}, expected a dict")
        missing = [k for k in ("id", "image_id", "category_id", "bbox") if k not in ann]
        if missing:
            raise EvaluationInputError(f"{where} (id {ann.get('id')}) misses key(s) {missing}")
        problem = annotation_problem(ann)
        if problem:
            skipped.append(f"{describe_annotation(ann)}: {problem}")
            continue
        kept.append(ann)
        where = f"{source}: annotation id {ann['id']}"
        if ann["id"] in ann_ids:
            raise EvaluationInputError(f"{where} is duplicated; annotation ids must be unique")
        ann_ids.add(ann["id"])
        if ann["image_id"] not in image_ids:
            raise EvaluationInputError(f"{where} refers to image_id {ann['image_id']}, which is not in 'images'")
        if ann["category_id"] not in cat_ids:
            raise EvaluationInputError(f"{where} refers to category_id {ann['category_id']}, not in 'categories'")
        problem = check_box(ann["bbox"])
        if problem:
            raise EvaluationInputError(f"{where} (image {ann['image_id']}): {problem}")
    if skipped:
        warnings.warn(skipped_message(source, skipped, "ground-truth annotation(s)"), EvaluationWarning, stacklevel=4)
    return kept
