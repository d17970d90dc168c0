"""The two COCO evaluation engines behind :func:`detector.engine.evaluation.evaluator.coco_evaluate`:
faster-coco-eval (C++,
numbers equal to pycocotools') and pycocotools (the reference and the fallback).

Detections reach faster-coco-eval as arrays turned into its result ``COCO`` directly (the boxes ``loadRes`` would
build, without the polygon it adds for segmentation); pycocotools gets the result dicts through ``loadRes``.
Python's cyclic garbage collector is paused while the engines build their hundreds of thousands of dicts (it would
otherwise rescan them all again and again; nothing they build is cyclic garbage).
"""

from __future__ import annotations

import contextlib
import gc
import io
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from detector.engine.evaluation.coco_inputs import EvaluationWarning
from detector.engine.evaluation.detections import Detections

__all__ = ["ENGINES", "EvaluationWarning", "gc_paused", "pick_engine", "run_engine"]

ENGINES = ("auto", "faster", "pycocotools")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block (restored after, also on errors)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pick_engine(engine: str) -> str:
    """ "faster" or "pycocotools" for ``engine`` ("auto" picks faster-coco-eval when it can be imported)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown evaluation engine '{engine}': choose one of {', '.join(ENGINES)}")
    if engine == "pycocotools":
        return engine
    try:
        import faster_coco_eval  # noqa: F401
    except ImportError as e:
        if engine == "faster":
            raise ImportError(f"engine='faster' needs faster-coco-eval ({e}); pip install faster-coco-eval") from e
        warnings.warn(
            "faster-coco-eval is not importable; evaluating with pycocotools", EvaluationWarning, stacklevel=3
        )
        return "pycocotools"
    return "faster"


def _faster_results(coco_gt: Any, dets: Detections) -> Any:
    """faster-coco-eval ``COCO`` of the detections, as its ``loadRes`` builds it for boxes (ids 1..N in order,
    ``area = w * h``, ``iscrowd = 0``) but straight from the arrays, without the polygon it adds for segm."""
    from faster_coco_eval import COCO

    boxes = dets.boxes_xywh
    area = (boxes[:, 2] * boxes[:, 3]).tolist()
    res = COCO()
    res.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": [dict(c) for c in coco_gt.dataset["categories"]],
        "annotations": [
            {"image_id": i, "category_id": c, "bbox": b, "score": s, "area": a, "id": k, "iscrowd": 0}
            for k, (i, c, b, s, a) in enumerate(
                zip(
                    dets.image_ids.tolist(),
                    dets.category_ids.tolist(),
                    boxes.tolist(),
                    dets.scores.tolist(),
                    area,
                    strict=True,
                ),
                start=1,
            )
        ],
    }
    res.createIndex()
    return res


def run_engine(engine: str, gt: dict, dets: Detections, img_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Run ``engine`` ("faster" | "pycocotools") on the checked ground truth dict and detections (not empty) over
    ``img_ids``; returns (stats [12], precision [T, R, K, A, M])."""
    with gc_paused():
        return _run(engine, gt, dets, img_ids)


def _run(engine: str, gt: dict, dets: Detections, img_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    if engine == "faster":
        from faster_coco_eval import COCO, COCOeval_faster

        coco_gt = COCO(gt)
        coco_dt = _faster_results(coco_gt, dets)
        ev = COCOeval_faster(coco_gt, coco_dt, "bbox", print_function=lambda *a, **k: None)
        ev.params.imgIds = list(img_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    else:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress unconditionally
            coco_gt = COCO()
            coco_gt.dataset = gt
            coco_gt.createIndex()
            coco_dt = coco_gt.loadRes(dets.to_results())
            ev = COCOeval(coco_gt, coco_dt, "bbox")
            ev.params.imgIds = list(img_ids)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
    return np.asarray(ev.stats[:12], dtype=np.float64), np.asarray(ev.eval["precision"], dtype=np.float64)
