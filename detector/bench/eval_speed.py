"""COCO evaluation speed: pycocotools vs :func:`detector.engine.evaluation.evaluator.coco_evaluate` on a synthetic
set shaped
like COCO val2017 (5,000 images of 640x480, ~7 boxes each, 80 categories, 100 detections per image).

Every timed run starts from the same inputs (result dicts: what a predictions JSON holds, or the arrays the trainer
hands over). The 12 stats of every engine are compared with pycocotools': faster-coco-eval sums in another order,
so they may differ in the last bits of a float64; "identical" means within ``STATS_TOLERANCE``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from detector.config.tool_options import AT_LEAST_1, option
from detector.engine.evaluation.detections import Detections

STATS_TOLERANCE = 1e-12  # max |difference| of a stat from pycocotools' still called identical (float64 rounding)


@dataclass
class EvalBenchSettings:
    """``images`` x ``gts_per_image`` (mean; Poisson) ground-truth boxes, ``dets_per_image`` detections each."""

    images: int = option(5000, "images, ~7 boxes each, like COCO val", range=AT_LEAST_1)
    gts_per_image: float = 7.0
    dets_per_image: int = option(100, "detections per image", flag="--dets", range=AT_LEAST_1)
    num_classes: int = 80
    # timed runs of each engine (pycocotools: ``reference_repeats``); medians are reported
    repeats: int = option(3, "timed runs of our engines, median", range=AT_LEAST_1)
    reference_repeats: int = option(1, "pycocotools runs", range=AT_LEAST_1)
    seed: int = 0


def synthetic_coco(s: EvalBenchSettings) -> tuple[dict[str, Any], Detections]:
    """Ground truth (COCO dict) and detections: jittered copies of the boxes (some with the wrong class) plus
    random boxes; sizes log-uniform from 4 px to the image side, so small/medium/large areas are all present."""
    rng = np.random.default_rng(s.seed)
    w_img, h_img = 640.0, 480.0
    images = [{"id": i, "width": 640, "height": 480, "file_name": f"{i}.jpg"} for i in range(1, s.images + 1)]
    cats = [{"id": c + 1, "name": f"class{c + 1}"} for c in range(s.num_classes)]
    counts = rng.poisson(s.gts_per_image, s.images)
    img_of_gt = np.repeat(np.arange(1, s.images + 1), counts)
    n = len(img_of_gt)
    wh = np.exp(rng.uniform(np.log(4), np.log(400), (n, 2)))
    xy = rng.uniform(0, 1, (n, 2)) * np.maximum(np.array([w_img, h_img]) - wh, 1)
    gt_boxes = np.round(np.concatenate([xy, wh], 1), 2)
    gt_cats = rng.integers(1, s.num_classes + 1, n)
    crowd = rng.random(n) < 0.01
    annotations = [
        {
            "id": k + 1,
            "image_id": int(img_of_gt[k]),
            "category_id": int(gt_cats[k]),
            "bbox": gt_boxes[k].tolist(),
            "area": float(gt_boxes[k, 2] * gt_boxes[k, 3]),
            "iscrowd": int(crowd[k]),
        }
        for k in range(n)
    ]
    # detections: every GT once (jittered by ~10 % of its size, 10 % with another class), then random boxes
    shift, scale = gt_boxes[:, 2:] * rng.normal(0, 0.1, (n, 2)), rng.lognormal(0, 0.1, (n, 2))
    jittered = np.concatenate([gt_boxes[:, :2] + shift, gt_boxes[:, 2:] * scale], 1)
    det_img, det_box, det_cat = [img_of_gt], [jittered], [gt_cats.copy()]
    wrong = rng.random(n) < 0.1
    det_cat[0][wrong] = rng.integers(1, s.num_classes + 1, int(wrong.sum()))
    extra = np.maximum(s.dets_per_image - counts, 0)
    m = int(extra.sum())
    rwh = np.exp(rng.uniform(np.log(4), np.log(400), (m, 2)))
    rxy = rng.uniform(0, 1, (m, 2)) * np.maximum(np.array([w_img, h_img]) - rwh, 1)
    det_img.append(np.repeat(np.arange(1, s.images + 1), extra))
    det_box.append(np.concatenate([rxy, rwh], 1))
    det_cat.append(rng.integers(1, s.num_classes + 1, m))
    boxes = np.abs(np.concatenate(det_box))
    dets = Detections(
        image_ids=np.concatenate(det_img).astype(np.int64),
        category_ids=np.concatenate(det_cat).astype(np.int64),
        boxes_xywh=np.round(boxes, 3),
        scores=np.round(np.concatenate([rng.uniform(0.3, 1.0, n), rng.uniform(0.001, 0.6, m)]), 5),
    )
    return {"images": images, "annotations": annotations, "categories": cats}, dets


def _pycocotools(gt: dict, results: list[dict]) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:12], dtype=np.float64)


def _faster_alone(gt: dict, results: list[dict]) -> np.ndarray:
    from faster_coco_eval import COCO, COCOeval_faster

    coco_gt = COCO(gt)
    ev = COCOeval_faster(coco_gt, coco_gt.loadRes(results), "bbox", print_function=lambda *a, **k: None)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats[:12], dtype=np.float64)


def _timed(fn: Callable[[], np.ndarray], prepare: Callable[[], None], repeats: int) -> tuple[list[float], np.ndarray]:
    times, stats = [], np.zeros(12)
    for _ in range(repeats):
        prepare()
        tic = time.perf_counter()
        stats = fn()
        times.append(time.perf_counter() - tic)
    return times, stats


def bench_eval(s: EvalBenchSettings) -> dict[str, Any]:
    """Seconds (median of the runs) of each engine end to end, the ratios to pycocotools, and whether the 12 stats
    are identical (``max_abs_stat_difference`` <= ``STATS_TOLERANCE``). Engines: ``pycocotools``,
    ``faster_coco_eval_alone`` (the library called directly on result dicts), ``coco_evaluate`` (result dicts, as
    from a predictions JSON) and ``coco_evaluate_arrays`` (the :class:`Detections` arrays the trainer hands over)."""
    from detector.engine.evaluation.evaluator import coco_evaluate

    gt, dets = synthetic_coco(s)
    results = dets.to_results()
    inputs: dict[str, Any] = {}

    def fresh_copies() -> None:  # both libraries write into the result dicts they get
        inputs["results"] = copy.deepcopy(results)
        inputs["gt"] = {**gt, "annotations": [dict(a) for a in gt["annotations"]]}

    engines = {
        "pycocotools": (lambda: _pycocotools(inputs["gt"], inputs["results"]), s.reference_repeats),
        "faster_coco_eval_alone": (lambda: _faster_alone(inputs["gt"], inputs["results"]), s.repeats),
        "coco_evaluate": (lambda: _stats(coco_evaluate(inputs["gt"], inputs["results"], engine="faster")), s.repeats),
        "coco_evaluate_arrays": (lambda: _stats(coco_evaluate(inputs["gt"], dets, engine="faster")), s.repeats),
    }
    out: dict[str, Any] = {
        "settings": asdict(s),
        "num_gt": len(gt["annotations"]),
        "num_detections": len(dets),
        "seconds": {},
        "runs": {},
    }
    stats = {}
    for name, (fn, repeats) in engines.items():
        times, stats[name] = _timed(fn, fresh_copies, repeats)
        out["seconds"][name], out["runs"][name] = statistics.median(times), times
    ref = out["seconds"]["pycocotools"]
    out["speedup_vs_pycocotools"] = {k: ref / v for k, v in out["seconds"].items() if k != "pycocotools"}
    out["stats"] = stats["pycocotools"].tolist()
    diff = {k: float(np.abs(v - stats["pycocotools"]).max()) for k, v in stats.items()}
    out["max_abs_stat_difference"] = diff
    out["identical_stats"] = {k: d <= STATS_TOLERANCE for k, d in diff.items()}
    return out


def _stats(result: Any) -> np.ndarray:
    from detector.engine.evaluation.evaluator import STAT_KEYS

    return np.array([result.stats[k] for k in STAT_KEYS], dtype=np.float64)
