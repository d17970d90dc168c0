"""The error breakdown by the rules of ``tidecv`` 1.0.1 (``--errors tidecv``), so the dAPs can be compared with
published TIDE figures; :mod:`detector.engine.evaluation.errors.breakdown` keeps the paper's rules (the default,
docs/ERRORS.md).

What tidecv does differently from the paper-rule breakdown (read from its ``quantify.py``, ``ap.py`` and
``errors/*.py``; this is our own implementation of those rules):

- matching: per image, the 100 highest-scoring detections over all categories (not per category); each, in score
  order, takes the unmatched same-category GT of highest IoU if that IoU >= ``fg_iou`` (first GT on ties); an
  unmatched detection whose crowd IoU (intersection / detection area) with a same-category crowd region is
  > ``fg_iou`` is ignored (no AP data point) but still gets an error type; no area range;
- error order: ``loc`` (best same-category IoU in [bg_iou, fg_iou], either end included, GT matched or not),
  then ``cls`` (other-category IoU >= fg_iou), ``dupe`` (IoU >= fg_iou with a matched same-category GT), ``bkg``
  (every IoU <= bg_iou; all detections of an image without GT), else ``both``;
- fixes: a cls / loc error turns into a true positive of its GT (the GT's category for cls) only when that GT was
  not matched and the error has the highest score among all cls AND loc errors pointing at that GT (first on
  ties); otherwise, and for both / dupe / bkg, the detection is dropped. A missed GT (unmatched, and no cls / loc
  error points at it) is removed from its category's GT count;
- AP: per category, detections sorted by score (stable: the order tidecv stores them in), precision envelope,
  101 recall points ``k / 100``; averaged over every category with GT or a counted detection (a category with
  detections but no GT counts as AP 0).

``ap50`` and ``dap`` are in [0, 1] (tidecv prints them x 100).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detector.engine.evaluation.detections import Detections
from detector.engine.evaluation.errors.breakdown import (
    ERROR_TYPES,
    DetectionsInput,
    ErrorBreakdown,
    GroundTruthInput,
    load_inputs,
    no_box_error,
)
from detector.engine.evaluation.errors.matching import pair_iou

MAX_DETS = 100  # tidecv's Data(max_dets=100) for COCO: detections kept per image, all categories together
_RECALLS = np.array([k / 100 for k in range(101)])  # tidecv's recall points (not np.linspace: same floats as it)
_FP, _TP, _IGNORED = 0, 1, 2


@dataclass
class _Points:
    """Every kept detection in tidecv's processing order (image by image, score order within an image)."""

    label: list[int] = field(default_factory=list)  # category id
    score: list[float] = field(default_factory=list)
    state: list[int] = field(default_factory=list)  # _FP, _TP or _IGNORED
    kind: list[str] = field(default_factory=list)  # error type, "" for a true positive
    fixed_label: list[int] = field(default_factory=list)  # category when fixed into a true positive, -1: dropped
    missed: dict[int, int] = field(default_factory=dict)  # category id -> missed GT count
    num_gt: dict[int, int] = field(default_factory=dict)  # category id -> non-crowd GT count


def tidecv_breakdown(
    gt: GroundTruthInput,
    detections: DetectionsInput,
    fg_iou: float = 0.5,
    bg_iou: float = 0.1,
    *,
    img_ids: Iterable[int] | None = None,
) -> ErrorBreakdown:
    """tidecv 1.0.1's ``TIDE(pos_threshold=fg_iou, background_threshold=bg_iou)`` main errors of ``detections``
    (arguments as :func:`detector.engine.evaluation.errors.breakdown.error_breakdown`; detections on images outside
    the ground truth or ``img_ids`` are not evaluated). Raises :class:`EvaluationInputError` for bad input or ground
    truth without a non-crowd box, ValueError for bad thresholds."""
    gt_dict, dets = load_inputs(gt, detections, fg_iou, bg_iou, "tidecv_breakdown")
    wanted = None if img_ids is None else {int(i) for i in img_ids}
    images = [int(im["id"]) for im in gt_dict["images"] if wanted is None or int(im["id"]) in wanted]
    anns: dict[int, list[Mapping[str, Any]]] = {i: [] for i in images}
    for a in gt_dict["annotations"]:
        if int(a["image_id"]) in anns:
            anns[int(a["image_id"])].append(a)
    by_image: dict[int, list[int]] = {i: [] for i in images}
    for k, i in enumerate(dets.image_ids.tolist()):
        if i in by_image:
            by_image[i].append(k)
    p = _Points()
    for i in dict.fromkeys(images):
        _image(p, anns[i], dets, by_image[i], fg_iou, bg_iou)
    if not any(p.num_gt.values()):
        raise no_box_error()
    return _breakdown(p)


def _image(p: _Points, anns: list[Mapping[str, Any]], dets: Detections, idx: list[int], fg: float, bg: float) -> None:
    """Match one image's detections as tidecv does and append them (and its missed GT) to ``p``."""
    gts = [a for a in anns if not a["iscrowd"]]
    crowds = [a for a in anns if a["iscrowd"]]
    g_lab = np.array([int(a["category_id"]) for a in gts], dtype=np.int64)
    for c in g_lab.tolist():
        p.num_gt[c] = p.num_gt.get(c, 0) + 1
    order = sorted(idx, key=lambda k: -float(dets.scores[k]))[:MAX_DETS]  # stable: file order on ties
    d_lab = dets.category_ids[order].astype(np.int64)
    d_box = dets.boxes_xywh[order].astype(np.float64)
    n, g = len(order), len(gts)
    used = np.zeros(g, dtype=bool)
    state = np.full(n, _FP)
    iou = _iou_matrix(d_box, np.array([a["bbox"] for a in gts], dtype=np.float64).reshape(-1, 4), crowd=False)
    same = d_lab[:, None] == g_lab[None, :]
    cls_iou = iou * same
    buffer = cls_iou.copy()
    for k in range(n if g else 0):
        j = int(np.argmax(buffer[k]))
        if buffer[k, j] >= fg:
            state[k], used[j] = _TP, True
            buffer[:, j] = 0
    for r in crowds:
        ciou = _iou_matrix(d_box, np.array([r["bbox"]], dtype=np.float64), crowd=True)[:, 0]
        state[(state == _FP) & (ciou > fg) & (d_lab == int(r["category_id"]))] = _IGNORED
    kinds, targets = [""] * n, np.full(n, -1)
    usable, best, best_score = np.zeros(g, dtype=bool), np.full(g, -1), np.full(g, -1.0)
    other_iou, used_iou = iou * ~same, iou * same * used[None, :]
    for k in np.flatnonzero(state != _TP).tolist():
        if not g:
            kinds[k] = "bkg"
            continue
        j = int(np.argmax(cls_iou[k]))
        jo = int(np.argmax(other_iou[k]))
        if bg <= cls_iou[k, j] <= fg:
            kinds[k], targets[k] = "loc", j
        elif other_iou[k, jo] >= fg:
            kinds[k], targets[k] = "cls", jo
        elif used_iou[k].max() >= fg:
            kinds[k] = "dupe"
        elif iou[k].max() <= bg:
            kinds[k] = "bkg"
        else:
            kinds[k] = "both"
        t = targets[k]
        if t >= 0 and not used[t]:  # tidecv's BestGTMatch: the highest-scoring cls / loc error wins the GT
            usable[t] = True
            score = float(dets.scores[order[k]])
            if best_score[t] < score:
                best_score[t], best[t] = score, k
    for k in range(n):
        t = targets[k]
        fixable = t >= 0 and not used[t] and best[t] == k
        p.label.append(int(d_lab[k]))
        p.score.append(float(dets.scores[order[k]]))
        p.state.append(int(state[k]))
        p.kind.append(kinds[k])
        p.fixed_label.append(int(g_lab[t]) if fixable else -1)
    for c in g_lab[~used & ~usable].tolist():
        p.missed[c] = p.missed.get(c, 0) + 1


def _iou_matrix(dets_xywh: np.ndarray, gts_xywh: np.ndarray, crowd: bool) -> np.ndarray:
    """IoU ``[n, g]`` as pycocotools' ``mask.iou`` on boxes (crowd: intersection over the detection's area)."""
    n, g = len(dets_xywh), len(gts_xywh)
    if not n or not g:
        return np.zeros((n, g))
    d, t = np.repeat(dets_xywh, g, axis=0), np.tile(gts_xywh, (n, 1))
    return pair_iou(d, t, np.full(n * g, crowd)).reshape(n, g)


def _ap(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    """tidecv's ``APDataObject.get_ap`` / 100: ``scores`` / ``tp`` in storage order (stable sort by score)."""
    if num_gt == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    hits = tp[order]
    true = np.cumsum(hits)
    precision = true / np.arange(1, len(hits) + 1)
    recall = true / num_gt
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    at = np.searchsorted(recall, _RECALLS, side="left")
    values = [float(precision[i]) if i < len(precision) else 0.0 for i in at.tolist()]
    return sum(values) / len(values)


def _map(p: _Points, fix: str) -> float:
    """tidecv's mAP after fixing the errors of type ``fix`` ("" = none): the fixed detections' points first, then
    the true positives (the order its ``fix_errors`` stores them in, which breaks score ties)."""
    label, score = np.array(p.label, dtype=np.int64), np.array(p.score)
    state, kind = np.array(p.state), np.array(p.kind, dtype=object)
    fixed_label = np.array(p.fixed_label, dtype=np.int64)
    tp = state == _TP
    is_fixed = (kind == fix) & (fix != "")
    error_kept = ~tp & ((is_fixed & (fixed_label >= 0)) | (~is_fixed & (state == _FP)))
    error_label = np.where(is_fixed, fixed_label, label)
    error_tp = is_fixed & (fixed_label >= 0)
    if fix == "":  # the base AP: tidecv's ap_data, every counted detection in processing order
        lab, sc, hit = label[state != _IGNORED], score[state != _IGNORED], tp[state != _IGNORED]
    else:
        lab = np.r_[error_label[error_kept], label[tp]]
        sc, hit = np.r_[score[error_kept], score[tp]], np.r_[error_tp[error_kept], tp[tp]]
    num_gt = {c: n - (p.missed.get(c, 0) if fix == "miss" else 0) for c, n in p.num_gt.items()}
    classes = list(dict.fromkeys([*p.num_gt, *label[state != _IGNORED].tolist()]))
    aps = []
    for c in classes:
        mine = lab == c
        if not mine.any() and num_gt.get(c, 0) == 0:
            continue  # tidecv's is_empty(): no detection and no GT left
        aps.append(_ap(sc[mine], hit[mine], num_gt.get(c, 0)))
    return sum(aps) / len(aps)


def _breakdown(p: _Points) -> ErrorBreakdown:
    base = _map(p, "")
    counts = {t: sum(1 for k in p.kind if k == t) for t in ERROR_TYPES if t != "miss"}
    counts["miss"] = sum(p.missed.values())
    return ErrorBreakdown(
        ap50=base,
        dap={t: max(_map(p, t) - base, 0.0) for t in ERROR_TYPES},
        counts={t: counts[t] for t in ERROR_TYPES},
        rule="tidecv",
    )
