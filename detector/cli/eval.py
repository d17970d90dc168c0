"""COCO evaluation of a trained detector, or of an existing predictions file.

    python tools/eval.py configs/yolo_cspx50.yaml --weights runs/train/exp/weights/best.pt [key=value ...]
    python tools/eval.py --gt annotations/instances_val2017.json --pred predictions.json
    python tools/eval.py --mot-gt data/shapes/video/gt.txt --mot-pred runs/detect/exp/tracks.txt   # tracking

Prints the 12 COCO metrics (pycocotools layout) and a per-class AP table; --errors [paper|tidecv] adds a
TIDE-style error breakdown (count and AP50 cost of each error type) by the TIDE paper's rules (the default) or
tidecv 1.0.1's (docs/ERRORS.md). Writes into --out (default runs/eval/exp; a
folder that already holds files is left alone and exp2, exp3, ... is used unless --exist-ok): metrics.json (with
"errors" under --errors), predictions.json (model mode), pr_curve.png and per_class_ap.png. --json FILE writes the
metrics JSON there too (never over an input; over an existing file only with --exist-ok). Exit status 0 on success,
2 on bad input, 1 when the evaluation itself fails (one-line message on stderr), 130 on Ctrl-C (docs/CLI.md).
The run itself is detector/engine/jobs/evaluate.py.
"""

from __future__ import annotations

import argparse
import sys

from detector.cli.exit_codes import EXIT_OK, run_tool
from detector.cli.logging_setup import configure_logging
from detector.cli.parsing import ToolParser
from detector.engine.evaluation.coco_engines import ENGINES
from detector.engine.evaluation.errors.rules import ERROR_RULES
from detector.engine.jobs.evaluate import EvalOptions, run_evaluation


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", help="config YAML (model mode; the model section comes from the weights)")
    ap.add_argument("overrides", nargs="*", default=[], help="config overrides key=value, e.g. eval.conf=0.01")
    ap.add_argument("--weights", help="checkpoint written by the trainer (best.pt / last.pt)")
    ap.add_argument("--gt", help="COCO annotation JSON (file mode, with --pred)")
    ap.add_argument("--pred", help="COCO results JSON: [{image_id, category_id, bbox [x,y,w,h] px, score}, ...]")
    ap.add_argument("--json", help="also write the metrics JSON to this file")
    ap.add_argument("--out", default="runs/eval/exp", help="output folder (default: runs/eval/exp; exp2, ... if taken)")
    ap.add_argument(
        "--exist-ok", action="store_true", help="write into --out even if it already has files; replace --json FILE"
    )
    ap.add_argument("--engine", default="auto", choices=ENGINES, help="evaluation engine (default: auto)")
    ap.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (default: train.device of the config)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument(
        "--errors",
        nargs="?",
        const="paper",
        default=None,
        choices=ERROR_RULES,
        metavar="RULE",
        help="also break the errors down TIDE-style (cls/loc/both/dupe/bkg/miss: count and dAP50) by the rules of "
        "the TIDE paper (paper, the default) or of tidecv 1.0.1 (tidecv); docs/ERRORS.md",
    )
    verbosity = ap.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    verbosity.add_argument("--verbose", action="store_true", help="also print debug messages")
    args = ap.parse_args(argv)
    try:
        options(args).check()
    except ValueError as e:
        ap.error(str(e))
    return args


def options(args: argparse.Namespace) -> EvalOptions:
    """The parsed command line as :class:`EvalOptions`."""
    return EvalOptions(
        config=args.config,
        weights=args.weights,
        overrides=list(args.overrides),
        gt=args.gt,
        pred=args.pred,
        out=args.out,
        exist_ok=args.exist_ok,
        json=args.json,
        engine=args.engine,
        device=args.device,
        progress=not args.no_progress,
        errors=args.errors or False,
    )


@run_tool
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a.split("=")[0] in ("--mot-gt", "--mot-pred") for a in argv):  # tracking: detector/cli/eval_mot.py
        from detector.cli.eval_mot import main as eval_mot

        return eval_mot(argv)
    args = parse_args(argv)
    configure_logging(verbose=args.verbose, quiet=args.quiet)
    run_evaluation(options(args))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
