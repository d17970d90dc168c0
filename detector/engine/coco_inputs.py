"""Read and check evaluation inputs: COCO ground truth and COCO result lists, with errors that name the problem.

Everything here runs before pycocotools / faster-coco-eval see the data, so a bad file gives one clear
:class:`EvaluationInputError` instead of an ``AssertionError`` or ``KeyError`` from inside those libraries.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

RESULT_KEYS = ("image_id", "category_id", "bbox", "score")
_RESULT_HELP = "each result needs image_id, category_id, bbox [x, y, w, h] in original pixels and score"


class EvaluationInputError(ValueError):
    """Ground truth or predictions given to the evaluator are unreadable, malformed or inconsistent."""


def _few(ids: Sequence[Any], n: int = 5) -> str:
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


def _is_id(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _check_box(bbox: Any) -> str | None:
    """None if ``bbox`` is 4 finite numbers with w, h >= 0, else what is wrong."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        return f"'bbox' must be 4 finite numbers [x, y, w, h], got {bbox!r}"
    if bbox[2] < 0 or bbox[3] < 0:
        return f"'bbox' {list(bbox)} has a negative width/height (COCO boxes are [x, y, w, h], not [x1, y1, x2, y2])"
    return None


def load_gt_dataset(coco_gt: Any) -> dict[str, Any]:
    """Ground truth as a checked COCO dict ``{"images", "annotations", "categories"}``.

    ``coco_gt``: a ``COCO`` object (pycocotools or faster-coco-eval; its ``.dataset`` is used), a dict or a JSON path.
    Annotations without ``area`` get ``w * h`` of their box and without ``iscrowd`` get 0 (copies; the input is not
    modified). Image/annotation/category dicts are otherwise shared with the input.
    """
    if isinstance(coco_gt, (str, Path)):
        source, data = str(coco_gt), read_json(coco_gt, "annotation")
    elif isinstance(coco_gt, Mapping):
        source, data = "ground-truth dict", coco_gt
    elif isinstance(getattr(coco_gt, "dataset", None), Mapping):
        source, data = "ground-truth COCO object", coco_gt.dataset
    else:
        raise EvaluationInputError(
            f"ground truth must be a COCO object, a dict or a path to a COCO JSON, got {type(coco_gt).__name__}"
        )
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

    image_ids, cat_ids = set(), set()
    for key, ids in (("images", image_ids), ("categories", cat_ids)):
        for i, entry in enumerate(data[key]):
            if not isinstance(entry, Mapping) or not _is_id(entry.get("id")):
                raise EvaluationInputError(f"{source}: {key}[{i}] has no integer 'id'")
            if entry["id"] in ids:
                raise EvaluationInputError(f"{source}: duplicate id {entry['id']} in '{key}'; ids must be unique")
            ids.add(entry["id"])

    anns, ann_ids = [], set()
    for i, ann in enumerate(annotations):
        where = f"{source}: annotations[{i}]"
        if not isinstance(ann, Mapping):
            raise EvaluationInputError(f"{where} is a {type(ann).__name__}, expected a dict")
        missing = [k for k in ("id", "image_id", "category_id", "bbox") if k not in ann]
        if missing:
            raise EvaluationInputError(f"{where} (id {ann.get('id')}) misses key(s) {missing}")
        where = f"{source}: annotation id {ann['id']}"
        if ann["id"] in ann_ids:
            raise EvaluationInputError(f"{where} is duplicated; annotation ids must be unique")
        ann_ids.add(ann["id"])
        if ann["image_id"] not in image_ids:
            raise EvaluationInputError(f"{where} refers to image_id {ann['image_id']}, which is not in 'images'")
        if ann["category_id"] not in cat_ids:
            raise EvaluationInputError(f"{where} refers to category_id {ann['category_id']}, not in 'categories'")
        problem = _check_box(ann["bbox"])
        if problem:
            raise EvaluationInputError(f"{where} (image {ann['image_id']}): {problem}")
        if "area" not in ann or "iscrowd" not in ann:
            ann = {**ann}
            ann.setdefault("area", float(ann["bbox"][2]) * float(ann["bbox"][3]))
            ann.setdefault("iscrowd", 0)
        anns.append(ann)
    return {**data, "annotations": anns}


def load_predictions(predictions: Any, gt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Checked copy of COCO results: fresh dicts with only ``RESULT_KEYS`` (ids as int, bbox/score as float).

    ``predictions``: list of result dicts or a JSON path. ``gt``: the dict from :func:`load_gt_dataset`.
    Raises :class:`EvaluationInputError` for a wrong structure, missing keys, bad values, unknown image or
    category ids (listing a few offending ids).
    """
    if isinstance(predictions, (str, Path)):
        source, data = str(predictions), read_json(predictions, "predictions")
    else:
        source, data = "predictions", predictions
    if isinstance(data, Mapping):
        hint = " (this looks like an annotation file)" if "annotations" in data else ""
        raise EvaluationInputError(f"{source}: expected a JSON list of result dicts, got an object{hint}")
    if not isinstance(data, (list, tuple)):
        raise EvaluationInputError(f"{source}: expected a list of result dicts, got {type(data).__name__}")
    out = []
    for i, res in enumerate(data):
        if not isinstance(res, Mapping):
            raise EvaluationInputError(f"{source}: result #{i} is a {type(res).__name__}, expected a dict")
        missing = [k for k in RESULT_KEYS if k not in res]
        if missing:
            raise EvaluationInputError(f"{source}: result #{i} misses key(s) {missing}; {_RESULT_HELP}")
        for key in ("image_id", "category_id"):
            if not _is_id(res[key]):
                raise EvaluationInputError(f"{source}: result #{i}: '{key}' must be an integer, got {res[key]!r}")
        problem = _check_box(res["bbox"])
        if problem:
            raise EvaluationInputError(f"{source}: result #{i} (image {res['image_id']}): {problem}")
        if not _is_number(res["score"]):
            raise EvaluationInputError(f"{source}: result #{i}: 'score' must be a finite number, got {res['score']!r}")
        out.append(
            {
                "image_id": int(res["image_id"]),
                "category_id": int(res["category_id"]),
                "bbox": [float(v) for v in res["bbox"]],
                "score": float(res["score"]),
            }
        )
    known_images = {int(img["id"]) for img in gt["images"]}
    bad_images = {r["image_id"] for r in out} - known_images
    if bad_images:
        raise EvaluationInputError(
            f"{source}: {len(bad_images)} image id(s) not in the ground truth, e.g. {_few(list(bad_images))}; "
            "check that the predictions were made on this annotation file's images"
        )
    known_cats = {int(c["id"]) for c in gt["categories"]}
    bad_cats = {r["category_id"] for r in out} - known_cats
    if bad_cats:
        raise EvaluationInputError(
            f"{source}: unknown category id(s) {_few(list(bad_cats))}; valid ids are {_few(list(known_cats), 10)}. "
            "Category ids must be the dataset's original COCO ids (dataset.cat_ids[label]), not 0-based labels"
        )
    return out
