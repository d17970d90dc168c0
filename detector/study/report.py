"""Writing the study report into the study folder: ``study.md`` (+ ``report/*.png``), the self-contained
``study.html`` and ``study.json`` (every number, unrounded)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.config import Config
from detector.output_files import write_bytes_atomic, write_text_atomic
from detector.study.figures import ap_per_size, ap_vs_latency, error_breakdown_bars, pr_curves
from detector.study.folder import write_json
from detector.study.grid import detection_grid, pick_indices
from detector.study.report_content import (
    ReportContent,
    ReportFigure,
    comparison_lines,
    errors_table,
    main_table,
    notes,
    runs_table,
    setup_rows,
)
from detector.study.report_html import render_html
from detector.study.report_md import FIGURE_DIR, render_markdown
from detector.study.summary import BackboneSummary, Comparison


@dataclass
class StudyReport:
    """Everything the report shows. ``grid``: ``(val dataset, [(label, predictions JSON)])`` or None."""

    name: str
    base: str
    shared: Config
    seeds: list[int]
    pretrained: bool
    summaries: list[BackboneSummary]
    comparisons: list[Comparison]
    gpu_note: str
    eval_pattern: str
    grid_images: int
    score_thres: float
    grid: tuple[Any, list[tuple[str, str]]] | None = None
    errors_rule: str = "paper"  # rules of the error breakdown: paper | tidecv (docs/ERRORS.md)


def _figures(r: StudyReport) -> list[ReportFigure]:
    s = r.summaries
    rules = "tidecv 1.0.1's rules" if r.errors_rule == "tidecv" else "the TIDE paper's rules"
    figures = [
        ReportFigure("ap_vs_latency.png", "AP vs latency", "Mean AP over seeds (bars: min-max) against the CPU "
                     "batch-1 latency of the detection path.", ap_vs_latency(s)),
        ReportFigure("ap_per_size.png", "AP per object size", "COCO AP of small (< 32^2 px), medium and large "
                     "objects, mean over seeds (bars: min-max).", ap_per_size(s)),
        ReportFigure("pr_curves.png", "Precision-recall curves", "Mean over classes and seeds; solid IoU 0.5, dashed "
                     "IoU 0.75.", pr_curves(s)),
        ReportFigure("error_breakdown.png", "Error breakdown", f"AP50 each error type costs (TIDE-style dAP by "
                     f"{rules}: fix only that type); the fixes overlap, so they do not add up to 1 - AP50.",
                     error_breakdown_bars(s)),
    ]  # fmt: skip
    if r.grid is not None and r.grid_images > 0:
        dataset, columns = r.grid
        png = detection_grid(dataset, pick_indices(len(dataset), r.grid_images), columns, r.score_thres)
        if png is not None:
            caption = f"Ground truth, then each backbone's detections (score >= {r.score_thres:g}, first seed)."
            figures.append(ReportFigure("detections.png", "Detections side by side", caption, png))
    return figures


def build_content(r: StudyReport) -> ReportContent:
    gpu = any(s.gpu_img_s is not None for s in r.summaries)
    weights = "pretrained backbones" if r.pretrained else "backbones trained from scratch"
    n_diff = sum(c.different for c in r.comparisons)
    intro = [
        f"{len(r.summaries)} {weights} x {len(r.seeds)} seed(s), every other setting identical (see Setup).",
        f"{n_diff} of {len(r.comparisons)} backbone pair(s) differ by more than the seed spread; the others are not "
        "called different."
        if r.comparisons
        else "One backbone: nothing to compare.",
    ]
    cost_note = (
        "Params and GFLOPs (one image at the study's input size; multiply-add = 2 FLOPs, conv/matmul only); CPU "
        "latency: batch 1, float32, BatchNorm fused, channels_last, uint8 image to boxes after NMS; all backbones "
        "timed side by side in one interleaved pass when the report was made (as `tools/benchmark.py` times "
        "competing models), median (min-max) of the runs; each one's `tools/benchmark.py detector` command is in "
        "speed.json. " + r.gpu_note
    )
    return ReportContent(
        title=f"Backbone study: {r.name}",
        intro=intro,
        setup=setup_rows(r.shared, r.seeds, r.pretrained, r.base),
        table=main_table(r.summaries, gpu),
        runs=runs_table(r.summaries),
        errors=errors_table(r.summaries),
        comparisons=comparison_lines(r.comparisons),
        notes=notes(r.summaries, cost_note, r.eval_pattern),
        figures=_figures(r),
    )


def study_json(r: StudyReport) -> dict[str, Any]:
    return {
        "name": r.name,
        "base": r.base,
        "seeds": r.seeds,
        "pretrained": r.pretrained,
        "backbones": [dataclasses.asdict(s) for s in r.summaries],
        "comparisons": [dataclasses.asdict(c) for c in r.comparisons],
        "gpu_note": r.gpu_note,
        "errors_rule": r.errors_rule,
    }


def write_report(study_dir: Path, r: StudyReport) -> dict[str, Path]:
    """Write ``study.md``, ``report/*.png``, ``study.html`` and ``study.json``; returns their paths."""
    content = build_content(r)
    fig_dir = study_dir / FIGURE_DIR
    for f in content.figures:
        write_bytes_atomic(fig_dir / f.name, f.png, fsync=False)
    paths = {"md": study_dir / "study.md", "html": study_dir / "study.html", "json": study_dir / "study.json"}
    write_text_atomic(paths["md"], render_markdown(content), fsync=False)
    write_text_atomic(paths["html"], render_html(content), fsync=False)
    write_json(paths["json"], json.loads(json.dumps(study_json(r), default=str)))
    return paths
