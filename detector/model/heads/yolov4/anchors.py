"""Auto-anchor: best possible recall (BPR) of anchors on a dataset's box sizes and k-means (+ evolution) anchors.

All sizes ``wh`` are box widths/heights in input pixels, i.e. after letterbox scaling to ``img_size``
(see :func:`letterboxed_wh`). Anchors are ``[K, 2]`` or ``[L, A, 2]`` tensors in the same pixels; the config form
(per level ``[w0, h0, w1, h1, ...]``) converts with :func:`anchors_to_config`.
"""

from __future__ import annotations

from typing import Any

import torch


def _as_wh(x: Any) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64).reshape(-1, 2)


def letterboxed_wh(boxes_wh: Any, image_hw: Any, img_size: int) -> torch.Tensor:
    """Original box sizes ``[N, 2]`` (pixels) of images of size ``image_hw [N, 2]`` (h, w) -> sizes ``[N, 2]`` after
    letterboxing each image to ``img_size`` (scale = img_size / max(h, w))."""
    wh = _as_wh(boxes_wh)
    hw = torch.as_tensor(image_hw, dtype=torch.float64).reshape(-1, 2)
    return wh * (img_size / hw.amax(1, keepdim=True))


def _ratio_fitness(wh: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """``[N]`` best (over anchors) of the worst side ratio ``min(r, 1/r)`` in (0, 1]; 1 = a perfect anchor."""
    r = wh[:, None, :] / anchors[None, :, :]
    return torch.minimum(r, 1.0 / r).amin(-1).amax(1)


def best_possible_recall(wh: Any, anchors: Any, anchor_t: float = 4.0) -> float:
    """Fraction of boxes ``wh [N, 2]`` that match at least one anchor under the ``anchor_t`` shape-ratio rule."""
    wh, anchors = _as_wh(wh), _as_wh(anchors)
    wh = wh[(wh > 0).all(1)]
    if not len(wh):
        return 1.0
    return float((_ratio_fitness(wh, anchors) > 1.0 / anchor_t).double().mean())


def _fitness(wh: torch.Tensor, anchors: torch.Tensor, anchor_t: float) -> float:
    best = _ratio_fitness(wh, anchors)
    return float((best * (best > 1.0 / anchor_t)).mean())


def kmeans_anchors(
    wh: Any, n: int = 9, img_size: int = 640, anchor_t: float = 4.0, gens: int = 1000, seed: int = 0, iters: int = 30
) -> torch.Tensor:
    """``n`` anchors ``[n, 2]`` (pixels, sorted by area) for box sizes ``wh [N, 2]`` (pixels at ``img_size``).

    k-means on the whitened sizes (``iters`` Lloyd steps, seeded), then ``gens`` generations of random multiplicative
    mutation keeping a mutation when it improves the fitness (mean best ratio of the boxes that match).
    Boxes under 2 pixels are ignored.
    """
    wh = _as_wh(wh)
    wh = wh[(wh >= 2.0).all(1)]
    if len(wh) < n:
        raise ValueError(f"kmeans_anchors needs at least n={n} boxes of >= 2 pixels, got {len(wh)}")
    gen = torch.Generator().manual_seed(seed)
    std = wh.std(0).clamp(min=1e-6)
    x = wh / std
    centers = x[torch.randperm(len(x), generator=gen)[:n]].clone()
    for _ in range(iters):
        assign = torch.cdist(x, centers).argmin(1)
        for k in range(n):
            members = x[assign == k]
            if len(members):
                centers[k] = members.mean(0)
    anchors = centers * std
    best = _fitness(wh, anchors, anchor_t)
    for _ in range(gens):
        mutate = (torch.rand(anchors.shape, generator=gen, dtype=torch.float64) < 0.9).double()
        factor = (1 + mutate * torch.randn(anchors.shape, generator=gen, dtype=torch.float64) * 0.1).clamp(0.3, 3.0)
        cand = (anchors * factor).clamp(min=2.0, max=float(img_size) * 2)
        fit = _fitness(wh, cand, anchor_t)
        if fit > best:
            best, anchors = fit, cand
    return anchors[anchors.prod(1).argsort()].float()


def anchors_to_config(anchors: Any, num_levels: int = 3) -> list[list[float]]:
    """``[K, 2]`` anchors (sorted small -> large) -> config rows, one per level: ``[[w0, h0, w1, h1, ...], ...]``."""
    a = _as_wh(anchors)
    if len(a) % num_levels:
        raise ValueError(f"{len(a)} anchors cannot be split evenly over {num_levels} levels")
    return [[round(float(v), 1) for v in row] for row in a.reshape(num_levels, -1).tolist()]


def check_anchors(
    dataset_wh: Any,
    anchors: Any,
    anchor_t: float = 4.0,
    img_size: int = 640,
    thr: float = 0.98,
    gens: int = 1000,
    seed: int = 0,
) -> tuple[list[list[float]] | None, dict[str, Any]]:
    """Check ``anchors`` (config rows or ``[L, A, 2]``) against box sizes ``dataset_wh [N, 2]`` (input pixels).

    When BPR < ``thr``, k-means anchors are computed and returned (in config form) if they improve the BPR; otherwise
    the first return value is None. The report has ``bpr_before``, ``bpr_after``, ``changed`` and ``message``.
    """
    a = torch.as_tensor(anchors, dtype=torch.float64)
    num_levels = a.shape[0] if a.dim() >= 2 else 1
    a = a.reshape(-1, 2)
    bpr = best_possible_recall(dataset_wh, a, anchor_t)
    report: dict[str, Any] = {"bpr_before": bpr, "bpr_after": bpr, "changed": False}
    if bpr >= thr:
        report["message"] = f"anchors fit the dataset: best possible recall {bpr:.4f} >= {thr}"
        return None, report
    new = kmeans_anchors(dataset_wh, len(a), img_size, anchor_t, gens, seed)
    new_bpr = best_possible_recall(dataset_wh, new, anchor_t)
    report["bpr_after"] = new_bpr
    if new_bpr > bpr:
        report["changed"] = True
        report["message"] = f"best possible recall {bpr:.4f} < {thr}: k-means anchors raise it to {new_bpr:.4f}"
        return anchors_to_config(new, num_levels), report
    report["message"] = f"best possible recall {bpr:.4f} < {thr} but k-means anchors ({new_bpr:.4f}) are no better"
    return None, report
