"""Evaluation plots: precision-recall curves and per-class AP bars from an :class:`EvalResult`.

Uses matplotlib's object API (``Figure`` + Agg canvas), so no global backend is touched and it works headless.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from detector.output_files import atomic_path

if TYPE_CHECKING:
    from detector.engine.evaluation.evaluator import EvalResult


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    FigureCanvasAgg(fig)
    with atomic_path(path, fsync=False) as tmp:  # the format comes from the suffix, which the temporary file keeps
        fig.savefig(tmp, dpi=120)
    return path


def mean_pr_curve(result: EvalResult, iou: float | None = 0.5) -> np.ndarray:
    """Mean interpolated precision over categories with GT, ``[101]`` at recall 0.00..1.00.

    ``iou``: one of the 10 thresholds (0.5, 0.55, ... 0.95), or None for the mean over all of them.
    Area "all", maxDets 100. Categories without GT (precision -1) are left out; all zeros if none has GT.
    """
    p = result.precision[:, :, :, 0, -1]  # [T, R, K]
    if iou is not None:
        hits = np.flatnonzero(np.isclose(result.iou_thrs, iou))
        if not hits.size:
            raise ValueError(f"iou must be one of {np.round(result.iou_thrs, 2).tolist()} or None, got {iou}")
        p = p[hits[0] : hits[0] + 1]
    valid = (p > -1).all(axis=1, keepdims=True)  # [T, 1, K]: category has GT at this threshold
    count = valid.sum(axis=(0, 2))
    total = np.where(valid, p, 0.0).sum(axis=(0, 2))
    return total / count if count.any() else np.zeros(p.shape[1])


def plot_pr_curves(result: EvalResult, path: str | Path, *, max_classes: int = 20) -> Path:
    """PR curves to ``path`` (PNG): per-class at IoU 0.5 (thin lines, up to ``max_classes`` with the most GT boxes),
    and the class means at IoU 0.5, 0.75 and 0.5:0.95 (thick lines). Returns the path."""
    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot(1, 1, 1)
    recall = result.rec_thrs
    names = {c["category_id"]: c for c in result.per_class}
    order = sorted(range(len(result.cat_ids)), key=lambda k: -names[result.cat_ids[k]]["num_gt"])
    shown = [k for k in order if names[result.cat_ids[k]]["num_gt"] > 0][:max_classes]
    for k in shown:
        info = names[result.cat_ids[k]]
        ax.plot(recall, np.clip(result.precision[0, :, k, 0, -1], 0, 1), lw=0.8, alpha=0.6,
                label=f"{info['name']} {max(info['AP50'], 0):.3f}")  # fmt: skip
    for iou, style, label in ((0.5, "-", "all @0.5"), (0.75, "--", "all @0.75"), (None, ":", "all @0.5:0.95")):
        ax.plot(recall, mean_pr_curve(result, iou), style, color="black", lw=2.5,
                label=f"{label} {float(mean_pr_curve(result, iou).mean()):.3f}")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    scores = f"AP50 {result.stats['AP50']:.3f}, AP {result.stats['AP']:.3f}"
    ax.set_title(f"Precision-recall ({scores if result.has_ground_truth else 'no ground truth'})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=7, ncol=2 if len(shown) > 10 else 1)
    fig.tight_layout()
    return _save(fig, path)


def plot_per_class_ap(result: EvalResult, path: str | Path) -> Path:
    """Horizontal bars of AP@[.5:.95] and AP50 per category (sorted by AP; categories without GT left out)."""
    classes = sorted((c for c in result.per_class if c["num_gt"] > 0), key=lambda c: c["AP"])
    height = max(3.0, 0.22 * len(classes) + 1.5)
    fig = Figure(figsize=(7, height))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(classes))
    ax.barh(y + 0.2, [c["AP50"] for c in classes], height=0.4, color="tab:orange", label="AP50")
    ax.barh(y - 0.2, [c["AP"] for c in classes], height=0.4, color="tab:blue", label="AP@[.5:.95]")
    ax.set_yticks(y)
    ax.set_yticklabels([c["name"] for c in classes], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Average precision")
    ax.set_title(f"Per-class AP ({len(classes)} classes with ground truth)")
    if not classes:
        ax.text(0.5, 0.5, "no ground truth boxes", ha="center", va="center", transform=ax.transAxes)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)
