"""detector.engine.evaluation.errors.breakdown: the TIDE-style error types and the AP50 each one costs, on hand-built
cases with AP50 computed by hand, a mixed case checked against pycocotools on literally fixed inputs, and random data.

AP50 by hand: per category, detections in score order give precision p_i = TP_i / i and recall r_i = TP_i / N_GT;
the precision envelope (max to the right) is read at the 101 recall thresholds 0, 0.01, ..., 1 (the first detection
with recall >= the threshold; 0 past the last one) and averaged; AP50 is the mean over categories with GT.
"""

from __future__ import annotations

import copy
import random

import pytest

from detector.engine.evaluation.coco_inputs import EvaluationInputError
from detector.engine.evaluation.errors.breakdown import (
    ERROR_TYPES,
    ErrorBreakdown,
    error_breakdown,
    format_breakdown,
    label_errors,
)
from detector.engine.evaluation.evaluator import coco_evaluate
from tests.helpers import make_gt, make_predictions

A, B = 1, 2  # category ids


def coco(*boxes: tuple[int, list[float]], crowd: tuple[tuple[int, list[float]], ...] = ()) -> dict:
    """One 100x100 image (id 1) with GT boxes ``(category id, [x, y, w, h])`` and crowd regions; categories 1, 2."""
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": c, "bbox": box, "area": box[2] * box[3], "iscrowd": 0}
        for i, (c, box) in enumerate(boxes)
    ]
    anns += [
        {"id": 100 + i, "image_id": 1, "category_id": c, "bbox": box, "area": box[2] * box[3], "iscrowd": 1}
        for i, (c, box) in enumerate(crowd)
    ]
    cats = [{"id": A, "name": "a"}, {"id": B, "name": "b"}]
    return {"images": [{"id": 1, "width": 100, "height": 100}], "annotations": anns, "categories": cats}


def det(category: int, box: list[float], score: float) -> dict:
    return {"image_id": 1, "category_id": category, "bbox": box, "score": score}


def assert_alone(b: ErrorBreakdown, kind: str, count: int, ap50: float, dap: float) -> None:
    """``kind`` is the only error type, with ``count`` cases and ``dap``; base AP50 ``ap50``."""
    assert b.ap50 == pytest.approx(ap50, abs=1e-12)
    assert b.counts == {k: count if k == kind else 0 for k in ERROR_TYPES}
    assert b.dap == pytest.approx({k: dap if k == kind else 0.0 for k in ERROR_TYPES}, abs=1e-12)


BOX_A, BOX_B = [0, 0, 10, 10], [20, 0, 10, 10]  # two GT boxes far apart (IoU 0)


def test_background_error_alone() -> None:
    """GT a: A, B. Detections: a far from both (0.9, IoU 0: bkg), A (0.8, TP), B (0.7, TP).
    Base: p = [0, 1/2, 2/3], r = [0, 1/2, 1]; envelope 2/3 everywhere -> AP50 = 2/3.
    Fixed (the bkg detection removed): p = [1, 1] -> 1. dAP bkg = 1/3."""
    gt = coco((A, BOX_A), (A, BOX_B))
    b = error_breakdown(gt, [det(A, [50, 50, 10, 10], 0.9), det(A, BOX_A, 0.8), det(A, BOX_B, 0.7)])
    assert_alone(b, "bkg", 1, 2 / 3, 1 / 3)


def test_duplicate_error_alone() -> None:
    """GT a: A, B. Detections: A (0.9, TP), A shifted 1 px (0.8, IoU 90/110 with the taken A: dupe), B (0.7, TP).
    Base: p = [1, 1/2, 2/3], r = [1/2, 1/2, 1]; envelope [1, 2/3, 2/3]: thresholds 0..0.50 read 1 (51 of them),
    0.51..1 read 2/3 (50) -> AP50 = (51 + 50 * 2/3) / 101. Fixed (dupe removed): 1. dAP dupe = 1 - AP50."""
    gt = coco((A, BOX_A), (A, BOX_B))
    b = error_breakdown(gt, [det(A, BOX_A, 0.9), det(A, [1, 0, 10, 10], 0.8), det(A, BOX_B, 0.7)])
    ap50 = (51 + 50 * 2 / 3) / 101
    assert_alone(b, "dupe", 1, ap50, 1 - ap50)


def test_localisation_error_alone() -> None:
    """GT a: A, B. Detections: A (0.9, TP), a 10x4 box on B (0.8, IoU 40/100 = 0.4 with B: loc, and B is not
    missed: the loc error points at it). Base: p = [1, 1/2], r = [1/2, 1/2] -> thresholds 0..0.50 read 1 -> AP50 =
    51/101. Fixed (the box set to B's): two TPs -> 1. dAP loc = 50/101."""
    gt = coco((A, BOX_A), (A, BOX_B))
    b = error_breakdown(gt, [det(A, BOX_A, 0.9), det(A, [20, 0, 10, 4], 0.8)])
    assert_alone(b, "loc", 1, 51 / 101, 50 / 101)


def test_classification_error_alone() -> None:
    """GT: A of a, B of b. Detections: a on A (0.9, TP), a on B (0.8, IoU 1 with a GT of b: cls; B not missed).
    Base: class a p = [1, 1/2], r = [1, 1] -> 1; class b no detection -> 0; AP50 = 1/2.
    Fixed (relabelled b): both classes 1 -> 1. dAP cls = 1/2."""
    gt = coco((A, BOX_A), (B, BOX_B))
    b = error_breakdown(gt, [det(A, BOX_A, 0.9), det(A, BOX_B, 0.8)])
    assert_alone(b, "cls", 1, 1 / 2, 1 / 2)


def test_both_error_alone() -> None:
    """GT: A of a, B of b. Detections: a 10x4 on B (0.95, IoU 0.4 with a GT of b: both), a on A (0.9, TP),
    b on B (0.85, TP). Base: class a p = [0, 1/2], r = [0, 1] -> envelope 1/2 -> 1/2; class b 1; AP50 = 3/4.
    Fixed (the both detection removed): 1. dAP both = 1/4."""
    gt = coco((A, BOX_A), (B, BOX_B))
    b = error_breakdown(gt, [det(A, [20, 0, 10, 4], 0.95), det(A, BOX_A, 0.9), det(B, BOX_B, 0.85)])
    assert_alone(b, "both", 1, 3 / 4, 1 / 4)


def test_missed_gt_alone() -> None:
    """GT a: A, B. Detection: A (0.9, TP); B has no detection near it: miss. Base: p = [1], r = [1/2] -> 51/101.
    Fixed (B taken out of the GT count): r = [1] -> 1. dAP miss = 50/101."""
    b = error_breakdown(coco((A, BOX_A), (A, BOX_B)), [det(A, BOX_A, 0.9)])
    assert_alone(b, "miss", 1, 51 / 101, 50 / 101)


def mixed_case() -> tuple[dict, list[dict], dict[str, list[int]]]:
    """All six error types in one image, a crowd region of a, and the detections of each type (indices)."""
    gt = coco(
        (A, [0, 0, 10, 10]),  # 1: TP
        (A, [20, 0, 10, 10]),  # 2: the loc error points at it
        (B, [40, 0, 10, 10]),  # 3: the cls error points at it
        (B, [60, 0, 10, 10]),  # 4: TP (the both error overlaps it)
        (A, [80, 0, 10, 10]),  # 5: missed
        (A, [0, 15, 10, 10]),  # 6: TP, ranked last (so that the false positives of a before it cost AP)
        crowd=((A, [0, 50, 40, 40]),),
    )
    dets = [
        det(A, [0, 0, 10, 10], 0.9),  # 0 TP on 1
        det(B, [0, 30, 5, 5], 0.88),  # 1 bkg
        det(A, [1, 0, 10, 10], 0.85),  # 2 dupe of 1 (IoU 0.82)
        det(A, [20, 0, 10, 4], 0.8),  # 3 loc on 2 (IoU 0.4)
        det(A, [40, 0, 10, 10], 0.75),  # 4 cls on 3 (IoU 1, category b)
        det(A, [60, 0, 10, 4], 0.7),  # 5 both on 4 (IoU 0.4, category b)
        det(B, [60, 0, 10, 10], 0.65),  # 6 TP on 4
        det(B, [5, 55, 10, 10], 0.6),  # 7 bkg: the crowd region is of category a, crowd boxes are no GT for errors
        det(A, [5, 55, 10, 10], 0.95),  # 8 inside the crowd region of a: ignored (as pycocotools), no error
        det(A, [0, 15, 10, 10], 0.5),  # 9 TP on 6
    ]
    kinds = {"cls": [4], "loc": [3], "both": [5], "dupe": [2], "bkg": [1, 7]}
    return gt, dets, kinds


def ap50(gt: dict, dets: list[dict]) -> float:
    return coco_evaluate(gt, dets, engine="pycocotools")["AP50"]


def test_mixed_case_counts_and_each_fix_equals_pycocotools_on_the_fixed_input() -> None:
    """Each dAP is what pycocotools gives once that type is fixed by hand in the input (no fix conflicts here)."""
    gt, dets, kinds = mixed_case()
    b = error_breakdown(gt, dets)
    assert b.counts == {"cls": 1, "loc": 1, "both": 1, "dupe": 1, "bkg": 2, "miss": 1}
    labels = label_errors(gt, dets)
    assert labels.detections == ["tp", "bkg", "dupe", "loc", "cls", "both", "tp", "bkg", "ignored", "tp"]
    assert labels.missed == [5]
    assert b.ap50 == ap50(gt, dets)
    fixed = {k: [d for i, d in enumerate(dets) if i not in kinds[k]] for k in ("both", "dupe", "bkg")}
    fixed["cls"] = copy.deepcopy(dets)
    fixed["cls"][4]["category_id"] = B
    fixed["loc"] = copy.deepcopy(dets)
    fixed["loc"][3]["bbox"] = [20, 0, 10, 10]
    no_missed = copy.deepcopy(gt)
    no_missed["annotations"] = [a for a in gt["annotations"] if a["id"] != 5]
    expected = {k: ap50(gt, fixed[k]) - b.ap50 for k in fixed} | {"miss": ap50(no_missed, dets) - b.ap50}
    assert all(v > 0.005 for v in expected.values())  # every fix matters in this case
    assert b.dap == pytest.approx(expected, abs=1e-12)
    assert sum(b.dap.values()) != pytest.approx(1 - b.ap50)


def test_a_classification_error_that_outscores_the_gts_true_positive_takes_its_place() -> None:
    """The paper's oracle ("if a duplicate would be made, suppress the lower scoring detection"; tidecv instead
    drops the error when its GT is already matched, dAP 0 here). GT: A of a. Detections: b on A (0.9: cls),
    a far away (0.7: bkg), a on A (0.6: TP). Base: class a p = [0, 1/2], r = [0, 1] -> 1/2 (b has no GT).
    Fixed cls: the 0.9 one becomes the TP of A, the 0.6 TP is dropped: class a p = [1, 1/2], r = [1, 1] -> 1."""
    gt = coco((A, BOX_A))
    b = error_breakdown(gt, [det(B, BOX_A, 0.9), det(A, [50, 50, 10, 10], 0.7), det(A, BOX_A, 0.6)])
    assert b.counts == {"cls": 1, "loc": 0, "both": 0, "dupe": 0, "bkg": 1, "miss": 0}
    assert b.ap50 == pytest.approx(1 / 2) and b.dap["cls"] == pytest.approx(1 / 2)


def test_two_classification_errors_on_one_gt_fix_only_the_higher_one() -> None:
    """GT a: A, B. Detections: b on A (0.9) and b on A, 1 px lower (0.8; IoU 0.9): two cls errors on A; a on B
    (0.7, TP). Base: class a p = [1], r = [1/2] -> 51/101. Fixed cls: 0.9 becomes the TP of A and 0.8 is dropped
    (it would be its duplicate): class a p = [1, 1] -> 1, dAP 50/101. (Kept as a false positive, 0.8 would give
    p = [1, 1/2, 2/3] and AP50 (51 + 50 * 2/3) / 101 instead.)"""
    gt = coco((A, BOX_A), (A, BOX_B))
    b = error_breakdown(gt, [det(B, BOX_A, 0.9), det(B, [0, 0, 10, 9], 0.8), det(A, BOX_B, 0.7)])
    assert b.counts == {"cls": 2, "loc": 0, "both": 0, "dupe": 0, "bkg": 0, "miss": 0}
    assert b.dap["cls"] == pytest.approx(50 / 101, abs=1e-12)


def test_classification_goes_before_localisation_when_both_hold() -> None:
    """A detection of a exactly on a GT of b (IoU 1) that also overlaps a GT of a by 40/160 = 0.25 is a cls error
    (first in the paper's list; tidecv tests loc first). The GT of a is then missed (no loc error points at it)."""
    gt = coco((A, [0, 0, 10, 10]), (B, [6, 0, 10, 10]))
    b = error_breakdown(gt, [det(A, [6, 0, 10, 10], 0.9)])
    assert b.counts == {"cls": 1, "loc": 0, "both": 0, "dupe": 0, "bkg": 0, "miss": 1}
    assert label_errors(gt, [det(A, [6, 0, 10, 10], 0.9)]).missed == [1]


def test_thresholds_are_half_open_intervals() -> None:
    """IoU exactly bg_iou is loc (not bkg), exactly fg_iou with the taken GT is dupe (not loc): [t_b, t_f)."""
    gt = coco((A, [0, 0, 10, 10]))
    tp, on_bg, on_fg = det(A, [0, 0, 10, 10], 0.9), det(A, [0, 0, 1, 10], 0.8), det(A, [0, 0, 5, 10], 0.7)
    assert label_errors(gt, [tp, on_bg, on_fg]).detections == ["tp", "loc", "dupe"]  # IoU 0.1 and 0.5


@pytest.mark.parametrize("seed", [0, 1, 3, 5])
def test_base_ap_equals_pycocotools_and_removal_fixes_equal_pycocotools_on_random_data(seed: int) -> None:
    """Crowd regions, boxes out of all sizes, empty images, a category without GT, >100 detections on an image and
    scores with ties: the base AP50 (and AP75 with fg_iou=0.75) is pycocotools' to the last bit; bkg / dupe / both
    dropped and missed GT removed from the input give pycocotools' AP50 = AP50 + dAP."""
    gt = make_gt(seed, num_images=16)
    preds = make_predictions(gt, seed)
    for p in preds:
        p["score"] = round(p["score"], 1)  # many ties: the order among them must be pycocotools' too
    with pytest.warns(UserWarning, match=r"\d+ detection\(s\) beyond the 100 highest-scoring per image and category"):
        b = error_breakdown(gt, preds)
    assert b.ap50 == coco_evaluate(gt, preds, engine="pycocotools")["AP50"]
    with pytest.warns(UserWarning, match="beyond the 100"):
        assert error_breakdown(gt, preds, fg_iou=0.75).ap50 == coco_evaluate(gt, preds, engine="pycocotools")["AP75"]
    assert all(0.0 <= v <= 1.0 for v in b.dap.values()) and b.counts["miss"] > 0 and b.counts["dupe"] > 0

    first_image = gt["images"][0]["id"]  # the >100 image: a removal would let cut detections in; leave it out
    gt_rest = copy.deepcopy(gt)
    gt_rest["images"] = gt["images"][1:]
    gt_rest["annotations"] = [a for a in gt["annotations"] if a["image_id"] != first_image]
    preds_rest = [p for p in preds if p["image_id"] != first_image]
    b = error_breakdown(gt_rest, preds_rest)
    labels = label_errors(gt_rest, preds_rest)
    assert {k: labels.detections.count(k) for k in ERROR_TYPES[:-1]} == {k: b.counts[k] for k in ERROR_TYPES[:-1]}
    for kind in ("bkg", "dupe", "both"):
        kept = [p for p, label in zip(preds_rest, labels.detections, strict=True) if label != kind]
        assert ap50(gt_rest, kept) == pytest.approx(b.ap50 + b.dap[kind], abs=1e-12), kind
    no_missed = copy.deepcopy(gt_rest)
    no_missed["annotations"] = [a for a in gt_rest["annotations"] if a["id"] not in set(labels.missed)]
    assert len(labels.missed) == b.counts["miss"]
    assert ap50(no_missed, preds_rest) == pytest.approx(b.ap50 + b.dap["miss"], abs=1e-12)


def test_img_ids_restrict_the_breakdown_like_coco_evaluate() -> None:
    gt = make_gt(7)
    preds = make_predictions(gt, 7, crowded_image=False)
    ids = [img["id"] for img in gt["images"][3:9]]
    b = error_breakdown(gt, preds, img_ids=ids)
    assert b.ap50 == coco_evaluate(gt, preds, engine="pycocotools", img_ids=ids)["AP50"]
    labels = label_errors(gt, preds, img_ids=ids)
    outside = [p["image_id"] not in ids for p in preds]
    assert all(label == "skipped" for label, out in zip(labels.detections, outside, strict=True) if out)


def test_no_detections_miss_everything() -> None:
    """Every GT missed; fixing the misses leaves nothing to find, which counts as AP50 1 (dAP miss = 1)."""
    b = error_breakdown(coco((A, BOX_A), (B, BOX_B)), [])
    assert_alone(b, "miss", 2, 0.0, 1.0)


def test_bad_thresholds_and_ground_truth_without_boxes_are_errors() -> None:
    gt = coco((A, BOX_A))
    with pytest.raises(ValueError, match=r"need 0 < bg_iou <= fg_iou <= 1, got fg_iou=0.3, bg_iou=0.4"):
        error_breakdown(gt, [], fg_iou=0.3, bg_iou=0.4)
    with pytest.raises(ValueError, match="got fg_iou=0.5, bg_iou=0"):
        error_breakdown(gt, [], bg_iou=0)
    only_crowd = coco(crowd=((A, BOX_A),))
    with pytest.raises(EvaluationInputError, match="no non-crowd box in the evaluated images"):
        error_breakdown(only_crowd, [det(A, BOX_A, 0.9)])
    with pytest.raises(EvaluationInputError, match=r"unknown category id\(s\) \[9\]"):
        error_breakdown(gt, [det(9, BOX_A, 0.9)])
    with pytest.raises(EvaluationInputError, match=r"img_ids holds 1 id\(s\) not in the ground truth, e.g. \[5\]"):
        error_breakdown(gt, [], img_ids=[1, 5])


def test_format_breakdown_table() -> None:
    b = ErrorBreakdown(
        ap50=0.61234,
        dap={"cls": 0.0123, "loc": 0.04567, "both": 0.001, "dupe": 0.0, "bkg": 0.1, "miss": 0.03},
        counts={"cls": 12, "loc": 345, "both": 6, "dupe": 0, "bkg": 7890, "miss": 11},
    )
    assert format_breakdown(b).splitlines() == [
        "TIDE-style error breakdown: AP50 0.6123",
        "  type  error             count   dAP50",
        "  cls   classification       12  0.0123",
        "  loc   localisation        345  0.0457",
        "  both  cls + loc             6  0.0010",
        "  dupe  duplicate             0  0.0000",
        "  bkg   background         7890  0.1000",
        "  miss  missed GT            11  0.0300",
        "  count: detections with that error (miss: GT boxes); dAP50: AP50 gained by fixing that type alone",
        "  (the fixes overlap: the dAP50s do not add up to 1 - AP50; docs/ERRORS.md)",
    ]
    assert b.to_dict() == {"ap50": 0.61234, "dap": b.dap, "counts": b.counts, "rule": "paper"}


@pytest.mark.slow  # ~1 s: 60k detections
def test_large_input_runs_in_seconds() -> None:
    """3000 images, ~20k GT, ~60k detections: well under the time pycocotools takes (the bound is loose for CI)."""
    import time

    rng = random.Random(0)
    images, anns, preds = [], [], []
    for i in range(1, 3001):
        images.append({"id": i, "width": 640, "height": 480})
        for _ in range(rng.randint(0, 12)):
            x, y, w, h = rng.uniform(0, 500), rng.uniform(0, 350), rng.uniform(5, 140), rng.uniform(5, 130)
            c = rng.randint(1, 80)
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": c, "bbox": [x, y, w, h], "area": w * h})
            for _ in range(rng.randint(0, 4)):
                box = [x + rng.gauss(0, 6), y + rng.gauss(0, 6), w * rng.uniform(0.7, 1.3), h * rng.uniform(0.7, 1.3)]
                cat = c if rng.random() < 0.8 else rng.randint(1, 80)
                preds.append({"image_id": i, "category_id": cat, "bbox": box, "score": rng.random()})
    gt = {"images": images, "annotations": anns, "categories": [{"id": k, "name": str(k)} for k in range(1, 81)]}
    start = time.perf_counter()
    b = error_breakdown(gt, preds)
    assert time.perf_counter() - start < 20
    assert b.ap50 == coco_evaluate(gt, preds, engine="faster")["AP50"]
