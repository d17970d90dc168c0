"""coco_evaluate against the pycocotools reference on crafted ground truth / predictions (both engines)."""

from __future__ import annotations

import contextlib
import copy
import io
import random

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detector.engine.evaluator import STAT_KEYS, EvalResult, coco_evaluate

CATEGORIES = [
    {"id": 1, "name": "person"},
    {"id": 3, "name": "car"},
    {"id": 7, "name": "train"},
    {"id": 12, "name": "x"},
]


def make_gt(seed: int, num_images: int = 12) -> dict:
    """COCO GT with small/medium/large boxes, crowd regions, empty images and non-contiguous category ids."""
    rng = random.Random(seed)
    images, anns = [], []
    for img_id in range(1, num_images + 1):
        w, h = rng.randint(200, 640), rng.randint(200, 640)
        images.append({"id": img_id * 10, "width": w, "height": h, "file_name": f"{img_id}.jpg"})
        if img_id % 4 == 0:
            continue  # empty image (background)
        for _ in range(rng.randint(1, 7)):
            side = rng.choice([rng.uniform(4, 30), rng.uniform(33, 95), rng.uniform(100, 190)])  # s / m / l
            bw, bh = side * rng.uniform(0.6, 1.0), side * rng.uniform(0.6, 1.0)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            crowd = int(rng.random() < 0.12)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id * 10,
                    "category_id": rng.choice([1, 3, 7]),  # category 12 has no GT at all
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh * rng.uniform(0.6, 1.0),  # segmentation area, not the box area
                    "iscrowd": crowd,
                }
            )
    return {"images": images, "annotations": anns, "categories": copy.deepcopy(CATEGORIES)}


def make_predictions(gt: dict, seed: int, crowded_image: bool = True) -> list[dict]:
    """Jittered true positives, duplicates, wrong classes, false positives (also on empty images), >100 on one."""
    rng = random.Random(seed + 1000)
    preds = []
    for ann in gt["annotations"]:
        x, y, w, h = ann["bbox"]
        for _ in range(rng.choice([0, 1, 1, 2])):
            j = rng.uniform(0.0, 0.25)
            box = [x + rng.uniform(-j, j) * w, y + rng.uniform(-j, j) * h, w * rng.uniform(1 - j, 1 + j), h]
            cat = ann["category_id"] if rng.random() < 0.85 else rng.choice([1, 3, 7, 12])
            preds.append({"image_id": ann["image_id"], "category_id": cat, "bbox": box, "score": rng.random()})
    for img in gt["images"]:
        for _ in range(rng.randint(0, 4)):  # false positives everywhere, including the empty images
            bw, bh = rng.uniform(5, 150), rng.uniform(5, 150)
            box = [rng.uniform(0, img["width"] - bw), rng.uniform(0, img["height"] - bh), bw, bh]
            preds.append(
                {"image_id": img["id"], "category_id": rng.choice([1, 3, 7]), "bbox": box, "score": rng.random() * 0.6}
            )
    if crowded_image:  # 150 detections on one image: the maxDets=100 cut matters
        img = gt["images"][0]
        for ann in [a for a in gt["annotations"] if a["image_id"] == img["id"]] * 50:
            x, y, w, h = ann["bbox"]
            box = [x + rng.uniform(-3, 3), y + rng.uniform(-3, 3), w, h]
            preds.append({"image_id": img["id"], "category_id": ann["category_id"], "bbox": box, "score": rng.random()})
    return preds


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
