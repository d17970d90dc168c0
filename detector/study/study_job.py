"""A backbone study (``tools/study.py``): check the study config, train every backbone x seed (reusing finished
runs, resuming unfinished ones), evaluate each run as ``tools/eval.py`` does, count each backbone's cost, time all
backbones' detectors side by side in one interleaved pass (:mod:`detector.study.speed`), and write the report into
``<out>/<name>/``. See docs/STUDY.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from backbones import build_backbone
from detector.config import ConfigError, config_to_dict
from detector.config.tool_options import option
from detector.data import build_dataset
from detector.engine.evaluation.errors.rules import ERROR_RULES
from detector.engine.jobs.job_plans import read_config
from detector.engine.training.trainer import train
from detector.job_files import JobFiles
from detector.study.costs import backbone_cost
from detector.study.fairness import ResolvedStudy, resolve, run_config, study_identity
from detector.study.folder import RunInfo, RunState, check_study_folder, run_state, store_study_config
from detector.study.report import StudyReport, write_report
from detector.study.run_eval import evaluate_run
from detector.study.runs import TrainFn, train_run
from detector.study.spec import StudySpec, load_study_spec, select
from detector.study.speed import StudyModel, study_speed
from detector.study.summary import compare, summarize

log = logging.getLogger(__name__)


@dataclass
class StudyOptions:
    """What ``tools/study.py`` passes: the study file and the command line's narrowing / extensions."""

    spec: str = option(doc="study config YAML, e.g. configs/study_shapes.yaml", positional=True, flag="study")
    overrides: list[str] = option(
        [], "shared config overrides for every run", positional=True, nargs="*", metavar="key=value"
    )  # applied after the file's
    backbones: list[str] | None = option(
        None, "comma-separated labels of the study's backbones, or backbone names (registry or timm:<name>)",
        comma=True, example="cspdarknet53,timm:resnet18",
    )  # fmt: skip
    seeds: list[int] | None = option(None, "comma-separated seeds (default: the study's)", key="train.seed", comma=True)
    name: str | None = option(None, "study name = folder under --out (default: the study's name)")
    out: str = option("runs/study", "parent folder of the study folder")
    dry_run: bool = option(False, "check the config and print the plan; train nothing")
    errors: str | None = option(
        None,
        "rules of the report's error breakdown: paper (the TIDE paper's) or tidecv (tidecv 1.0.1's, to compare "
        "with published figures); default: the study file's report.errors (paper); docs/ERRORS.md",
        choices=ERROR_RULES,
    )
    train_fn: TrainFn = train  # the training call (tests wrap it)


@dataclass
class StudyResult:
    study_dir: Path
    plan: list[RunInfo]
    trained: list[tuple[str, int]] = field(default_factory=list)  # (label, seed) of the runs trained or resumed
    paths: dict[str, Path] = field(default_factory=dict)  # report files


def preflight(resolved: ResolvedStudy) -> None:
    """Build every backbone once before any training, so a wrong name or missing weights fail in seconds."""
    for label, cfg in resolved.backbones.items():
        b = cfg.model.backbone
        try:
            build_backbone(b.name, pretrained=b.pretrained, out_indices=tuple(b.out_indices),
                           width_mult=b.width_mult, depth_mult=b.depth_mult)  # fmt: skip
        except (ValueError, ImportError, OSError, RuntimeError) as e:
            raise ConfigError(f"backbone '{label}' ({b.name}) does not build: {' '.join(str(e).split())}") from e


def plan_runs(spec: StudySpec, resolved: ResolvedStudy, study_dir: Path) -> list[RunInfo]:
    """Every backbone x seed with its state, seed by seed (all backbones' first seed first)."""
    return [
        run_state(study_dir, label, seed, resolved.backbones[label].train.epochs)
        for seed in spec.seeds
        for label in resolved.backbones
    ]


def _describe_plan(plan: list[RunInfo]) -> str:
    words = {RunState.NEW: "train", RunState.RESUME: "resume", RunState.DONE: "done (reused)"}
    lines = []
    for r in plan:
        extra = f" after epoch {r.epoch + 1}" if r.state is RunState.RESUME else ""
        lines.append(f"  {r.label:<28} seed {r.seed}: {words[r.state]}{extra}")
    return "\n".join(lines)


def _shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it lies below it (reports show no machine-specific prefix)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _gpu_note() -> str:
    if torch.cuda.is_available():
        return f"GPU throughput measured on {torch.cuda.get_device_name()}."
    return "No CUDA device here: the GPU batch-32 throughput was skipped."


def plan_files(opts: StudyOptions, spec: StudySpec, resolved: ResolvedStudy, study_dir: Path) -> None:
    """Check the study's files before any work, ``--dry-run`` too (:class:`JobFiles`): the study file, its base
    config and the data it names are never written; the study folder (a study continues its own runs there) is not
    an input, not inside an input folder, not under a file and writable."""
    files = JobFiles(exist_ok=True)
    files.read("the study file", opts.spec, "file")
    files.read("base", spec.base, "file")
    read_config(files, resolved.shared)
    files.write_folder("--out", Path(opts.out))
    files.write_folder("the study folder", study_dir, option="--out or --name")
    files.check()


def run_study(opts: StudyOptions) -> StudyResult:
    """Run (or continue) the study; see the module docstring. Raises ConfigError for a bad or changed config."""
    spec = select(load_study_spec(opts.spec), opts.backbones, opts.seeds, opts.overrides, opts.name, opts.errors)
    resolved = resolve(spec)
    study_dir = Path(opts.out) / spec.name
    plan_files(opts, spec, resolved, study_dir)
    stored = check_study_folder(study_dir, study_identity(resolved), spec.seeds)
    weights = "pretrained" if resolved.pretrained else "from scratch"
    log.info("study %s: %d backbone(s), %s, seeds %s -> %s", spec.name, len(spec.backbones), weights,
             list(spec.seeds), study_dir)  # fmt: skip
    preflight(resolved)
    plan = plan_runs(spec, resolved, study_dir)
    log.info("plan:\n%s", _describe_plan(plan))
    result = StudyResult(study_dir, plan)
    if opts.dry_run:
        return result
    store_study_config(study_dir, {"study": spec.name, "base": str(spec.base), **stored})

    records: dict[tuple[str, int], dict[str, Any]] = {}
    for info in plan:
        records[info.label, info.seed] = train_run(info, resolved.backbones[info.label], train_fn=opts.train_fn)
        if info.state is not RunState.DONE:
            result.trained.append((info.label, info.seed))
    evals = {(i.label, i.seed): evaluate_run(i, spec.report.errors) for i in plan}

    models = {
        label: StudyModel(cfg, len(evals[label, spec.seeds[0]]["per_class"]),
                          study_dir / label / f"seed{spec.seeds[0]}" / "config.yaml")
        for label, cfg in resolved.backbones.items()
    }  # fmt: skip
    speed = study_speed(study_dir, models, spec.cost)  # all backbones in one interleaved pass
    summaries = []
    for label, m in models.items():
        cost = {**backbone_cost(study_dir / label, m.cfg, m.num_classes), **speed["models"][label]}
        runs = [{"seed": s, "train": records[label, s], "eval": evals[label, s]} for s in spec.seeds]
        summaries.append(summarize(label, config_to_dict(m.cfg)["model"]["backbone"], runs, cost))

    first_cfg = run_config(next(iter(resolved.backbones.values())), spec.seeds[0], "")
    grid = None
    if spec.report.grid_images > 0:
        columns = [(s.label, evals[s.label, spec.seeds[0]]["predictions"]) for s in summaries]
        grid = (build_dataset(first_cfg, "val"), columns)
    report = StudyReport(
        name=spec.name,
        base=_shown_path(spec.base),
        shared=resolved.shared,
        seeds=list(spec.seeds),
        pretrained=resolved.pretrained,
        summaries=summaries,
        comparisons=compare(summaries),
        gpu_note=_gpu_note(),
        eval_pattern=f"python tools/eval.py {study_dir}/<backbone>/seed<k>/config.yaml --weights "
        f"{study_dir}/<backbone>/seed<k>/weights/best.pt",
        grid_images=spec.report.grid_images,
        score_thres=spec.report.score_thres,
        grid=grid,
        errors_rule=spec.report.errors,
    )
    result.paths = write_report(study_dir, report)
    log.info("report: %s and %s", result.paths["md"], result.paths["html"])
    return result
