"""Annotations with fields of the wrong type: the doctor reports them, the dataset and the evaluator's ground truth
skip them, all three count the same ones, and nothing crashes later (it used to at the first validation)."""

import json
import warnings

import cv2
import numpy as np
import pytest

from detector.cli.check_dataset import main as check_main
from detector.data import CocoDetection, DatasetWarning, check_coco
from detector.engine.evaluation.evaluator import EvaluationWarning, coco_evaluate
from tests.helpers import write_coco

BAD = [  # (bbox, other fields): each one is skipped, named by its annotation id
    ([10, 10, "20", 20], {}),
    ([10, 10, True, 20], {}),
    (None, {}),
    ([10, 10, float("nan"), 20], {}),
    ([10, 10, 20], {}),
    ([10, 10, 20, 20], {"category_id": "1"}),
    ([10, 10, 20, 20], {"image_id": 1.0}),
]


@pytest.fixture
def bad_set(tmp_path):
    """2 images (64x48); annotations 1 and 2 fine, 11..17 of the wrong type (all on image 1)."""
    img_dir = tmp_path / "images"
    img_dir.mkdir()
    for i in (1, 2):
        cv2.imwrite(str(img_dir / f"{i}.png"), np.full((48, 64, 3), 50 * i, np.uint8))
    images = [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 48} for i in (1, 2)]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "area": 400, "iscrowd": 0},
        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [30, 10, 16, 12], "area": 192, "iscrowd": 0},
    ]
    for k, (bbox, other) in enumerate(BAD):
        anns.append({"id": 11 + k, "image_id": 1, "category_id": 1, "bbox": bbox, "iscrowd": 0, **other})
    return write_coco(tmp_path, images, anns, [{"id": 1, "name": "thing"}]), img_dir


def test_doctor_reports_them_and_check_dataset_lists_them(bad_set, capsys):
    ann, img_dir = bad_set
    report = check_coco(ann, img_dir, cache=False)
    assert not report.fatal  # a string category_id used to be a fatal "unknown category"
    assert report.count("annotation_invalid") == len(BAD)
    examples = report.findings["annotation_invalid"].examples
    assert examples[0] == (
        "annotation id 11 (image id 1): 'bbox' must be 4 finite numbers [x, y, w, h], got [10, 10, '20', 20]"
    )
    assert check_main(["--ann", str(ann), "--images", str(img_dir), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert f"annotation_invalid: {len(BAD)}  -> annotation dropped" in out and "annotation id 12" in out


def test_dataset_skips_them_with_one_counted_warning(bad_set):
    ann, img_dir = bad_set
    with pytest.warns(DatasetWarning) as caught:
        ds = CocoDetection(ann, img_dir)
    messages = [str(w.message) for w in caught if "wrong type" in str(w.message)]
    assert len(messages) == 1
    assert f"skipped {len(BAD)} annotation(s) whose fields have the wrong type" in messages[0]
    assert "annotation id 11 (image id 1): 'bbox' must be 4 finite numbers" in messages[0]
    assert "... and 4 more" in messages[0]
    assert [a["id"] for a in ds.coco.dataset["annotations"]] == [1, 2]
    assert [len(r.labels) for r in ds.records] == [1, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what the dataset hands to evaluation is clean: no further warning
        result = coco_evaluate(ds.coco, [{"image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "score": 0.9}])
    assert result.per_class[0]["num_gt"] == 2


def test_evaluator_ground_truth_skips_the_same_ones(bad_set):
    ann, _ = bad_set
    preds = [{"image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 20], "score": 0.9}]
    with pytest.warns(EvaluationWarning, match=rf"skipped {len(BAD)} ground-truth annotation\(s\)") as caught:
        result = coco_evaluate(ann, preds)  # the file itself, as tools/eval.py --gt reads it
    assert "annotation id 11 (image id 1)" in str(caught[0].message)
    data = json.loads(ann.read_text())
    data["annotations"] = data["annotations"][:2]
    clean = coco_evaluate(data, preds)
    assert result.stats == clean.stats and result.per_class[0]["num_gt"] == 2
    assert result["AP50"] == pytest.approx(0.5, abs=0.01)  # 1 of 2 boxes found
