"""Evaluating a study run exactly as ``tools/eval.py`` does, plus what the report needs from it.

The evaluation is :func:`detector.engine.jobs.evaluate.run_evaluation` itself, with the options ``tools/eval.py``
gets for ``python tools/eval.py <run>/config.yaml --weights <run>/weights/best.pt`` (float32, the config's eval
settings and device), writing into ``<run>/eval/``; so every AP of the report equals that command's to the last
digit. On top: the mean PR curves (:func:`detector.engine.evaluation.metric_plots.mean_pr_curve`) and the TIDE-style
error breakdown of the same predictions (:func:`detector.engine.evaluation.errors.breakdown.error_breakdown`). The
record (``<run>/study_eval.json``) is reused while ``best.pt`` is unchanged (same size and modification time).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from detector.config import load_config
from detector.data import build_dataset
from detector.engine.evaluation.metric_plots import mean_pr_curve
from detector.engine.jobs.evaluate import EvalOptions, run_evaluation
from detector.study.folder import RunInfo, read_json, write_json

log = logging.getLogger(__name__)

EVAL_RECORD = "study_eval.json"
EVAL_DIR = "eval"


def eval_command(folder: Path) -> str:
    """The ``tools/eval.py`` command whose numbers the report repeats."""
    return f"python tools/eval.py {folder / 'config.yaml'} --weights {folder / 'weights' / 'best.pt'}"


def _weights_key(best: Path) -> dict[str, Any]:
    st = best.stat()
    return {"weights": str(best), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def breakdown(cfg_path: Path, predictions: Path, rule: str = "paper") -> dict[str, Any]:
    """The error breakdown of ``predictions`` (COCO results) on the val split of ``cfg_path``'s config, over the
    images the evaluation saw, by ``rule`` (paper | tidecv): ``{"ap50", "dap": {type: float}, "counts": {type:
    int}, "rule"}``."""
    from detector.engine.evaluation.errors.rules import break_down

    dataset = build_dataset(load_config(cfg_path), "val")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = break_down(dataset.coco, predictions, rule, img_ids=list(dataset.image_ids))
    for w in caught:
        log.warning("error breakdown of %s: %s", predictions, w.message)
    return {"ap50": float(result.ap50), "dap": dict(result.dap), "counts": dict(result.counts), "rule": rule}


def evaluate_run(info: RunInfo, rule: str = "paper") -> dict[str, Any]:
    """Evaluate a finished run's ``best.pt`` (or reuse the record while it is unchanged). Returns ``{"stats"
    (the 12 COCO numbers), "per_class", "engine", "num_images", "num_predictions", "pr" {"recall", "iou50",
    "iou75", "mean"} (101 points), "errors" (by ``rule``: paper | tidecv), "predictions" (path), "command"}``."""
    if not info.best.is_file():
        raise FileNotFoundError(f"{info.best} is missing: the run trained but wrote no best.pt (did it validate?)")
    key = _weights_key(info.best)
    path = info.folder / EVAL_RECORD
    cached = read_json(path)
    cfg_path = info.folder / "config.yaml"
    if isinstance(cached, dict) and cached.get("key") == key:
        if cached.get("errors", {}).get("rule", "paper") != rule:  # same weights, other rules: redo only that
            cached["errors"] = breakdown(cfg_path, Path(cached["predictions"]), rule)
            write_json(path, cached)
        return cached
    out = info.folder / EVAL_DIR
    opts = EvalOptions(config=str(cfg_path), weights=str(info.best), out=str(out), exist_ok=True, progress=False)
    result = run_evaluation(opts)
    predictions = out / "predictions.json"
    record = {
        "key": key,
        "label": info.label,
        "seed": info.seed,
        "stats": {k: float(v) for k, v in result.stats.items()},
        "per_class": result.per_class,
        "engine": result.engine,
        "num_images": result.num_images,
        "num_predictions": result.num_predictions,
        "pr": {
            "recall": [float(r) for r in result.rec_thrs],
            "iou50": mean_pr_curve(result, 0.5).tolist(),
            "iou75": mean_pr_curve(result, 0.75).tolist(),
            "mean": mean_pr_curve(result, None).tolist(),
        },
        "errors": breakdown(cfg_path, predictions, rule),
        "predictions": str(predictions),
        "command": eval_command(info.folder),
    }
    write_json(path, record)
    return record
