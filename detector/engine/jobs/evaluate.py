"""An evaluation run (``tools/eval.py``): a checkpoint on its config's val split (model mode), or a COCO results file
against a ground-truth file (file mode). Logs the settings, the 12 COCO metrics, the per-class table and, with
``errors``, the TIDE-style error breakdown (:mod:`detector.engine.evaluation.errors.breakdown`); writes into ``out``:
``metrics.json`` (with ``"errors"`` when asked), ``predictions.json`` (model mode), ``pr_curve.png`` and
``per_class_ap.png``."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.config import Config, DataConfig, load_config
from detector.config.tool_options import option
from detector.data import build_dataloader, build_dataset
from detector.data.synthetic.shapes_setup import trained_set
from detector.device import select_device
from detector.engine.evaluation.coco_engines import ENGINES
from detector.engine.evaluation.coco_inputs import EvaluationInputError, load_gt_dataset
from detector.engine.evaluation.coco_results import load_predictions
from detector.engine.evaluation.detections import Detections
from detector.engine.evaluation.errors.breakdown import ErrorBreakdown, format_breakdown
from detector.engine.evaluation.errors.rules import ERROR_RULES, break_down, error_rule
from detector.engine.evaluation.evaluator import EvalResult, coco_evaluate, evaluate_model
from detector.engine.evaluation.metric_plots import plot_per_class_ap, plot_pr_curves
from detector.engine.jobs.evaluate_exported import evaluate_backend
from detector.engine.jobs.job_plans import read_config
from detector.engine.run_folder import next_free_folder
from detector.job_files import JobFiles
from detector.model.checkpoint_io import load_detector
from detector.output_files import write_text_atomic
from detector.runtime.loader import is_exported, load_backend

log = logging.getLogger(__name__)

OUT_FILES = ("metrics.json", "predictions.json", "pr_curve.png", "per_class_ap.png")  # what a run writes into out


@dataclass
class EvalOptions:
    """Everything an evaluation run needs; the fields mirror ``tools/eval.py``'s options.

    Model mode: ``config`` and ``weights`` (the model section comes from the checkpoint, data and eval settings from
    the config with ``overrides``). File mode: ``gt`` (COCO annotation JSON) and ``pred`` (COCO results JSON).
    """

    config: str | None = option(
        None, "config YAML (model mode; the model section comes from the weights)", positional=True, nargs="?"
    )
    weights: str | None = option(None, "checkpoint written by the trainer (best.pt / last.pt)")
    overrides: list[str] = option(
        [], "config overrides key=value, e.g. eval.conf=0.01", positional=True, nargs="*", metavar="overrides"
    )
    gt: str | None = option(None, "COCO annotation JSON (file mode, with --pred)")
    pred: str | None = option(None, "COCO results JSON: [{image_id, category_id, bbox [x,y,w,h] px, score}, ...]")
    json: str | None = option(None, "also write the metrics JSON to this file")  # never over an input
    out: str = option("runs/eval/exp", "output folder (exp2, ... if taken)")
    exist_ok: bool = option(False, "write into --out even if it already has files; replace --json FILE")
    engine: str = option("auto", "evaluation engine", choices=ENGINES)
    device: str | None = option(None, "auto | cpu | cuda | cuda:N (default: train.device of the config)")
    progress: bool = option(True, "no progress bar", flag="--no-progress", negate=True)
    errors: bool | str = option(
        False,
        "also break the errors down TIDE-style (cls/loc/both/dupe/bkg/miss: count and dAP50) by the rules of "
        "the TIDE paper (paper, the default) or of tidecv 1.0.1 (tidecv); docs/ERRORS.md",
        choices=ERROR_RULES, nargs="?", const="paper", metavar="RULE",
    )  # fmt: skip

    def check(self) -> None:
        """Raise ValueError unless exactly one mode is complete: ``gt`` + ``pred``, or ``config`` + ``weights``, and
        ``errors`` names a rule (detector/engine/evaluation/errors/rules.py)."""
        error_rule(self.errors)
        if self.gt or self.pred:
            if not (self.gt and self.pred):
                raise ValueError("file mode needs both --gt ANN.json and --pred PREDICTIONS.json")
            if self.config or self.weights:
                raise ValueError("use either --gt/--pred or CONFIG --weights, not both")
        elif not (self.config and self.weights):
            raise ValueError(
                "give CONFIG and --weights W to evaluate a model, or --gt ANN.json --pred PREDICTIONS.json"
            )


@dataclass
class _Evaluated:
    """What an evaluation saw: the result, the ground truth, the detections and the evaluated image ids."""

    result: EvalResult
    gt: Any  # a COCO object or a checked COCO dict
    dets: Detections
    img_ids: list[int] | None  # None: every image of ``gt``


def _evaluate_checkpoint(opts: EvalOptions, cfg: Config | None = None) -> _Evaluated:
    if (opts.config is None and cfg is None) or opts.weights is None:
        raise ValueError("model mode needs a config and --weights")
    cfg = cfg or load_config(opts.config, list(opts.overrides))
    if is_exported(opts.weights):
        return _evaluate_exported(opts, cfg)
    device = select_device(opts.device or cfg.train.device, "--device" if opts.device else "train.device")
    model, cfg, meta = load_detector(opts.weights, cfg=cfg, device=device)
    trained: DataConfig | None = meta["train_data"]
    if trained is not None:
        cfg.data.shapes = trained_set(cfg.data, trained.shapes, opts.weights)  # cfg is load_detector's copy
    dataset = build_dataset(cfg, "val")
    if list(dataset.cat_ids) != list(meta["cat_ids"]):
        raise EvaluationInputError(
            f"{opts.weights} was trained on category ids {meta['cat_ids'][:10]}... but data.val.ann "
            f"({cfg.data.val.ann}) has {list(dataset.cat_ids)[:10]}...: evaluate on the dataset the model was "
            "trained for"
        )
    _warn_unlike_training(opts.weights, cfg.data, trained, list(meta["class_names"]), list(dataset.class_names))
    loader = build_dataloader(dataset, cfg, "val")
    e = cfg.eval
    log.info(
        "weights %s (epoch %s), %s classes, %d val images\n"
        "settings: eval.conf=%s eval.iou=%s max_det=%s multi_label=%s img_size=%s letterbox=%s batch_size=%s device=%s",
        opts.weights, meta["epoch"], meta["num_classes"], len(dataset), e.conf, e.iou, e.max_det, e.multi_label,
        cfg.data.img_size, e.letterbox, e.batch_size, device,
    )  # fmt: skip
    result, dets = evaluate_model(model, loader, dataset, e, device, progress=opts.progress, engine=opts.engine)
    return _Evaluated(result, dataset.coco, dets, list(dataset.image_ids))


def _warn_unlike_training(
    weights: str, data: DataConfig, trained: DataConfig | None, names: list[str], val_names: list[str]
) -> None:
    """One warning for each way the evaluation differs from the checkpoint's training: the input size
    (``data.img_size``) and the class names of the val split."""
    if trained is not None and data.img_size != trained.img_size:
        warnings.warn(
            f"evaluating at data.img_size={data.img_size} px, but {weights} was trained at {trained.img_size} px: "
            f"add data.img_size={trained.img_size} to evaluate as it was trained",
            UserWarning,
            stacklevel=3,
        )
    if names != val_names:
        warnings.warn(
            f"{weights} was trained on classes {names[:6]} but data.val ({data.val.ann}) names them "
            f"{val_names[:6]}: the per-class table uses the dataset's names",
            UserWarning,
            stacklevel=3,
        )


def _evaluate_exported(opts: EvalOptions, cfg: Config) -> _Evaluated:
    """Model mode for an ONNX file or OpenVINO IR (detector.runtime), on the CPU, at the file's input size."""
    if opts.device not in (None, "auto", "cpu"):
        log.warning("--device %s: exported files run on the CPU (onnxruntime / OpenVINO)", opts.device)
    backend = load_backend(str(opts.weights))
    e = cfg.eval
    log.info(
        "weights %s (%s, %s), %d classes\nsettings: eval.conf=%s eval.iou=%s max_det=%s multi_label=%s device=cpu",
        opts.weights, backend.format, backend.info.precision, len(backend.info.names), e.conf, e.iou, e.max_det,
        e.multi_label,
    )  # fmt: skip
    result, dets, dataset = evaluate_backend(backend, cfg, progress=opts.progress, engine=opts.engine)
    return _Evaluated(result, dataset.coco, dets, list(dataset.image_ids))


def _evaluate_files(opts: EvalOptions) -> _Evaluated:
    """File mode: read and check ``opts.gt`` and ``opts.pred`` once, COCO-evaluate them."""
    log.info("settings: predictions from %s (conf/NMS/max_det as when they were made; maxDets=100)", opts.pred)
    if opts.gt is None or opts.pred is None:
        raise ValueError("file mode needs both --gt ANN.json and --pred PREDICTIONS.json")
    gt = load_gt_dataset(opts.gt)
    dets = load_predictions(opts.pred, gt)
    return _Evaluated(coco_evaluate(gt, dets, engine=opts.engine), gt, dets, None)


def plan_files(opts: EvalOptions, cfg: Config | None) -> Path:
    """Check the run's files before any work (:class:`JobFiles`): the inputs (config, weights, ground truth,
    predictions, the config's val split) are never written; ``--json`` and the output folder (``opts.out``, or the
    first free ``out2``, ... unless ``exist_ok``) are not inputs, not inside an input folder, not under a file and
    writable; an existing ``--json`` is replaced only with ``exist_ok``. Returns the output folder."""
    files = JobFiles(exist_ok=opts.exist_ok)
    files.read("CONFIG", opts.config, "file")
    files.read("--weights", opts.weights)  # a file, or an OpenVINO folder
    files.read("--gt", opts.gt, "file")
    files.read("--pred", opts.pred, "file")
    if cfg is not None:
        read_config(files, cfg, ("val",))
    if opts.json:
        files.write_file("--json", opts.json)
    out = next_free_folder(opts.out, opts.exist_ok, "--out")
    model_mode = not (opts.gt and opts.pred)  # file mode writes no predictions.json
    files.write_folder("--out", out, names=[n for n in OUT_FILES if model_mode or n != "predictions.json"])
    files.check()
    return out


def _check(opts: EvalOptions, cfg: Config | None) -> bool:
    """:meth:`EvalOptions.check`, where a given ``cfg`` stands in for ``opts.config``; returns whether it is file
    mode."""
    if cfg is not None and not (opts.gt or opts.pred):
        if not opts.weights:
            raise ValueError("evaluating a config needs weights")
        return False
    opts.check()
    return bool(opts.gt and opts.pred)


@dataclass
class Evaluation:
    """What :func:`evaluate` found: the COCO result, the error breakdown (None unless asked for and the ground truth
    has boxes) and the detections (COCO results via ``detections.to_results()``)."""

    result: EvalResult
    errors: ErrorBreakdown | None
    detections: Detections


def evaluate(opts: EvalOptions, cfg: Config | None = None) -> Evaluation:
    """Evaluate as ``opts`` says (see :class:`EvalOptions`; ``out``, ``json`` and ``exist_ok`` are not read) and
    write nothing: the library function under :func:`run_evaluation` and ``detector.Model.evaluate``. ``cfg``: the
    config already loaded from ``opts.config`` with ``opts.overrides`` (None: loaded here). Warnings (e.g. no
    predictions, no ground-truth box with ``errors``) are raised as warnings; errors as :func:`run_evaluation`."""
    file_mode = _check(opts, cfg)
    if cfg is None and not file_mode:
        cfg = load_config(opts.config, list(opts.overrides))
    run = _evaluate_files(opts) if file_mode else _evaluate_checkpoint(opts, cfg)
    breakdown: ErrorBreakdown | None = None
    if opts.errors and run.result.has_ground_truth:
        breakdown = break_down(run.gt, run.dets, error_rule(opts.errors) or "paper", img_ids=run.img_ids)
    elif opts.errors:
        message = "--errors: the ground truth has no box, so there is no error breakdown"
        warnings.warn(message, UserWarning, stacklevel=2)
    return Evaluation(run.result, breakdown, run.dets)


def run_evaluation(opts: EvalOptions) -> EvalResult:
    """Evaluate as ``opts`` says (see :class:`EvalOptions`), log the metrics and write the output files.

    With ``opts.errors`` the TIDE-style error breakdown is logged after the metrics and stored in ``metrics.json``
    as ``"errors": {"ap50", "dap", "counts", "rule"}``.
    Warnings raised while evaluating (e.g. no predictions) are logged as warnings. Raises ValueError (options,
    config), :class:`EvaluationInputError` (unreadable or inconsistent ground truth / predictions, categories that
    differ from the checkpoint's), FileNotFoundError / OSError (paths), RuntimeError (an engine failed).
    Output paths that break a rule of :func:`plan_files` are an OutputFileError (a ValueError) before anything is
    evaluated.
    """
    return evaluate_and_write(opts)[0].result


def evaluate_and_write(opts: EvalOptions, cfg: Config | None = None) -> tuple[Evaluation, Path]:
    """:func:`run_evaluation`, returning the whole :class:`Evaluation` and the output folder it wrote; ``cfg`` as
    in :func:`evaluate`."""
    if not _check(opts, cfg) and cfg is None:
        cfg = load_config(opts.config, list(opts.overrides))
    out = plan_files(opts, cfg)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev = evaluate(opts, cfg)
    if not (opts.gt and opts.pred):
        write_text_atomic(out / "predictions.json", json.dumps(ev.detections.to_results()), fsync=False)
    for w in caught:
        log.warning("%s", w.message)
    result, breakdown = ev.result, ev.errors
    log.info("engine: %s, %d images, %d predictions", result.engine, result.num_images, result.num_predictions)
    log.info("%s", result.summary())
    log.info("%s", result.per_class_table())
    metrics_dict = result.to_dict()
    if breakdown is not None:
        log.info("%s", format_breakdown(breakdown))
        metrics_dict["errors"] = breakdown.to_dict()
    metrics = json.dumps(metrics_dict, indent=2)
    write_text_atomic(out / "metrics.json", metrics)
    if opts.json:
        write_text_atomic(opts.json, metrics, exist_ok=opts.exist_ok, option="--json")
    plot_pr_curves(result, out / "pr_curve.png")
    plot_per_class_ap(result, out / "per_class_ap.png")
    log.info("results saved to %s%s", out, f" and {opts.json}" if opts.json else "")
    return ev, out


__all__ = [
    "OUT_FILES",
    "EvalOptions",
    "Evaluation",
    "EvaluationInputError",
    "evaluate",
    "evaluate_and_write",
    "plan_files",
    "run_evaluation",
]
