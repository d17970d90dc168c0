"""coco_evaluate against the pycocotools reference on crafted ground truth / predictions (both engines)."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detector.engine.evaluation.evaluator import STAT_KEYS, EvalResult, coco_evaluate
from tests.helpers import make_gt, make_predictions


def reference(gt: dict, preds: list[dict], img_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Plain pycocotools on deep copies: stats [12] and precision [T, R, K, A, M]."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(preds)), "bbox")
        if img_ids is not None:
            ev.params.imgIds = img_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats), ev.eval["precision"]


def assert_matches(result: EvalResult, ref_stats: np.ndarray, ref_precision: np.ndarray) -> None:
    ours = np.array([result.stats[k] for k in STAT_KEYS])
    np.testing.assert_allclose(ours, ref_stats, atol=1e-4, rtol=0)
    assert result.precision.shape == ref_precision.shape
    np.testing.assert_allclose(result.precision, ref_precision, atol=1e-4, rtol=0)
    for k, cls in enumerate(result.per_class):
        p = ref_precision[:, :, k, 0, -1]
        expected = p[p > -1].mean() if (p > -1).any() else -1.0
        assert cls["AP"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("engine", ["faster", "pycocotools"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pycocotools_on_crafted_sets(engine: str, seed: int) -> None:
    gt = make_gt(seed)
    preds = make_predictions(gt, seed)
    gt_before, preds_before = copy.deepcopy(gt), copy.deepcopy(preds)
    result = coco_evaluate(gt, preds, engine=engine)
    ref_stats, ref_precision = reference(gt_before, preds_before)
    assert_matches(result, ref_stats, ref_precision)
    expected_engine = "faster-coco-eval" if engine == "faster" else "pycocotools"
    assert result.engine == expected_engine
    assert preds == preds_before  # the caller's predictions are not modified
    assert 0.05 < result["AP50"] < 1.0  # a meaningful, non-trivial set
    assert result.num_predictions == len(preds)


def test_crowd_match_is_ignored_not_false_positive() -> None:
    """A detection on an iscrowd=1 region is neither TP nor FP: AP stays 1.0."""
    gt = {
        "images": [{"id": 1, "width": 200, "height": 200}],
        "categories": [{"id": 5, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 5, "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 5, "bbox": [100, 100, 90, 90], "area": 8100, "iscrowd": 1},
        ],
    }
    preds = [
        {"image_id": 1, "category_id": 5, "bbox": [10, 10, 50, 50], "score": 0.5},
        {"image_id": 1, "category_id": 5, "bbox": [110, 110, 40, 40], "score": 0.9},  # inside the crowd region
    ]
    for engine in ("faster", "pycocotools"):
        result = coco_evaluate(gt, preds, engine=engine)
        assert result["AP"] == pytest.approx(1.0)
        assert result["AR100"] == pytest.approx(1.0)
        assert result.per_class[0]["num_gt"] == 1  # crowd regions are not counted


def test_max_det_cut_lowers_recall_like_pycocotools() -> None:
    """120 GT boxes in one image, all detected: AR100 < 1 because only 100 detections count."""
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": [(i % 12) * 50, (i // 12) * 50, 40, 40], "area": 1600}
        for i in range(120)
    ]
    gt = {
        "images": [{"id": 1, "width": 600, "height": 500}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [{**a, "iscrowd": 0} for a in anns],
    }
    preds = [{"image_id": 1, "category_id": 1, "bbox": a["bbox"], "score": 1.0 - i / 1000} for i, a in enumerate(anns)]
    result = coco_evaluate(gt, preds, engine="faster")
    assert result["AR100"] == pytest.approx(100 / 120)
    assert result["AR10"] == pytest.approx(10 / 120)
    assert result["AR1"] == pytest.approx(1 / 120)
    assert_matches(result, *reference(gt, preds))


@pytest.mark.parametrize("engine", ["faster", "pycocotools"])
def test_img_ids_subset_and_gt_sources(engine: str, tmp_path) -> None:
    gt = make_gt(3)
    preds = make_predictions(gt, 3)
    subset = [img["id"] for img in gt["images"][::2]]
    ref_stats, ref_precision = reference(gt, preds, subset)
    path = tmp_path / "gt.json"
    path.write_text(__import__("json").dumps(gt))
    coco = COCO()
    coco.dataset = copy.deepcopy(gt)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    for source in (gt, str(path), coco):
        result = coco_evaluate(source, preds, engine=engine, img_ids=subset)
        assert_matches(result, ref_stats, ref_precision)
        assert result.num_images == len(subset)
    full = coco_evaluate(gt, preds, engine=engine)
    assert full["AP"] != pytest.approx(result["AP"])  # the subset really changed what was evaluated


def test_per_class_entries_and_dict_output() -> None:
    gt = make_gt(4)
    result = coco_evaluate(gt, make_predictions(gt, 4))
    assert [c["category_id"] for c in result.per_class] == [1, 3, 7, 12]
    assert [c["name"] for c in result.per_class] == ["person", "car", "train", "x"]
    assert result.per_class[-1]["AP"] == -1.0 and result.per_class[-1]["num_gt"] == 0  # no GT for id 12
    d = result.to_dict()
    assert set(STAT_KEYS) <= set(d) and d["per_class"][0]["category_id"] == 1
    lines = result.summary().splitlines()
    assert len(lines) == 12
    assert lines[0].startswith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ")
    assert lines[0].endswith(f"{result['AP']:0.3f}")
    assert "person" in result.per_class_table() and result.per_class_table().count("\n") == 4
