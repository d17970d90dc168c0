"""An evaluation run (``tools/eval.py``): a checkpoint on its config's val split (model mode), or a COCO results file
against a ground-truth file (file mode). Logs the settings, the 12 COCO metrics and the per-class table; writes
into ``out``: ``metrics.json``, ``predictions.json`` (model mode), ``pr_curve.png`` and ``per_class_ap.png``."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from detector.config import load_config
from detector.data import build_dataloader, build_dataset
from detector.device import select_device
from detector.engine.checkpoint_io import load_detector
from detector.engine.coco_inputs import EvaluationInputError
from detector.engine.evaluator import EvalResult, coco_evaluate, evaluate_model
from detector.engine.plots_eval import plot_per_class_ap, plot_pr_curves
from detector.engine.run_folder import next_free_folder
from detector.output_files import check_output_file, write_text_atomic

log = logging.getLogger(__name__)


@dataclass
class EvalOptions:
    """Everything an evaluation run needs; the fields mirror ``tools/eval.py``'s options.

    Model mode: ``config`` and ``weights`` (the model section comes from the checkpoint, data and eval settings from
    the config with ``overrides``). File mode: ``gt`` (COCO annotation JSON) and ``pred`` (COCO results JSON).
    """

    config: str | None = None  # config YAML (model mode)
    weights: str | None = None  # checkpoint written by the trainer or converted from darknet (model mode)
    overrides: list[str] = field(default_factory=list)  # key=value, e.g. eval.conf_thres=0.01
    gt: str | None = None  # COCO annotation JSON (file mode)
    pred: str | None = None  # COCO results JSON (file mode)
    out: str = "runs/eval/exp"  # output folder (out2, out3, ... when it already holds files)
    exist_ok: bool = False  # write into ``out`` even if it holds files, and replace an existing ``json`` file
    json: str | None = None  # also write the metrics JSON here (never over an input; over a file only if exist_ok)
    engine: str = "auto"  # auto | faster | pycocotools
    device: str | None = None  # auto | cpu | cuda | cuda:N; None: the config's train.device
    progress: bool = True  # progress bar over the val batches

    def check(self) -> None:
        """Raise ValueError unless exactly one mode is complete: ``gt`` + ``pred``, or ``config`` + ``weights``."""
        if self.gt or self.pred:
            if not (self.gt and self.pred):
                raise ValueError("file mode needs both --gt ANN.json and --pred PREDICTIONS.json")
            if self.config or self.weights:
                raise ValueError("use either --gt/--pred or CONFIG --weights, not both")
        elif not (self.config and self.weights):
            raise ValueError(
                "give CONFIG and --weights W to evaluate a model, or --gt ANN.json --pred PREDICTIONS.json"
            )


def evaluate_checkpoint(opts: EvalOptions, out: Path) -> EvalResult:
    """Model mode: load ``opts.weights`` with ``opts.config``, check that the val split has the checkpoint's
    categories, run the val loader through the model and write ``out/predictions.json`` (COCO results)."""
    if opts.config is None or opts.weights is None:
        raise ValueError("model mode needs a config and --weights")
    cfg = load_config(opts.config, list(opts.overrides))
    device = select_device(opts.device or cfg.train.device, "--device" if opts.device else "train.device")
    model, cfg, meta = load_detector(opts.weights, cfg=cfg, device=device)
    dataset = build_dataset(cfg, "val")
    if list(dataset.cat_ids) != list(meta["cat_ids"]):
        raise EvaluationInputError(
            f"{opts.weights} was trained on category ids {meta['cat_ids'][:10]}... but data.val.ann "
            f"({cfg.data.val.ann}) has {list(dataset.cat_ids)[:10]}...: evaluate on the dataset the model was "
            "trained for"
        )
    loader = build_dataloader(dataset, cfg, "val")
    e = cfg.eval
    log.info(
        "weights %s (epoch %s), %s classes, %d val images\nsettings: conf_thres=%s nms_iou=%s max_det=%s img_size=%s "
        "letterbox=%s batch_size=%s device=%s",
        opts.weights, meta["epoch"], meta["num_classes"], len(dataset), e.conf_thres, e.iou_thres, e.max_det,
        cfg.data.img_size, e.letterbox, e.batch_size, device,
    )  # fmt: skip
    result, dets = evaluate_model(model, loader, dataset, e, device, progress=opts.progress, engine=opts.engine)
    (out / "predictions.json").write_text(json.dumps(dets.to_results()))
    return result


def run_evaluation(opts: EvalOptions) -> EvalResult:
    """Evaluate as ``opts`` says (see :class:`EvalOptions`), log the metrics and write the output files.

    Warnings raised while evaluating (e.g. no predictions) are logged as warnings. Raises ValueError (options,
    config), :class:`EvaluationInputError` (unreadable or inconsistent ground truth / predictions, categories that
    differ from the checkpoint's), FileNotFoundError / OSError (paths), RuntimeError (an engine failed).
    ``opts.json`` that is an input or (without ``exist_ok``) an existing file is an OutputFileError (a ValueError)
    before anything is evaluated.
    """
    opts.check()
    if opts.json:
        inputs = {"CONFIG": opts.config, "--weights": opts.weights, "--gt": opts.gt, "--pred": opts.pred}
        check_output_file(opts.json, "--json", exist_ok=opts.exist_ok, inputs=inputs)
    out = next_free_folder(opts.out, opts.exist_ok)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if opts.gt and opts.pred:
            log.info("settings: predictions from %s (conf/NMS/max_det as when they were made; maxDets=100)", opts.pred)
            result = coco_evaluate(opts.gt, opts.pred, engine=opts.engine)
        else:
            result = evaluate_checkpoint(opts, out)
    for w in caught:
        log.warning("%s", w.message)
    log.info("engine: %s, %d images, %d predictions", result.engine, result.num_images, result.num_predictions)
    log.info("%s", result.summary())
    log.info("%s", result.per_class_table())
    metrics = json.dumps(result.to_dict(), indent=2)
    write_text_atomic(out / "metrics.json", metrics)
    if opts.json:
        write_text_atomic(opts.json, metrics, exist_ok=opts.exist_ok, option="--json")
    plot_pr_curves(result, out / "pr_curve.png")
    plot_per_class_ap(result, out / "per_class_ap.png")
    log.info("results saved to %s%s", out, f" and {opts.json}" if opts.json else "")
    return result


__all__ = ["EvalOptions", "EvaluationInputError", "evaluate_checkpoint", "run_evaluation"]
