"""Predictions as arrays: Detections, the column-wise checks of result lists (same errors as the record walk),
and coco_evaluate giving the same numbers from arrays, result dicts and a predictions JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import detector.engine.evaluation.coco_results as coco_results
from detector.engine.evaluation.coco_inputs import load_gt_dataset
from detector.engine.evaluation.coco_results import load_predictions
from detector.engine.evaluation.evaluator import Detections, EvaluationInputError, coco_evaluate
from tests.helpers import make_gt, make_predictions

OK = {"image_id": 10, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}


@pytest.fixture()
def gt() -> dict:
    return make_gt(0, num_images=4)


def test_valid_results_are_checked_by_whole_columns(gt, monkeypatch) -> None:
    def no_walk(source, data):
        raise AssertionError("the record-by-record walk ran on valid results")

    monkeypatch.setattr(coco_results, "_walk", no_walk)
    results = [OK, {"image_id": np.int64(20), "category_id": 3, "bbox": (2.5, 3, np.float32(4), 0), "score": 1}]
    dets = load_predictions(results, load_gt_dataset(gt))
    assert dets.image_ids.tolist() == [10, 20] and dets.category_ids.tolist() == [1, 3]
    assert dets.boxes_xywh.tolist() == [[1, 1, 5, 5], [2.5, 3, 4, 0]] and dets.scores.tolist() == [0.5, 1.0]
    assert dets.image_ids.dtype == np.int64 and dets.boxes_xywh.dtype == np.float64


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**OK, "bbox": [True, 1, 5, 5]}, r"result #3 \(image 10\): 'bbox' must be 4 finite numbers"),
        ({**OK, "bbox": ["1", 1, 5, 5]}, r"result #3 \(image 10\): 'bbox' must be 4 finite numbers"),
        ({**OK, "bbox": [1, 1, 5, float("inf")]}, r"result #3 \(image 10\): 'bbox' must be 4 finite numbers"),
        ({**OK, "bbox": np.array([1, 1, 5, 5])}, r"result #3 \(image 10\): 'bbox' must be 4 finite numbers"),
        ({**OK, "bbox": [1, 1, 5, 5, 1]}, r"result #3 \(image 10\): 'bbox' must be 4 finite numbers"),
        ({**OK, "bbox": [1, 1, -5, 5]}, r"result #3 \(image 10\): 'bbox' \[1, 1, -5, 5\] has a negative width"),
        ({**OK, "image_id": True}, r"result #3: 'image_id' must be an integer, got True"),
        ({**OK, "image_id": 10.0}, r"result #3: 'image_id' must be an integer, got 10.0"),
        ({**OK, "category_id": None}, r"result #3: 'category_id' must be an integer, got None"),
        ({**OK, "score": "0.5"}, r"result #3: 'score' must be a finite number, got '0.5'"),
        ({**OK, "score": False}, r"result #3: 'score' must be a finite number, got False"),
        ({**OK, "score": 5.0}, r"result #3: 'score' must be in \[0, 1\], got 5\.0"),
        ({**OK, "score": -0.25}, r"result #3: 'score' must be in \[0, 1\], got -0\.25"),
        ({**OK, "score": 2}, r"result #3: 'score' must be in \[0, 1\], got 2$"),
        ({k: v for k, v in OK.items() if k != "bbox"}, r"result #3 misses key\(s\) \['bbox'\]"),
        ("not a dict", r"result #3 is a str, expected a dict"),
    ],
)
def test_the_first_bad_result_is_named_with_its_field(gt, bad, message) -> None:
    results = [OK, OK, OK, bad, {**OK, "score": float("nan")}]  # the first bad one (#3) is reported
    with pytest.raises(EvaluationInputError, match=message):
        coco_evaluate(gt, results)


def test_detections_arrays_are_checked_too(gt) -> None:
    good = Detections([10, 20], [1, 3], [[1, 1, 5, 5], [2, 2, 4, 4]], [0.5, 0.4])
    with pytest.raises(EvaluationInputError, match=r"detection #1 \(image 20\): 'bbox' must be 4 finite numbers"):
        coco_evaluate(gt, Detections([10, 20], [1, 3], [[1, 1, 5, 5], [2, np.nan, 4, 4]], [0.5, 0.4]))
    with pytest.raises(EvaluationInputError, match=r"detection #0 \(image 10\): 'bbox' .* negative width"):
        coco_evaluate(gt, Detections([10], [1], [[1, 1, -5, 5]], [0.5]))
    with pytest.raises(EvaluationInputError, match=r"detection #1: 'score' must be a finite number"):
        coco_evaluate(gt, Detections([10, 20], [1, 3], good.boxes_xywh, [0.5, np.inf]))
    with pytest.raises(EvaluationInputError, match=r"detection #1: 'score' must be in \[0, 1\], got 1\.5"):
        coco_evaluate(gt, Detections([10, 20], [1, 3], good.boxes_xywh, [0.5, 1.5]))
    with pytest.raises(EvaluationInputError, match=r"1 image id\(s\) not in the ground truth, e.g. \[99\]"):
        coco_evaluate(gt, Detections([10, 99], [1, 3], good.boxes_xywh, good.scores))
    with pytest.raises(EvaluationInputError, match=r"unknown category id\(s\) \[0\]"):
        coco_evaluate(gt, Detections([10, 20], [0, 3], good.boxes_xywh, good.scores))
    with pytest.raises(ValueError, match="column lengths differ"):
        Detections([10, 20], [1], good.boxes_xywh, good.scores)


@pytest.mark.parametrize("engine", ["faster", "pycocotools"])
def test_arrays_dicts_and_json_give_the_same_numbers(gt, tmp_path, engine) -> None:
    results = make_predictions(gt, 3)
    dets = load_predictions(results, load_gt_dataset(gt))
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(dets.to_results()))
    from_arrays = coco_evaluate(gt, dets, engine=engine)
    assert from_arrays.num_predictions == len(results) > 0
    assert coco_evaluate(gt, results, engine=engine).stats == from_arrays.stats
    assert coco_evaluate(gt, path, engine=engine).stats == from_arrays.stats
    subset = coco_evaluate(gt, dets, engine=engine, img_ids=[10, 20])
    assert subset.stats == coco_evaluate(gt, results, engine=engine, img_ids=[10, 20]).stats
    assert subset.num_predictions == int(np.isin(dets.image_ids, [10, 20]).sum())


def test_detections_from_model_outputs_and_back_to_results() -> None:
    outputs = [
        {
            "boxes_xyxy": torch.tensor([[10.0, 20.0, 40.0, 60.0], [0.0, 0.0, 1.23456, 2.0]]),
            "scores": torch.tensor([0.9, 0.123456789]),
            "labels": torch.tensor([1, 0]),
        },
        {"boxes_xyxy": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)},
    ]
    dets = Detections.from_outputs(outputs, torch.tensor([42, 7]), [3, 90])
    assert len(dets) == 2 and dets.image_ids.tolist() == [42, 42] and dets.category_ids.tolist() == [90, 3]
    assert dets.boxes_xywh.tolist() == [[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 1.235, 2.0]]
    both = Detections.concat([dets, dets.select(np.array([False, True]))])
    assert both.category_ids.tolist() == [90, 3, 3] and len(Detections.concat([])) == 0
    results = both.to_results()
    assert results[2] == {"image_id": 42, "category_id": 3, "bbox": [0.0, 0.0, 1.235, 2.0], "score": 0.12346}
    assert all(type(r["image_id"]) is int and type(r["score"]) is float for r in results)


def test_ground_truth_errors_keep_file_order(gt) -> None:
    gt["images"] += [{"id": 5}, {"id": 3}, {"id": 3}, {"id": 5}]
    with pytest.raises(EvaluationInputError, match=r"duplicate id 3 in 'images'"):
        coco_evaluate(gt, [])
    gt["images"] = gt["images"][:-4]
    gt["annotations"][1]["bbox"] = [1, 1, -2, 5]  # (a bbox of the wrong type is skipped with a warning instead)
    gt["annotations"][3]["image_id"] = 777
    with pytest.raises(EvaluationInputError, match=r"annotation id 2 \(image \d+\): 'bbox' \[1, 1, -2, 5\] has a neg"):
        coco_evaluate(gt, [])
