"""Error breakdown in the style of TIDE (Bolya et al., "TIDE: A General Toolbox for Identifying Object Detection
Errors", ECCV 2020): which kinds of mistakes cost a detector how much AP50.

Every counted detection that is not a true positive at IoU ``fg_iou`` gets exactly one error type, tested in this
order (IoUs are with non-crowd GT boxes of the same image; "own" / "other" = GT of the detection's category / of
another category):

- ``cls``: IoU >= fg_iou with an other-category GT (well placed, wrong class);
- ``loc``: best own-category IoU in [bg_iou, fg_iou) (right class, badly placed);
- ``dupe``: IoU >= fg_iou with an own-category GT that a higher-ranked detection already matched;
- ``both``: best other-category IoU in [bg_iou, fg_iou) (wrong class and badly placed);
- ``bkg``: every IoU < bg_iou;
- ``miss`` (GT side): a GT that no detection matched and that no cls or loc error points at.

``dap[t]`` is the AP50 after fixing only the errors of type ``t`` minus the base AP50 (the paper's oracles): cls and
loc errors become true positives of the GT they point at (relabelled / given the GT's box) unless a higher-ranked
detection claims the same GT, in which case the lower-ranked ones are dropped; both, dupe and bkg errors are
dropped; missed GTs are removed from the GT count. Fixes overlap, so the dAPs do not add up to 1 - AP50.
AP50 is pycocotools' (101-point interpolation, maxDets=100, area "all", crowd regions ignored): the base value
equals ``COCOeval``'s AP50 on the same input. docs/ERRORS.md has the details and the differences from ``tidecv``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.engine.evaluation.coco_inputs import EvaluationInputError, few, load_gt_dataset
from detector.engine.evaluation.coco_results import load_predictions
from detector.engine.evaluation.detections import Detections
from detector.engine.evaluation.errors.ap import mean_ap
from detector.engine.evaluation.errors.matching import (
    MAX_DETS,
    GroundTruthArrays,
    MatchedDetections,
    ground_truth_arrays,
)
from detector.engine.evaluation.errors.matching import match_detections as _match

#: the ground truth of a breakdown: a COCO annotation dict, a ``COCO`` object or a JSON path
GroundTruthInput = Mapping[str, Any] | str | Path
#: its detections: COCO result dicts, :class:`Detections` or a JSON path
DetectionsInput = Sequence[Mapping[str, Any]] | Detections | str | Path

__all__ = [
    "ERROR_NAMES",
    "ERROR_TYPES",
    "ErrorBreakdown",
    "ErrorLabels",
    "error_breakdown",
    "format_breakdown",
    "label_errors",
]

ERROR_TYPES = ("cls", "loc", "both", "dupe", "bkg", "miss")
ERROR_NAMES = {
    "cls": "classification",
    "loc": "localisation",
    "both": "cls + loc",
    "dupe": "duplicate",
    "bkg": "background",
    "miss": "missed GT",
}


@dataclass(frozen=True)
class ErrorBreakdown:
    """Result of :func:`error_breakdown`. ``ap50``: base AP at ``fg_iou`` (AP50 by default) in [0, 1]; ``dap``:
    AP gained by fixing each type alone (keys ``ERROR_TYPES``, in [0, 1]); ``counts``: detections with each error
    type (GT boxes for ``miss``)."""

    ap50: float
    dap: dict[str, float]
    counts: dict[str, int]
    # which rules: "paper" (this module) or "tidecv" (:mod:`detector.engine.evaluation.errors.tidecv`)
    rule: str = "paper"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"ap50", "dap": {type: float}, "counts": {type: int}, "rule"}`` (``metrics.json``'s
        ``errors``)."""
        return {"ap50": self.ap50, "dap": dict(self.dap), "counts": dict(self.counts), "rule": self.rule}


@dataclass(frozen=True)
class ErrorLabels:
    """Result of :func:`label_errors`. ``detections``: one label per input detection, in input order: "tp", an
    error type (``ERROR_TYPES`` but "miss"), "ignored" (on a crowd region, not counted) or "skipped" (beyond the
    100 per image and category, or on an image outside ``img_ids``); ``missed``: annotation ids of the missed GT."""

    detections: list[str]
    missed: list[int]


def error_breakdown(
    gt: GroundTruthInput,
    detections: DetectionsInput,
    fg_iou: float = 0.5,
    bg_iou: float = 0.1,
    *,
    img_ids: Iterable[int] | None = None,
) -> ErrorBreakdown:
    """Count the TIDE error types of ``detections`` and the AP50 each one costs (see the module docstring).

    ``gt``: COCO annotation dict (images, annotations with bbox [x, y, w, h] px, categories), a ``COCO`` object or
    a JSON path; ``detections``: COCO results (image_id, category_id, bbox [x, y, w, h] px, score), a JSON path or
    :class:`Detections`. ``img_ids``: break down only these images (default: all GT images), as
    :func:`detector.engine.evaluation.evaluator.coco_evaluate`. ``fg_iou`` / ``bg_iou``: the foreground
    (true positive) and background IoU thresholds, 0 < bg_iou <= fg_iou <= 1. Warns (UserWarning) with the count of
    detections beyond
    pycocotools' 100 per image and category, which are not evaluated. Raises :class:`EvaluationInputError` for bad
    input (as the evaluator) or ground truth without a non-crowd box, ValueError for bad thresholds.
    """
    a = _analyse(gt, detections, fg_iou, bg_iou, img_ids)
    return _breakdown(a.gts, a.m, a.kinds, a.num_gt)


def label_errors(
    gt: GroundTruthInput,
    detections: DetectionsInput,
    fg_iou: float = 0.5,
    bg_iou: float = 0.1,
    *,
    img_ids: Iterable[int] | None = None,
) -> ErrorLabels:
    """What :func:`error_breakdown` counts, per detection and per missed GT (e.g. to draw examples of each error
    type); arguments, warnings and errors as there."""
    a = _analyse(gt, detections, fg_iou, bg_iou, img_ids)
    labels = np.full(a.num_input, "skipped", dtype=object)
    kept = a.input_index[a.m.index]
    labels[kept[a.m.tp]] = "tp"
    labels[kept[a.m.ignored]] = "ignored"
    for kind, mask in a.kinds.items():
        labels[kept[mask]] = kind
    return ErrorLabels(detections=labels.tolist(), missed=a.gts.ann_ids[_missed(a.gts, a.m, a.kinds)].tolist())


@dataclass(frozen=True)
class _Analysis:
    gts: GroundTruthArrays
    m: MatchedDetections
    kinds: dict[str, np.ndarray]  # error type -> bool [N] over m's detections
    num_gt: np.ndarray  # int [K]: non-ignored GT boxes per category
    input_index: np.ndarray  # position in the input of each detection handed to the matching
    num_input: int


def load_inputs(
    gt: GroundTruthInput, detections: DetectionsInput, fg_iou: float, bg_iou: float, caller: str
) -> tuple[dict[str, Any], Detections]:
    """The checked ground-truth dict and detections of a breakdown, after its thresholds: ValueError (naming
    ``caller``) unless 0 < bg_iou <= fg_iou <= 1, :class:`EvaluationInputError` for bad input (as the evaluator)."""
    if not 0.0 < bg_iou <= fg_iou <= 1.0:
        raise ValueError(f"{caller}: need 0 < bg_iou <= fg_iou <= 1, got fg_iou={fg_iou}, bg_iou={bg_iou}")
    gt_dict = load_gt_dataset(gt)
    return gt_dict, load_predictions(detections, gt_dict)


def no_box_error() -> EvaluationInputError:
    """Ground truth without a non-crowd box in the evaluated images: no AP to break down."""
    return EvaluationInputError(
        "the ground truth has no non-crowd box in the evaluated images: there is no AP to break down"
    )


def _analyse(gt: Any, detections: Any, fg_iou: float, bg_iou: float, img_ids: Iterable[int] | None) -> _Analysis:
    gt_dict, dets = load_inputs(gt, detections, fg_iou, bg_iou, "error_breakdown")
    all_ids = np.array([int(img["id"]) for img in gt_dict["images"]], dtype=np.int64)
    ids = np.unique(all_ids if img_ids is None else np.fromiter(img_ids, dtype=np.int64))
    unknown = np.setdiff1d(ids, all_ids)
    if unknown.size:
        raise EvaluationInputError(
            f"img_ids holds {unknown.size} id(s) not in the ground truth, e.g. {few(unknown.tolist())}: "
            "pass ids of entries in the annotation file's 'images'"
        )
    inside = np.flatnonzero(np.isin(dets.image_ids, ids))
    gts = ground_truth_arrays(gt_dict, ids)
    num_gt = np.bincount(gts.labels[~gts.ignore], minlength=len(gts.cat_ids))
    if not num_gt.any():
        raise no_box_error()
    m = _match(gts, dets.select(inside), fg_iou)
    if m.dropped:
        warnings.warn(
            f"{m.dropped} detection(s) beyond the {MAX_DETS} highest-scoring per image and category are not "
            "evaluated (pycocotools' maxDets=100)",
            UserWarning,
            stacklevel=3,
        )
    return _Analysis(gts, m, _error_types(m, fg_iou, bg_iou), num_gt, inside, len(dets))


def _missed(gts: GroundTruthArrays, m: MatchedDetections, kinds: dict[str, np.ndarray]) -> np.ndarray:
    """bool [G]: non-ignored GT that no detection matched and no cls or loc error points at."""
    matched = np.zeros(len(gts.labels), dtype=bool)
    matched[m.gt[m.tp]] = True
    pointed = np.zeros(len(gts.labels), dtype=bool)
    pointed[m.gt_other[kinds["cls"]]] = True
    pointed[m.gt_same[kinds["loc"]]] = True
    return ~gts.ignore & ~matched & ~pointed


def _error_types(m: MatchedDetections, fg_iou: float, bg_iou: float) -> dict[str, np.ndarray]:
    """Boolean masks ``[N]`` of the detection error types (exclusive, in the order of the module docstring)."""
    fp = ~m.tp & ~m.ignored
    cls = fp & (m.iou_other >= fg_iou)
    loc = fp & ~cls & (m.iou_same >= bg_iou) & (m.iou_same < fg_iou)
    dupe = fp & ~cls & (m.iou_same >= fg_iou)
    both = fp & ~cls & ~loc & ~dupe & (m.iou_other >= bg_iou)
    bkg = fp & ~cls & ~loc & ~dupe & ~both
    return {"cls": cls, "loc": loc, "both": both, "dupe": dupe, "bkg": bkg}


def _breakdown(
    gts: GroundTruthArrays, m: MatchedDetections, kinds: dict[str, np.ndarray], num_gt: np.ndarray
) -> ErrorBreakdown:
    counted = ~m.ignored  # true and false positives
    base = mean_ap(m.labels[counted], m.rank[counted], m.tp[counted], num_gt)
    missed = _missed(gts, m, kinds)

    fixed: dict[str, float] = {}
    for kind in ("both", "dupe", "bkg"):
        keep = counted & ~kinds[kind]
        fixed[kind] = mean_ap(m.labels[keep], m.rank[keep], m.tp[keep], num_gt)
    fixed["cls"] = _ap_after_claims(m, counted, num_gt, kinds["cls"], m.gt_other, gts.labels)
    fixed["loc"] = _ap_after_claims(m, counted, num_gt, kinds["loc"], m.gt_same, gts.labels)
    fewer_gt = num_gt - np.bincount(gts.labels[missed], minlength=len(num_gt))
    fixed["miss"] = mean_ap(m.labels[counted], m.rank[counted], m.tp[counted], fewer_gt)
    if np.isnan(fixed["miss"]):  # every GT was missed: nothing is left to find
        fixed["miss"] = 1.0
    counts = {k: int(v.sum()) for k, v in kinds.items()}
    counts["miss"] = int(missed.sum())
    return ErrorBreakdown(
        ap50=base,
        dap={k: max(fixed[k] - base, 0.0) for k in ERROR_TYPES},  # a fix never lowers AP: clip rounding only
        counts={k: counts[k] for k in ERROR_TYPES},
    )


def _ap_after_claims(
    m: MatchedDetections,
    counted: np.ndarray,
    num_gt: np.ndarray,
    errors: np.ndarray,
    target: np.ndarray,
    gt_labels: np.ndarray,
) -> float:
    """AP after the cls / loc oracle: each error detection becomes a true positive of its ``target`` GT (taking
    that GT's category) unless a higher-ranked claimant of the same GT (another error, or the true positive already
    matched to it) wins; the other claimants are dropped."""
    err = np.flatnonzero(errors)
    tps = np.flatnonzero(m.tp)
    rivals = tps[np.isin(m.gt[tps], target[err])]
    claimant = np.r_[err, rivals]
    claimed = np.r_[target[err], m.gt[rivals]]
    order = np.lexsort((m.rank[claimant], claimed))
    first = np.r_[True, claimed[order][1:] != claimed[order][:-1]] if len(order) else np.zeros(0, dtype=bool)
    keep = counted.copy()
    keep[claimant[order][~first]] = False
    labels, tp = m.labels.copy(), m.tp.copy()
    labels[err] = gt_labels[target[err]]
    tp[claimant[order][first]] = True
    return mean_ap(labels[keep], m.rank[keep], tp[keep], num_gt)


def format_breakdown(b: ErrorBreakdown) -> str:
    """The breakdown as a terminal table: the base AP50, then one row per error type (count, dAP50)."""
    rules = " (tidecv 1.0.1's rules)" if b.rule == "tidecv" else ""
    rows = [f"TIDE-style error breakdown{rules}: AP50 {b.ap50:.4f}"]
    rows.append(f"  {'type':<5} {'error':<15} {'count':>7} {'dAP50':>7}")
    rows += [f"  {k:<5} {ERROR_NAMES[k]:<15} {b.counts[k]:>7d} {b.dap[k]:>7.4f}" for k in ERROR_TYPES]
    rows.append("  count: detections with that error (miss: GT boxes); dAP50: AP50 gained by fixing that type alone")
    rows.append("  (the fixes overlap: the dAP50s do not add up to 1 - AP50; docs/ERRORS.md)")
    return "\n".join(rows)
