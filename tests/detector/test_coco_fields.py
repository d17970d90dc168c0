"""The one field-type check of COCO annotations shared by the doctor, the dataset and the evaluator."""

import math

import pytest

from detector.coco_fields import annotation_problem, describe_annotation

GOOD = {"id": 7, "image_id": 2, "category_id": 1, "bbox": [10, 10.5, 20, 20], "area": 400, "iscrowd": 0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bbox": [10, 10, "20", 20]}, "'bbox' must be 4 finite numbers [x, y, w, h], got [10, 10, '20', 20]"),
        ({"bbox": [10, 10, True, 20]}, "got [10, 10, True, 20]"),
        ({"bbox": None}, "'bbox' must be 4 finite numbers [x, y, w, h], got None"),
        ({"bbox": [10, 10, math.nan, 20]}, "got [10, 10, nan, 20]"),
        ({"bbox": [10, 10, 20]}, "got [10, 10, 20]"),
        ({"bbox": "10 10 20 20"}, "got '10 10 20 20'"),
        ({"category_id": "1"}, "'category_id' must be an integer, got '1'"),
        ({"image_id": 2.0}, "'image_id' must be an integer, got 2.0"),
        ({"id": None}, "'id' must be an integer, got None"),
        ({"image_id": False}, "'image_id' must be an integer, got False"),
        ({"area": "400"}, "'area' must be a finite number, got '400'"),
        ({"iscrowd": 2}, "'iscrowd' must be 0 or 1, got 2"),
    ],
)
def test_wrong_field_types_are_named(change, message):
    assert message in annotation_problem({**GOOD, **change})


def test_good_annotations_pass():
    assert annotation_problem(GOOD) is None
    assert annotation_problem({k: v for k, v in GOOD.items() if k not in ("area", "iscrowd")}) is None
    assert annotation_problem({**GOOD, "iscrowd": 1, "bbox": (0, 0, 0, 0)}) is None  # size is the doctor's business
    assert annotation_problem([1, 2]) == "expected an object, got list"
    assert describe_annotation({**GOOD, "id": "x7"}) == "annotation id 'x7' (image id 2)"
