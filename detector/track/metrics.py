"""MOT metrics of predicted tracks against ground-truth tracks: CLEAR MOT (MOTA, MOTP, ID switches, fragmentations),
the identity metrics (IDF1, IDP, IDR) and HOTA (DetA, AssA, LocA), written from their published definitions
(Bernardin & Stiefelhagen 2008; Ristani et al. 2016; Luiten et al. 2021), class-agnostic (every box counts, whatever
its class). Boxes match when their IoU >= 0.5 (CLEAR, identity); HOTA averages over IoU thresholds 0.05..0.95.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from detector.track.association import iou_matrix
from detector.track.mot_files import MotRows

HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)  # 19 IoU thresholds
_EPS = np.finfo(float).eps


def _frames(gt: MotRows, pred: MotRows) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame (1..last of either): gt ids, pred ids, IoU ``[G, P]``."""
    last = int(max(gt.frames.max(initial=0), pred.frames.max(initial=0)))
    out = []
    for f in range(1, last + 1):
        g_ids, g_boxes = gt.frame(f)
        p_ids, p_boxes = pred.frame(f)
        out.append((g_ids, p_ids, iou_matrix(g_boxes, p_boxes)))
    return out


def clear_mot(gt: MotRows, pred: MotRows, iou: float = 0.5) -> dict[str, float]:
    """CLEAR MOT: per frame a gt box keeps last frame's partner when their IoU >= ``iou`` (bonus in the assignment),
    the rest are matched by the Hungarian method on IoU. ``MOTA = 1 - (FN + FP + IDSW) / GT``; ``IDSW`` counts a
    gt matched to another ID than at its last match; ``Frag`` counts the times a gt, tracked, stops being tracked and
    is tracked again; ``MOTP`` the mean IoU of the matches."""
    tp = fp = fn = idsw = 0
    iou_sum = 0.0
    last_match: dict[int, int] = {}  # gt id -> pred id at its last match (any frame before)
    prev_frame: dict[int, int] = {}  # gt id -> pred id on the previous frame
    runs: dict[int, int] = {}  # gt id -> tracked runs started
    for g_ids, p_ids, sim in _frames(gt, pred):
        if len(g_ids) == 0 or len(p_ids) == 0:  # as TrackEval: such a frame leaves "previous frame" as it was
            fn += len(g_ids)
            fp += len(p_ids)
            continue
        score = sim.copy()
        cont = np.array([[prev_frame.get(int(g)) == int(p) for p in p_ids] for g in g_ids], bool).reshape(sim.shape)
        score = np.where(sim >= iou - _EPS, score + 1000.0 * cont, 0.0)
        rows, cols = linear_sum_assignment(-score) if score.size else (np.zeros(0, int), np.zeros(0, int))
        ok = sim[rows, cols] >= iou - _EPS if len(rows) else np.zeros(0, bool)
        rows, cols = rows[ok], cols[ok]
        now: dict[int, int] = {}
        for r, c in zip(rows, cols, strict=True):
            g, p = int(g_ids[r]), int(p_ids[c])
            if g in last_match and last_match[g] != p:
                idsw += 1
            if g not in prev_frame:
                runs[g] = runs.get(g, 0) + 1
            last_match[g] = p
            now[g] = p
            iou_sum += float(sim[r, c])
        prev_frame = now
        tp += len(rows)
        fn += len(g_ids) - len(rows)
        fp += len(p_ids) - len(rows)
    num_gt = tp + fn
    frag = sum(n - 1 for n in runs.values())
    return {
        "MOTA": 1 - (fn + fp + idsw) / max(num_gt, 1),
        "MOTP": iou_sum / max(tp, 1),
        "IDSW": idsw,
        "Frag": frag,
        "TP": tp,
        "FP": fp,
        "FN": fn,
        "GT": num_gt,
    }


def identity(gt: MotRows, pred: MotRows, iou: float = 0.5) -> dict[str, float]:
    """IDF1/IDP/IDR: the one-to-one pairing of gt and predicted IDs that maximises the frames where both are present
    with IoU >= ``iou`` (IDTP); ``IDF1 = 2 IDTP / (gt boxes + predicted boxes)``."""
    g_uni, p_uni = np.unique(gt.ids), np.unique(pred.ids)
    gi, pi = {int(v): k for k, v in enumerate(g_uni)}, {int(v): k for k, v in enumerate(p_uni)}
    overlap = np.zeros((len(g_uni), len(p_uni)))
    for g_ids, p_ids, sim in _frames(gt, pred):
        for r, c in zip(*np.nonzero(sim >= iou - _EPS), strict=True):
            overlap[gi[int(g_ids[r])], pi[int(p_ids[c])]] += 1
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    idtp = float(overlap[rows, cols].sum()) if overlap.size else 0.0
    n_gt, n_pred = len(gt), len(pred)
    return {
        "IDF1": 2 * idtp / max(n_gt + n_pred, 1),
        "IDP": idtp / max(n_pred, 1),
        "IDR": idtp / max(n_gt, 1),
        "IDTP": idtp,
    }


def hota(gt: MotRows, pred: MotRows) -> dict[str, float]:
    """HOTA = sqrt(DetA * AssA), averaged over the IoU thresholds :data:`HOTA_ALPHAS`. Matching per frame maximises
    IoU weighted by how well the two IDs align over the whole video (their soft co-occurrence)."""
    frames = _frames(gt, pred)
    g_uni, p_uni = np.unique(gt.ids), np.unique(pred.ids)
    gi, pi = {int(v): k for k, v in enumerate(g_uni)}, {int(v): k for k, v in enumerate(p_uni)}
    potential = np.zeros((len(g_uni), len(p_uni)))
    g_count, p_count = np.zeros((len(g_uni), 1)), np.zeros((1, len(p_uni)))
    idx = []
    for g_ids, p_ids, sim in frames:
        g_ix = np.array([gi[int(v)] for v in g_ids], int)
        p_ix = np.array([pi[int(v)] for v in p_ids], int)
        idx.append((g_ix, p_ix))
        denom = sim.sum(0, keepdims=True) + sim.sum(1, keepdims=True) - sim
        soft = np.where(denom > _EPS, sim / np.maximum(denom, _EPS), 0.0)
        potential[g_ix[:, None], p_ix[None, :]] += soft
        g_count[g_ix] += 1
        p_count[0, p_ix] += 1
    align = potential / np.maximum(g_count + p_count - potential, _EPS)
    n = len(HOTA_ALPHAS)
    tp, fn, fp, loc = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    matches = np.zeros((n, len(g_uni), len(p_uni)))
    for (g_ix, p_ix), (_, _, sim) in zip(idx, frames, strict=True):
        if sim.size == 0:
            fn += len(g_ix)
            fp += len(p_ix)
            continue
        rows, cols = linear_sum_assignment(-(align[g_ix[:, None], p_ix[None, :]] * sim))
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = sim[rows, cols] >= alpha - _EPS
            r, c = rows[ok], cols[ok]
            tp[a] += len(r)
            fn[a] += len(g_ix) - len(r)
            fp[a] += len(p_ix) - len(r)
            loc[a] += sim[r, c].sum()
            matches[a, g_ix[r], p_ix[c]] += 1
    ass = np.zeros(n)
    for a in range(n):
        m = matches[a]
        ass_iou = m / np.maximum(1, g_count + p_count - m)
        ass[a] = (m * ass_iou).sum() / max(tp[a], 1)
    det = tp / np.maximum(1, tp + fn + fp)
    h = np.sqrt(det * ass)
    return {
        "HOTA": float(h.mean()),
        "DetA": float(det.mean()),
        "AssA": float(ass.mean()),
        "LocA": float((np.maximum(1e-10, loc) / np.maximum(1e-10, tp)).mean()),
    }


def mot_metrics(gt: MotRows, pred: MotRows) -> dict[str, float]:
    """HOTA, MOTA, IDF1 and the rest (see :func:`hota`, :func:`clear_mot`, :func:`identity`) in one dict."""
    return {**hota(gt, pred), **clear_mot(gt, pred), **identity(gt, pred)}
