"""Matching for the error breakdown (:mod:`detector.engine.evaluation.errors.breakdown`): every detection against every
ground-truth box of its image, vectorised with NumPy over all images at once, and the greedy score-order matching of
pycocotools at one IoU threshold.

The matching reproduces pycocotools' ``COCOeval`` for one IoU threshold, area range "all" and ``maxDets=100``: the
100 highest-scoring detections per image and category (ties: input order); each, in score order, takes the free
ground truth with the highest IoU >= the threshold, non-ignored boxes before ignored ones (crowd regions, whose IoU
is intersection / detection area, and boxes outside the area range); a detection that takes an ignored box is
itself ignored (neither true nor false positive). IoUs use pycocotools' formula operation for operation, so ties
and threshold cases fall the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from detector.engine.evaluation.detections import Detections

MAX_DETS = 100  # pycocotools' maxDets[-1]: detections kept per image and category
AREA_ALL = (0.0, 1e10)  # pycocotools' "all" area range: [0 ** 2, 1e5 ** 2] px^2
_CHUNK_PAIRS = 2_000_000  # detection-GT pairs held in memory at once


@dataclass(frozen=True)
class GroundTruthArrays:
    """The ground-truth boxes of the evaluated images, in annotation-file order. ``labels``: index into ``cat_ids``
    (sorted category ids); ``boxes_xywh`` px; ``crowd``: iscrowd; ``ignore``: crowd or area outside "all"."""

    ann_ids: np.ndarray  # int64 [G]
    image_ids: np.ndarray  # int64 [G]
    labels: np.ndarray  # int64 [G]
    boxes_xywh: np.ndarray  # float64 [G, 4]
    crowd: np.ndarray  # bool [G]
    ignore: np.ndarray  # bool [G]
    cat_ids: np.ndarray  # int64 [K], sorted


@dataclass(frozen=True)
class MatchedDetections:
    """The detections kept by the ``maxDets`` cut, matched at one IoU threshold (all arrays ``[N]``).

    ``index``: position in the input :class:`Detections`; ``rank``: evaluation order over all images (0 first: score
    descending, then image id, then input order, as pycocotools ranks a category's detections); ``gt``: index of the
    matched ground truth, -1 if none; ``tp`` /
    ``ignored``: true positive / ignored (matched a crowd or out-of-range box, or unmatched and out of range);
    neither: false positive. ``iou_same`` / ``gt_same``: the highest IoU with a non-ignored GT of the detection's
    own category and that GT's index (0.0 / -1 if none), ``iou_other`` / ``gt_other`` the same for other categories.
    ``dropped``: detections beyond the ``maxDets`` cut (not in the arrays).
    """

    index: np.ndarray
    image_ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    rank: np.ndarray
    gt: np.ndarray
    tp: np.ndarray
    ignored: np.ndarray
    iou_same: np.ndarray
    gt_same: np.ndarray
    iou_other: np.ndarray
    gt_other: np.ndarray
    dropped: int


def ground_truth_arrays(gt: dict[str, Any], img_ids: np.ndarray) -> GroundTruthArrays:
    """The annotations of the images ``img_ids`` of a checked COCO dict (see ``load_gt_dataset``) as arrays."""
    keep = set(img_ids.tolist())
    anns = [a for a in gt["annotations"] if a["image_id"] in keep]
    cat_ids = np.array(sorted(int(c["id"]) for c in gt["categories"]), dtype=np.int64)
    boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    area = np.array([float(a["area"]) for a in anns], dtype=np.float64)
    crowd = np.array([bool(a["iscrowd"]) for a in anns], dtype=bool)
    return GroundTruthArrays(
        ann_ids=np.array([int(a["id"]) for a in anns], dtype=np.int64),
        image_ids=np.array([int(a["image_id"]) for a in anns], dtype=np.int64),
        labels=np.searchsorted(cat_ids, np.array([int(a["category_id"]) for a in anns], dtype=np.int64)),
        boxes_xywh=boxes,
        crowd=crowd,
        ignore=crowd | (area < AREA_ALL[0]) | (area > AREA_ALL[1]),
        cat_ids=cat_ids,
    )


def pair_iou(dets_xywh: np.ndarray, gts_xywh: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of paired boxes ``[P, 4]`` xywh px, as pycocotools' ``bbIou`` computes it (crowd: intersection over the
    detection's area)."""
    dx, dy, dw, dh = dets_xywh.T
    gx, gy, gw, gh = gts_xywh.T
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    det_area = dw * dh
    union = np.where(crowd, det_area, det_area + gw * gh - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=overlap)


def segment_argmax(segments: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each segment id in ``[0, n)``: the highest of ``values`` and the position (into ``values``) of its first
    occurrence; 0.0 and -1 for segments without entries."""
    best_value, best_pos = np.zeros(n), np.full(n, -1, dtype=np.int64)
    if len(values):
        order = np.lexsort((-np.arange(len(values)), values, segments))  # per segment: max value last, first wins ties
        s = segments[order]
        last = order[np.r_[s[1:] != s[:-1], True]]
        best_value[segments[last]] = values[last]
        best_pos[segments[last]] = last
    return best_value, best_pos


def keep_top(dets: Detections, labels: np.ndarray) -> np.ndarray:
    """Indices of the detections pycocotools evaluates: the ``MAX_DETS`` highest-scoring per image and category
    (ties: input order), sorted by image, category, score descending."""
    order = np.lexsort((np.arange(len(dets)), -dets.scores, labels, dets.image_ids))
    img, lab = dets.image_ids[order], labels[order]
    starts = np.flatnonzero(np.r_[True, (img[1:] != img[:-1]) | (lab[1:] != lab[:-1])])
    sizes = np.diff(np.r_[starts, len(order)])
    within = np.arange(len(order)) - np.repeat(starts, sizes)
    return order[within < MAX_DETS]


def match_detections(gt: GroundTruthArrays, dets: Detections, iou_thr: float) -> MatchedDetections:
    """Keep the top ``MAX_DETS`` per image and category, match them at ``iou_thr`` as pycocotools does and record
    each one's best IoU with a non-ignored GT of its own and of another category (see :class:`MatchedDetections`)."""
    labels_all = np.searchsorted(gt.cat_ids, dets.category_ids)
    kept = keep_top(dets, labels_all)
    n = len(kept)
    img, labels, scores = dets.image_ids[kept], labels_all[kept], dets.scores[kept]
    boxes = dets.boxes_xywh[kept]
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((kept, img, -scores))] = np.arange(n)  # ties: image id, then input order (as pycocotools)
    # within one image and category, detections run in score order; ``kept`` is sorted that way
    starts = np.flatnonzero(np.r_[n > 0, (img[1:] != img[:-1]) | (labels[1:] != labels[:-1])])
    turn = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))

    gt_by_image = np.argsort(gt.image_ids, kind="stable")
    gt_img_sorted = gt.image_ids[gt_by_image]
    first = np.searchsorted(gt_img_sorted, img, side="left")
    count = np.searchsorted(gt_img_sorted, img, side="right") - first

    iou_same, gt_same = np.zeros(n), np.full(n, -1, dtype=np.int64)
    iou_other, gt_other = np.zeros(n), np.full(n, -1, dtype=np.int64)
    cand_det, cand_gt, cand_iou = [], [], []
    csum = np.cumsum(count)
    lo = 0
    while lo < n:  # chunks of detections with at most _CHUNK_PAIRS pairs (one detection's pairs are never split)
        hi = max(lo + 1, int(np.searchsorted(csum, (csum[lo - 1] if lo else 0) + _CHUNK_PAIRS, side="right")))
        c = count[lo:hi]
        pd = np.repeat(np.arange(lo, hi), c)
        offsets = np.arange(len(pd)) - np.repeat(np.cumsum(c) - c, c)
        pg = gt_by_image[np.repeat(first[lo:hi], c) + offsets]
        crowd = gt.crowd[pg]
        iou = pair_iou(boxes[pd], gt.boxes_xywh[pg], crowd)
        same = gt.labels[pg] == labels[pd]
        counted = ~gt.ignore[pg]
        for mask, best_iou, best_gt in ((same & counted, iou_same, gt_same), (~same & counted, iou_other, gt_other)):
            value, pos = segment_argmax(pd[mask] - lo, iou[mask], hi - lo)
            best_iou[lo:hi] = value
            found = pos >= 0
            best_gt[lo:hi][found] = pg[mask][pos[found]]
        cand = same & (iou >= min(iou_thr, 1 - 1e-10))  # pycocotools caps the threshold below 1
        cand_det.append(pd[cand])
        cand_gt.append(pg[cand])
        cand_iou.append(iou[cand])
        lo = hi

    matched = _greedy_match(
        gt,
        np.concatenate(cand_det) if cand_det else np.zeros(0, np.int64),
        np.concatenate(cand_gt) if cand_gt else np.zeros(0, np.int64),
        np.concatenate(cand_iou) if cand_iou else np.zeros(0),
        turn,
        n,
    )
    hit = matched >= 0
    gt_ignored = np.zeros(n, dtype=bool)
    gt_ignored[hit] = gt.ignore[matched[hit]]
    area = boxes[:, 2] * boxes[:, 3]
    out_of_range = (area < AREA_ALL[0]) | (area > AREA_ALL[1])
    return MatchedDetections(
        index=kept,
        image_ids=img,
        labels=labels,
        scores=scores,
        rank=rank,
        gt=matched,
        tp=hit & ~gt_ignored,
        ignored=gt_ignored | (~hit & out_of_range),
        iou_same=iou_same,
        gt_same=gt_same,
        iou_other=iou_other,
        gt_other=gt_other,
        dropped=len(dets) - n,
    )


def _greedy_match(
    gt: GroundTruthArrays, det: np.ndarray, gt_idx: np.ndarray, iou: np.ndarray, turn: np.ndarray, n: int
) -> np.ndarray:
    """pycocotools' greedy matching over candidate pairs (same image and category, IoU >= threshold): turn by turn
    (the k-th detection of every image and category at once), each detection takes the free GT with the highest
    IoU, non-ignored first, ties to the later GT in file order. Crowd regions stay free. Returns GT index [n], -1."""
    matched = np.full(n, -1, dtype=np.int64)
    taken = np.zeros(len(gt.image_ids), dtype=bool)
    order = np.argsort(turn[det], kind="stable")
    det, gt_idx, iou = det[order], gt_idx[order], iou[order]
    bounds = np.flatnonzero(np.r_[True, np.diff(turn[det]) != 0, True]) if len(det) else np.zeros(1, np.int64)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        d, g, v = det[a:b], gt_idx[a:b], iou[a:b]
        free = ~taken[g] | gt.crowd[g]
        d, g, v = d[free], g[free], v[free]
        if not len(d):
            continue
        pick = np.lexsort((g, v, ~gt.ignore[g], d))  # per detection: non-ignored, then IoU, then later GT: last
        last = pick[np.r_[d[pick][1:] != d[pick][:-1], True]]
        matched[d[last]] = g[last]
        taken[g[last]] |= ~gt.crowd[g[last]]
    return matched
