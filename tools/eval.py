"""COCO evaluation of a trained detector, or of an existing predictions file.

    python tools/eval.py configs/yolo_cspx50.yaml --weights runs/train/exp/weights/best.pt [key=value ...]
    python tools/eval.py --gt annotations/instances_val2017.json --pred predictions.json

Prints the 12 COCO metrics (pycocotools layout) and a per-class AP table; writes into --out (default
runs/eval/exp): metrics.json, predictions.json (model mode), pr_curve.png and per_class_ap.png. --json FILE
writes the metrics JSON there too. Exit status 0 on success, 2 on bad input (one-line message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.engine.coco_inputs import EvaluationInputError
from detector.engine.evaluator import ENGINES, EvalResult, coco_evaluate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", help="config YAML (model mode; the model section comes from the weights)")
    ap.add_argument("overrides", nargs="*", help="config overrides key=value, e.g. eval.conf_thres=0.01")
    ap.add_argument("--weights", help="checkpoint written by the trainer (best.pt / last.pt)")
    ap.add_argument("--gt", help="COCO annotation JSON (file mode, with --pred)")
    ap.add_argument("--pred", help="COCO results JSON: [{image_id, category_id, bbox [x,y,w,h] px, score}, ...]")
    ap.add_argument("--json", help="also write the metrics JSON to this file")
    ap.add_argument("--out", default="runs/eval/exp", help="output folder (default: runs/eval/exp)")
    ap.add_argument("--engine", default="auto", choices=ENGINES, help="evaluation engine (default: auto)")
    ap.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (default: train.device of the config)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_intermixed_args(argv)
    if args.gt or args.pred:
        if not (args.gt and args.pred):
            ap.error("file mode needs both --gt ANN.json and --pred PREDICTIONS.json")
        if args.config or args.weights:
            ap.error("use either --gt/--pred or CONFIG --weights, not both")
    elif not (args.config and args.weights):
        ap.error("give CONFIG and --weights W to evaluate a model, or --gt ANN.json --pred PREDICTIONS.json")
    return args


def evaluate_checkpoint(args: argparse.Namespace, out: Path) -> EvalResult:
    """Model mode: load weights + config, run the val loader through the model, save predictions.json."""
    from detector.config import load_config
    from detector.data import build_dataloader, build_dataset
    from detector.device import select_device
    from detector.engine.checkpoint_io import load_detector
    from detector.engine.evaluator import evaluate_model

    cfg = load_config(args.config, list(args.overrides))
    device = select_device(args.device or cfg.train.device, "--device" if args.device else "train.device")
    model, cfg, meta = load_detector(args.weights, cfg=cfg, device=device)
    dataset = build_dataset(cfg, "val")
    base = getattr(dataset, "base", dataset)
    if list(base.cat_ids) != list(meta["cat_ids"]):
        raise EvaluationInputError(
            f"{args.weights} was trained on category ids {meta['cat_ids'][:10]}... but data.val.ann "
            f"({cfg.data.val.ann}) has {list(base.cat_ids)[:10]}...: evaluate on the dataset the model was trained for"
        )
    loader = build_dataloader(dataset, cfg, "val")
    e = cfg.eval
    print(
        f"weights {args.weights} (epoch {meta['epoch']}), {meta['num_classes']} classes, {len(dataset)} val images\n"
        f"settings: conf_thres={e.conf_thres} nms_iou={e.iou_thres} max_det={e.max_det} "
        f"img_size={cfg.data.img_size} letterbox={e.letterbox} batch_size={e.batch_size} device={device}"
    )
    result, dets = evaluate_model(model, loader, dataset, e, device, progress=not args.no_progress, engine=args.engine)
    (out / "predictions.json").write_text(json.dumps(dets.to_results()))
    return result


def run(args: argparse.Namespace) -> int:
    from detector.engine.plots_eval import plot_per_class_ap, plot_pr_curves

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.gt:
            print(f"settings: predictions from {args.pred} (conf/NMS/max_det as when they were made; maxDets=100)")
            result = coco_evaluate(args.gt, args.pred, engine=args.engine)
        else:
            result = evaluate_checkpoint(args, out)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"engine: {result.engine}, {result.num_images} images, {result.num_predictions} predictions")
    print(result.summary())
    print(result.per_class_table())
    metrics = result.to_dict()
    paths = [out / "metrics.json"] + ([Path(args.json)] if args.json else [])
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics, indent=2))
    plot_pr_curves(result, out / "pr_curve.png")
    plot_per_class_ap(result, out / "per_class_ap.png")
    print(f"results saved to {out}" + (f" and {args.json}" if args.json else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (EvaluationInputError, FileNotFoundError, ValueError, OSError, RuntimeError) as e:
        message = " ".join(str(e).split())  # one line, whatever the source
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
