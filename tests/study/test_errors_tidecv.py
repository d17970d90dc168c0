"""``--errors tidecv`` (detector.engine.evaluation.errors.tidecv) reproduces tidecv 1.0.1's main-error dAPs and counts.

The expected figures were computed by tidecv 1.0.1 itself (not installed here: no test depends on it), on the
mixtures of tests/study/tidecv_data.py, with::

    python3 -m venv /tmp/tide && /tmp/tide/bin/pip install tidecv==1.0.1 numpy pycocotools
    PYTHONPATH=. /tmp/tide/bin/python tests/study/tidecv_reference.py

(``TIDE().evaluate(datasets.COCO(gt), datasets.COCOResult(dets), mode=TIDE.BOX)``, ``run.ap``,
``run.fix_main_errors()``, ``run.count_errors()``; AP and dAP x 100 as tidecv prints them). The same comparison on
20 further random mixtures (seeds 20-39, 1-5 categories, 5-60 images) agreed to 1e-14.
"""

from __future__ import annotations

import warnings

import pytest

from detector.engine.evaluation.errors.breakdown import ERROR_TYPES, error_breakdown, format_breakdown
from detector.engine.evaluation.errors.tidecv import tidecv_breakdown
from tests.study.tidecv_data import MIXTURES, mixture

# mixture -> (tidecv AP50 x 100, dAP x 100 per type, error counts), from tests/study/tidecv_reference.py
TIDECV_1_0_1 = {
    "balanced": (
        19.28986216736929,
        {
            "cls": 15.653662927005495,
            "loc": 6.186438830191669,
            "both": 1.757911386815234,
            "dupe": 1.1061826781590547,
            "bkg": 5.686569426050323,
            "miss": 5.579098575504897,
        },
        {"cls": 26, "loc": 9, "both": 15, "dupe": 10, "bkg": 149, "miss": 28},
    ),
    "sloppy": (
        12.03292175043222,
        {
            "cls": 4.127125015485287,
            "loc": 8.213295824993281,
            "both": 0,
            "dupe": 0,
            "bkg": 4.170879332045555,
            "miss": 6.549512025991884,
        },
        {"cls": 10, "loc": 20, "both": 21, "dupe": 8, "bkg": 147, "miss": 55},
    ),
    "classy": (
        16.815380810374926,
        {
            "cls": 37.15201887372076,
            "loc": 3.772435313725847,
            "both": 0.21846958947754302,
            "dupe": 0.29073503666836586,
            "bkg": 9.246775930860597,
            "miss": 0.8888486215290143,
        },
        {"cls": 57, "loc": 16, "both": 13, "dupe": 9, "bkg": 120, "miss": 7},
    ),
}


@pytest.mark.parametrize("name", sorted(TIDECV_1_0_1))
def test_tidecv_mode_matches_tidecv_on_the_mixtures(name):
    ap, dap, counts = TIDECV_1_0_1[name]
    seed, mix = MIXTURES[name]
    b = tidecv_breakdown(*mixture(seed, mix))
    assert b.rule == "tidecv" and b.ap50 * 100 == pytest.approx(ap, abs=1e-9)
    assert {t: b.dap[t] * 100 for t in ERROR_TYPES} == pytest.approx(dap, abs=1e-9)  # the issue asks 0.005
    assert b.counts == counts


def test_the_paper_rules_stay_available_and_differ_on_the_same_data():
    seed, mix = MIXTURES["balanced"]
    gt, dets = mixture(seed, mix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # more than 100 detections in one category of image 1
        paper = error_breakdown(gt, dets)
    assert paper.rule == "paper" and paper.dap["cls"] != pytest.approx(TIDECV_1_0_1["balanced"][1]["cls"] / 100)
    assert paper.to_dict()["rule"] == "paper" and tidecv_breakdown(gt, dets).to_dict()["rule"] == "tidecv"


def _gt(boxes):
    return {
        "images": [{"id": 1, "file_name": "1.jpg", "width": 200, "height": 200}],
        "annotations": [
            {"id": k + 1, "image_id": 1, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": crowd}
            for k, (c, b, crowd) in enumerate(boxes)
        ],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }


def test_loc_is_tested_before_cls():
    """Own-category IoU 1/3 and other-category IoU 1: tidecv says loc, the paper's order says cls. tidecv 1.0.1
    (the calls of tests/study/tidecv_reference.py): AP 50.0, dAP loc 50.0, the others 0.0; one loc error."""
    gt = _gt([(1, [0, 0, 40, 40], 0), (2, [20, 0, 40, 40], 0)])
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [20, 0, 40, 40], "score": 0.9},
        {"image_id": 1, "category_id": 2, "bbox": [20, 0, 40, 40], "score": 0.8},  # TP
    ]
    b = tidecv_breakdown(gt, dets)
    assert b.counts == {"cls": 0, "loc": 1, "both": 0, "dupe": 0, "bkg": 0, "miss": 0}
    assert b.ap50 == pytest.approx(0.5) and b.dap == pytest.approx({**dict.fromkeys(ERROR_TYPES, 0.0), "loc": 0.5})
    assert error_breakdown(gt, dets).counts["cls"] == 1  # the paper's order


def test_one_gt_goes_to_the_best_cls_or_loc_claimant():
    """A cls error (0.9) and a loc error (0.6) point at the same GT: tidecv fixes only the higher-scoring one, so
    fixing loc alone gains nothing. tidecv 1.0.1: AP 25.0, dAP cls 75.0, the others 0.0; counts cls 2, loc 1."""
    gt = _gt([(1, [0, 0, 40, 40], 0), (2, [100, 100, 40, 40], 0)])
    dets = [
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 40, 40], "score": 0.9},  # cls error on the first GT
        {"image_id": 1, "category_id": 1, "bbox": [100, 100, 40, 40], "score": 0.8},  # cls error on the second
        {"image_id": 1, "category_id": 2, "bbox": [100, 100, 40, 40], "score": 0.7},  # TP of the second
        {"image_id": 1, "category_id": 1, "bbox": [20, 0, 40, 40], "score": 0.6},  # loc error on the first
    ]
    b = tidecv_breakdown(gt, dets)
    assert b.counts == {"cls": 2, "loc": 1, "both": 0, "dupe": 0, "bkg": 0, "miss": 0}
    assert b.ap50 == pytest.approx(0.25) and b.dap == pytest.approx({**dict.fromkeys(ERROR_TYPES, 0.0), "cls": 0.75})
    assert "tidecv 1.0.1's rules" in format_breakdown(b)


def test_bad_thresholds_and_no_ground_truth_are_rejected():
    gt = _gt([(1, [0, 0, 40, 40], 1)])
    with pytest.raises(ValueError, match="bg_iou <= fg_iou"):
        tidecv_breakdown(gt, [], fg_iou=0.1, bg_iou=0.5)
    with pytest.raises(ValueError, match="no non-crowd box"):
        tidecv_breakdown(gt, [])
