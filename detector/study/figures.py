"""The study's figures as PNG bytes (matplotlib's object API on the Agg canvas: no global backend, works headless):
AP vs latency, AP per object size, PR curves overlaid, error breakdown per backbone."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from detector.engine.evaluation.errors.breakdown import ERROR_NAMES, ERROR_TYPES
from detector.study.summary import BackboneSummary, Spread

DPI = 100


def png_bytes(fig: Figure) -> bytes:
    """The figure rendered as PNG."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _yerr(spreads: list[Spread]) -> np.ndarray:
    """Asymmetric error bars (mean - min, max - mean) ``[2, N]``; zero where undefined."""
    lo = [(s.mean - s.min) if s.mean is not None and s.min is not None else 0.0 for s in spreads]
    hi = [(s.max - s.mean) if s.mean is not None and s.max is not None else 0.0 for s in spreads]
    return np.array([lo, hi])


def ap_vs_latency(summaries: list[BackboneSummary]) -> bytes:
    """Mean AP (bars: min..max over seeds) against CPU batch-1 latency; GFLOPs on x when no latency was timed."""
    timed = all(s.latency_ms is not None for s in summaries)
    xs = [float(s.latency_ms) if timed and s.latency_ms is not None else s.gflops for s in summaries]
    ap = [s.metrics["AP"] for s in summaries]
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for i, s in enumerate(summaries):
        mean = ap[i].mean
        y = float(mean) if mean is not None else 0.0
        ax.errorbar([xs[i]], [y], yerr=_yerr([ap[i]]), fmt="o", capsize=4, ms=7, label=s.label)
        ax.annotate(s.label, (xs[i], y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("CPU latency, batch 1, ms (fused, channels_last)" if timed else "GFLOPs (no latency timed)")
    ax.set_ylabel("AP@[.5:.95] (mean, bars: min-max over seeds)")
    ax.set_title("Accuracy vs speed (up and left is better)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def ap_per_size(summaries: list[BackboneSummary]) -> bytes:
    """Grouped bars: AP of small / medium / large objects (and all) per backbone, min..max over seeds."""
    keys = ("AP", "APs", "APm", "APl")
    names = {"AP": "all", "APs": "small", "APm": "medium", "APl": "large"}
    fig = Figure(figsize=(max(6.5, 1.4 * len(summaries) + 3), 4.5))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(keys))
    width = 0.8 / max(len(summaries), 1)
    for i, s in enumerate(summaries):
        spreads = [s.metrics[k] for k in keys]
        heights = [sp.mean if sp.mean is not None else 0.0 for sp in spreads]
        ax.bar(x + (i - (len(summaries) - 1) / 2) * width, heights, width, yerr=_yerr(spreads), capsize=3,
               label=s.label)  # fmt: skip
    ax.set_xticks(x)
    ax.set_xticklabels([names[k] for k in keys])
    ax.set_ylabel("AP@[.5:.95]")
    ax.set_ylim(0, 1)
    ax.set_title("AP per object size (COCO areas; a size without ground truth is left at 0)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def pr_curves(summaries: list[BackboneSummary]) -> bytes:
    """Mean precision-recall curves over classes at IoU 0.5 (solid) and 0.75 (dashed), averaged over seeds."""
    fig = Figure(figsize=(6.5, 5))
    ax = fig.add_subplot(1, 1, 1)
    for i, s in enumerate(summaries):
        color = f"C{i % 10}"
        ax.plot(s.pr["recall"], s.pr["iou50"], "-", color=color, lw=2, label=f"{s.label} @0.5")
        ax.plot(s.pr["recall"], s.pr["iou75"], "--", color=color, lw=1.2, label=f"{s.label} @0.75")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision (mean over classes)")
    ax.set_title("Precision-recall, mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=7, ncol=2)
    fig.tight_layout()
    return png_bytes(fig)


def error_breakdown_bars(summaries: list[BackboneSummary]) -> bytes:
    """Grouped bars: AP50 gained by fixing each error type (TIDE dAP), per backbone, mean over seeds."""
    fig = Figure(figsize=(max(7.0, 1.2 * len(summaries) + 5), 4.5))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(ERROR_TYPES))
    width = 0.8 / max(len(summaries), 1)
    for i, s in enumerate(summaries):
        ax.bar(x + (i - (len(summaries) - 1) / 2) * width, [s.dap[t] for t in ERROR_TYPES], width, label=s.label)
    ax.set_xticks(x)
    ax.set_xticklabels([ERROR_NAMES[t] for t in ERROR_TYPES], fontsize=8)
    ax.set_ylabel("dAP50 (AP50 gained by fixing it)")
    ax.set_title("Error breakdown (TIDE-style), mean over seeds")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)
