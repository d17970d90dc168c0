"""Field types of one COCO annotation record: the one check shared by the dataset doctor, the dataset loader and the
evaluator's ground truth, so that all three skip (and count) exactly the same annotations.

A JSON value is taken as it is: ``"20"`` is not a number, ``true`` is not 1, ``3.0`` is not an id. No imports beyond
the standard library: torch-free paths (evaluation of a predictions file) use it too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

ID_KEYS = ("id", "image_id", "category_id")


def is_id(value: Any) -> bool:
    """An integer that is not a bool (JSON ``3``; not ``3.0``, ``"3"`` or ``true``)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite real number that is not a bool (JSON ``20`` or ``20.5``; not ``"20"``, ``true``, ``NaN``)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def bbox_type_problem(bbox: Any) -> str | None:
    """None when ``bbox`` is a list of 4 finite numbers, else what is wrong (its sign is not checked here)."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(is_number(v) for v in bbox):
        return f"'bbox' must be 4 finite numbers [x, y, w, h], got {bbox!r}"
    return None


def annotation_problem(ann: Any) -> str | None:
    """None when the annotation's fields have usable types, else the first problem, e.g. ``'bbox' must be 4 finite
    numbers [x, y, w, h], got [10, 10, '20', 20]``. Checks: ``id``, ``image_id``, ``category_id`` integers;
    ``bbox`` 4 finite numbers; ``area`` (when present) a finite number; ``iscrowd`` (when present) 0 or 1."""
    if not isinstance(ann, Mapping):
        return f"expected an object, got {type(ann).__name__}"
    for key in ID_KEYS:
        if not is_id(ann.get(key)):
            return f"'{key}' must be an integer, got {ann.get(key)!r}"
    problem = bbox_type_problem(ann.get("bbox"))
    if problem:
        return problem
    if "area" in ann and not is_number(ann["area"]):
        return f"'area' must be a finite number, got {ann['area']!r}"
    crowd = ann.get("iscrowd", 0)
    if not (isinstance(crowd, Integral) and crowd in (0, 1)):
        return f"'iscrowd' must be 0 or 1, got {crowd!r}"
    return None


def describe_annotation(ann: Any) -> str:
    """``annotation id 7 (image id 2)``: how messages name an annotation (whatever its fields hold)."""
    if not isinstance(ann, Mapping):
        return "annotation"
    return f"annotation id {ann.get('id')!r} (image id {ann.get('image_id')!r})"


def skipped_message(where: str, problems: list[str], what: str = "annotation(s)") -> str:
    """The one warning text for annotations skipped by :func:`annotation_problem`: ``where`` (file or split), how
    many, the first three ``problems`` (each from :func:`describe_annotation` + the problem) and what to do."""
    shown = "; ".join(problems[:3]) + (f"; ... and {len(problems) - 3} more" if len(problems) > 3 else "")
    return (
        f"{where}: skipped {len(problems)} {what} whose fields have the wrong type: {shown}. "
        "Fix them in the annotation file (tools/check_dataset.py lists them as annotation_invalid)."
    )
