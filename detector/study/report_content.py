"""What the study report says, independent of the format: tables as rows of strings, paragraphs, figures.
:mod:`detector.study.report_md` and :mod:`detector.study.report_html` render the same :class:`ReportContent`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detector.config import Config
from detector.engine.evaluation.errors.breakdown import ERROR_NAMES, ERROR_TYPES
from detector.study.summary import METRICS, BackboneSummary, Comparison, Spread


@dataclass(frozen=True)
class ReportFigure:
    """A figure of the report: file name (under ``report/``), title, caption, PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes


@dataclass
class ReportContent:
    title: str
    intro: list[str]  # paragraphs
    setup: list[tuple[str, str]]  # (what, value) rows: the shared recipe
    table: list[list[str]]  # header row, then one row per backbone
    runs: list[list[str]]  # header row, then one row per run
    errors: list[list[str]]  # header row, then one row per backbone
    comparisons: list[str]  # one sentence per pair
    notes: list[str]
    figures: list[ReportFigure] = field(default_factory=list)


def fmt(v: float | None) -> str:
    """A metric with 4 decimals; "-" when undefined (None, or COCO's -1 for "no ground truth")."""
    return "-" if v is None or v < 0 else f"{v:.4f}"


def fmt_range(s: Spread) -> str:
    return "-" if s.min is None or s.max is None else f"{s.min:.4f}-{s.max:.4f}"


def _minutes(s: Spread) -> str:
    return "-" if s.mean is None else f"{s.mean / 60:.2f}"


def _backbone_name(b: dict[str, Any]) -> str:
    extra = [f"{k[0]}{b[k]:g}" for k in ("width_mult", "depth_mult") if b.get(k, 1.0) != 1.0]
    return b["name"] + (f" ({', '.join(extra)})" if extra else "")


def main_table(summaries: list[BackboneSummary], gpu: bool) -> list[list[str]]:
    """Header + one row per backbone: cost, AP mean / range / std over seeds, AP50, AP75, APs/m/l, speed."""
    header = ["backbone", "model.backbone", "params (M)", "GFLOPs", "AP", "AP min-max", "AP std", "AP50", "AP75",
              "APs", "APm", "APl", "CPU latency (ms)"]  # fmt: skip
    header += ["GPU img/s"] if gpu else []
    header += ["train time (min/run)", "train img/s"]
    rows = [header]
    for s in summaries:
        m = s.metrics
        row = [s.label, _backbone_name(s.backbone), f"{s.params / 1e6:.2f}", f"{s.gflops:.2f}", fmt(m["AP"].mean),
               fmt_range(m["AP"]), fmt(m["AP"].std), *(fmt(m[k].mean) for k in METRICS[1:]),
               _latency(s.latency_ms, s.latency_runs_ms)]  # fmt: skip
        row += [("-" if s.gpu_img_s is None else f"{s.gpu_img_s:.0f}")] if gpu else []
        row += [_minutes(s.train_s), "-" if s.images_per_s.mean is None else f"{s.images_per_s.mean:.1f}"]
        rows.append(row)
    return rows


def _latency(median: float | None, runs: list[float]) -> str:
    """``median (min-max)`` ms of the side-by-side pass; "-" when not measured."""
    if median is None:
        return "-"
    return f"{median:.1f} ({min(runs):.1f}-{max(runs):.1f})" if runs else f"{median:.1f}"


def _load(train: dict[str, Any]) -> str:
    """The machine's 1-minute load average at the start / end of each training segment of a run."""
    loads = [x for seg in train.get("segments", []) for x in seg.get("loadavg", [])]
    return " / ".join("-" if x is None else f"{x:.1f}" for x in loads) or "-"


def runs_table(summaries: list[BackboneSummary]) -> list[list[str]]:
    """Header + one row per run: the numbers of ``tools/eval.py`` on its best.pt, training time and speed."""
    rows = [["backbone", "seed", *METRICS, "train time (min)", "train img/s", "machine load (start / end)"]]
    for s in summaries:
        for r in s.runs:
            t = r["train"]
            speed = t.get("images_per_s")
            rows.append([s.label, str(r["seed"]), *(fmt(r["stats"][k]) for k in METRICS),
                         f"{t.get('train_s', 0.0) / 60:.2f}", "-" if speed is None else f"{speed:.1f}",
                         _load(t)])  # fmt: skip
    return rows


def errors_table(summaries: list[BackboneSummary]) -> list[list[str]]:
    """Header + one row per backbone: dAP50 of each error type (mean over seeds), count in brackets."""
    rows = [["backbone", *(ERROR_NAMES[t] for t in ERROR_TYPES)]]
    for s in summaries:
        rows.append([s.label, *(f"{s.dap[t]:.4f} ({s.counts[t]:.0f})" for t in ERROR_TYPES)])
    return rows


def comparison_lines(comparisons: list[Comparison]) -> list[str]:
    out = []
    for c in comparisons:
        verdict = "different" if c.different else "not different"
        out.append(f"{c.a} vs {c.b}: AP {c.diff:+.4f}, {verdict}: {c.reason}")
    return out


def setup_rows(shared: Config, seeds: list[int], pretrained: bool, base: str) -> list[tuple[str, str]]:
    """The recipe every run shares (what the fairness rules keep equal)."""
    m, d, t = shared.model, shared.data, shared.train
    return [
        ("base config", base),
        ("backbone weights", "all pretrained (ImageNet or given files)" if pretrained else "all from scratch"),
        ("neck", f"{m.neck.type}, widths {m.neck.widths}, depth {m.neck.depth} (adapts to each backbone's channels)"),
        ("head", m.head.type),
        ("data", f"train {d.train.ann}, val {d.val.ann}"),
        ("input size", f"{d.img_size} px"),
        ("recipe", f"{t.epochs} epochs, batch {t.batch_size} (nominal {t.nominal_batch_size}), {t.optimizer} "
                   f"lr {t.lr}, {t.scheduler}, EMA {t.ema}, amp {t.amp}, device {t.device}"),
        ("seeds", ", ".join(str(s) for s in seeds)),
    ]  # fmt: skip


def notes(summaries: list[BackboneSummary], cost_note: str, eval_pattern: str) -> list[str]:
    out = [
        "AP numbers are COCO AP@[.5:.95] (AP50, AP75 at one IoU; APs/m/l by COCO area) of each run's best.pt, "
        f"evaluated exactly as `{eval_pattern}` (float32); '-' means no ground truth of that size.",
        "AP is the mean over seeds; 'AP min-max' is the seed spread. Two backbones are only called different when "
        "their AP ranges do not overlap.",
        "Train time: the epoch loop of one run (training and its periodic validations, not setup), mean over seeds; "
        "train img/s over the epochs without validation. Training times are measured run by run, so the machine's "
        "1-minute load average at the start and end of each run is listed beside them (Runs).",
        cost_note,
    ]
    return out
