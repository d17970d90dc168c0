"""coco_evaluate input checks: clear EvaluationInputError messages, empty predictions, engine choice."""

from __future__ import annotations

import json

import pytest

from detector.engine.evaluation.evaluator import STAT_KEYS, EvaluationInputError, EvaluationWarning, coco_evaluate
from tests.helpers import make_gt, make_predictions


@pytest.fixture()
def gt() -> dict:
    return make_gt(0, num_images=4)


def test_unknown_category_ids_listed(gt: dict) -> None:
    preds = [{"image_id": 10, "category_id": c, "bbox": [1, 1, 5, 5], "score": 0.5} for c in (0, 2, 3)]
    with pytest.raises(EvaluationInputError, match=r"unknown category id\(s\) \[0, 2\]") as e:
        coco_evaluate(gt, preds)
    assert "original COCO ids" in str(e.value) and "[1, 3, 7, 12]" in str(e.value)


def test_unknown_image_ids_listed(gt: dict) -> None:
    preds = [{"image_id": i, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5} for i in (10, 11, 99, 5, 6, 7, 8, 9)]
    with pytest.raises(EvaluationInputError, match=r"7 image id\(s\) not in the ground truth, e.g. \[5, 6, 7, 8, 9\]"):
        coco_evaluate(gt, preds)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"image_id": 10, "category_id": 1, "bbox": [1, 1, 5, 5]}, r"result #1 misses key\(s\) \['score'\]"),
        ({"image_id": 10, "category_id": 1, "bbox": [1, 1, 5], "score": 0.1}, r"result #1 \(image 10\): 'bbox' must"),
        ({"image_id": 10, "category_id": 1, "bbox": [9, 9, 2, -1], "score": 0.1}, r"negative width/height"),
        ({"image_id": "10", "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.1}, r"'image_id' must be an integer"),
        ({"image_id": 10, "category_id": 1, "bbox": [1, 1, 5, 5], "score": float("nan")}, r"'score' must be finite"),
        ([10, 1, 1, 1, 5, 5, 0.3], r"result #1 is a list, expected a dict"),
    ],
)
def test_malformed_results(gt: dict, result, message: str) -> None:
    ok = {"image_id": 10, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}
    with pytest.raises(EvaluationInputError, match=message.replace("must be finite", "must be a finite number")):
        coco_evaluate(gt, [ok, result])


def test_bad_files_name_the_file(gt: dict, tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[{"image_id": 1,')
    with pytest.raises(EvaluationInputError, match=r"broken\.json: invalid JSON at line 1"):
        coco_evaluate(gt, broken)
    with pytest.raises(EvaluationInputError, match=r"predictions file not found: .*nope\.json"):
        coco_evaluate(gt, tmp_path / "nope.json")
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(gt))
    with pytest.raises(EvaluationInputError, match="looks like an annotation file"):
        coco_evaluate(gt, gt_file)  # annotation file passed as predictions
    preds_file = tmp_path / "preds.json"
    preds_file.write_text(json.dumps(make_predictions(gt, 0)))
    with pytest.raises(EvaluationInputError, match=r"preds\.json: expected a COCO annotation dict .* got a list"):
        coco_evaluate(preds_file, [])  # predictions passed as ground truth


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("categories"), r"missing or invalid 'categories'"),
        (lambda d: d["annotations"][0].pop("bbox"), r"annotations\[0\] \(id 1\) misses key\(s\) \['bbox'\]"),
        (lambda d: d["annotations"][1].update(image_id=777), r"annotation id 2 refers to image_id 777"),
        (lambda d: d["annotations"][1].update(category_id=4), r"annotation id 2 refers to category_id 4"),
        (lambda d: d["annotations"][2].update(id=1), r"annotation id 1 is duplicated"),
        (lambda d: d["images"].append({"id": 10}), r"duplicate id 10 in 'images'"),
    ],
)
def test_bad_ground_truth(gt: dict, mutate, message: str) -> None:
    mutate(gt)
    with pytest.raises(EvaluationInputError, match=message):
        coco_evaluate(gt, [])


def test_gt_without_area_and_iscrowd_gets_box_area(gt: dict) -> None:
    preds = make_predictions(gt, 0)
    expected = coco_evaluate(
        {**gt, "annotations": [{**a, "area": a["bbox"][2] * a["bbox"][3], "iscrowd": 0} for a in gt["annotations"]]},
        preds,
    )
    for a in gt["annotations"]:
        del a["area"], a["iscrowd"]
    result = coco_evaluate(gt, preds)
    assert result.stats == pytest.approx(expected.stats, abs=1e-9)
    assert "area" not in gt["annotations"][0]  # the caller's dicts are left alone


@pytest.mark.parametrize("engine", ["auto", "faster", "pycocotools"])
def test_empty_predictions_give_zeros_and_warn(gt: dict, engine: str) -> None:
    with pytest.warns(EvaluationWarning, match="no predictions"):
        result = coco_evaluate(gt, [], engine=engine)
    assert result.stats == dict.fromkeys(STAT_KEYS, 0.0)
    assert result.precision.shape == (10, 101, 4, 4, 3)
    assert all(c["AP"] == 0.0 for c in result.per_class)


def test_predictions_only_outside_subset_count_as_empty(gt: dict) -> None:
    preds = [{"image_id": 10, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}]
    with pytest.warns(EvaluationWarning):
        result = coco_evaluate(gt, preds, img_ids=[20, 30])
    assert result["AP"] == 0.0 and result.num_images == 2
    with pytest.raises(EvaluationInputError, match=r"img_ids holds 1 id\(s\) not in the ground truth, e.g. \[31\]"):
        coco_evaluate(gt, preds, img_ids=[20, 31])


def test_engine_and_iou_type_arguments(gt: dict) -> None:
    with pytest.raises(ValueError, match="unknown evaluation engine 'fast'"):
        coco_evaluate(gt, [], engine="fast")
    with pytest.raises(ValueError, match="iou_type 'segm' is not supported"):
        coco_evaluate(gt, [], iou_type="segm")
    assert coco_evaluate(gt, make_predictions(gt, 0)).engine == "faster-coco-eval"  # auto prefers faster


def test_auto_falls_back_to_pycocotools_without_faster(gt: dict, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("faster_coco_eval"):
            raise ImportError("No module named 'faster_coco_eval'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    preds = make_predictions(gt, 0)
    with pytest.warns(EvaluationWarning, match="pycocotools"):
        result = coco_evaluate(gt, preds)
    assert result.engine == "pycocotools"
    with pytest.raises(ImportError, match="pip install faster-coco-eval"):
        coco_evaluate(gt, preds, engine="faster")
