"""Per-backbone summary over seeds and the pairwise comparisons the report states.

Spread = the range (min..max) of a metric over the seeds. Two backbones are called different only when their AP
ranges do not overlap (the better one's worst seed beats the other's best seed) and each has at least two seeds;
otherwise their AP difference is inside the seed spread and the report says they are not different.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from detector.engine.evaluation.errors.breakdown import ERROR_TYPES

METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl")


@dataclass
class Spread:
    """A metric over seeds: ``values`` in seed order; ``mean``/``min``/``max``/``std`` (population std; 0 for one
    value) over the defined ones; all None when none is defined (e.g. APs = -1: no small objects)."""

    values: list[float]
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    std: float | None = None

    @classmethod
    def of(cls, values: list[float], undefined_below: float | None = None) -> Spread:
        vals = [v for v in values if v is not None and math.isfinite(v)]
        if undefined_below is not None:
            vals = [v for v in vals if v >= undefined_below]
        if not vals:
            return cls(list(values))
        return cls(list(values), statistics.fmean(vals), min(vals), max(vals), statistics.pstdev(vals))


@dataclass
class BackboneSummary:
    """One backbone over its seeds (see :func:`summarize`)."""

    label: str
    backbone: dict[str, Any]  # the model.backbone section
    seeds: list[int]
    metrics: dict[str, Spread]
    params: int
    gflops: float
    latency_ms: float | None
    latency_runs_ms: list[float]
    gpu_img_s: float | None
    train_s: Spread
    images_per_s: Spread
    dap: dict[str, float]  # mean over seeds of each error type's dAP50
    counts: dict[str, float]  # mean over seeds of each error type's count
    pr: dict[str, list[float]]  # mean over seeds: recall, iou50, iou75, mean
    runs: list[dict[str, Any]] = field(default_factory=list)  # per seed: seed, stats, train record


@dataclass(frozen=True)
class Comparison:
    """``a`` has the higher mean AP; ``different`` only when the AP ranges over seeds do not overlap."""

    a: str
    b: str
    diff: float
    different: bool
    reason: str


def _mean_curves(curves: list[list[float]]) -> list[float]:
    return [statistics.fmean(col) for col in zip(*curves, strict=True)] if curves else []


def summarize(
    label: str, backbone: dict[str, Any], runs: list[dict[str, Any]], cost: dict[str, Any]
) -> BackboneSummary:
    """``runs``: per seed ``{"seed", "train" (run record), "eval" (evaluation record)}``; ``cost``: the cost
    record. Means and ranges are over the seeds."""
    evals = [r["eval"] for r in runs]
    trains = [r["train"] for r in runs]
    metrics = {k: Spread.of([e["stats"][k] for e in evals], undefined_below=0.0) for k in METRICS}
    cpu, gpu = cost.get("cpu") or {}, cost.get("gpu") or {}
    pr = {k: _mean_curves([e["pr"][k] for e in evals]) for k in ("iou50", "iou75", "mean")}
    pr["recall"] = evals[0]["pr"]["recall"] if evals else []
    return BackboneSummary(
        label=label,
        backbone=backbone,
        seeds=[r["seed"] for r in runs],
        metrics=metrics,
        params=int(cost["params"]),
        gflops=float(cost["gflops"]),
        latency_ms=cpu.get("latency_ms"),
        latency_runs_ms=list(cpu.get("runs_ms", [])),
        gpu_img_s=gpu.get("img_s"),
        train_s=Spread.of([t.get("train_s") for t in trains]),
        images_per_s=Spread.of([t.get("images_per_s") for t in trains]),
        dap={t: statistics.fmean(e["errors"]["dap"][t] for e in evals) for t in ERROR_TYPES},
        counts={t: statistics.fmean(e["errors"]["counts"][t] for e in evals) for t in ERROR_TYPES},
        pr=pr,
        runs=[{"seed": r["seed"], "stats": r["eval"]["stats"], "train": r["train"]} for r in runs],
    )


def compare(summaries: list[BackboneSummary]) -> list[Comparison]:
    """Every pair, the higher mean AP first, ordered by that backbone's rank; see the module docstring."""
    ranked = sorted(summaries, key=lambda s: -(s.metrics["AP"].mean or 0.0))
    out = []
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 :]:
            ma, mb = a.metrics["AP"], b.metrics["AP"]
            diff = (ma.mean or 0.0) - (mb.mean or 0.0)
            if min(len(a.seeds), len(b.seeds)) < 2:
                different, reason = False, "one seed: no seed spread measured, so no difference is established"
            elif ma.min is not None and mb.max is not None and ma.min > mb.max:
                different = True
                reason = f"AP ranges over seeds do not overlap ({_rng(ma)} vs {_rng(mb)})"
            else:
                different = False
                reason = f"inside the seed spread: AP ranges overlap ({_rng(ma)} vs {_rng(mb)})"
            out.append(Comparison(a.label, b.label, diff, different, reason))
    return out


def _rng(s: Spread) -> str:
    return f"{s.min:.4f}-{s.max:.4f}" if s.min is not None and s.max is not None else "-"
