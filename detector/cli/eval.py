"""COCO evaluation of a trained detector, or of an existing predictions file.

    python tools/eval.py configs/yolo_cspx50.yaml --weights runs/train/exp/weights/best.pt [key=value ...]
    python tools/eval.py --gt annotations/instances_val2017.json --pred predictions.json
    python tools/eval.py --mot-gt data/shapes/video/gt.txt --mot-pred runs/detect/exp/tracks.txt   # tracking

Prints the 12 COCO metrics (pycocotools layout) and a per-class AP table; --errors [paper|tidecv] adds a
TIDE-style error breakdown (count and AP50 cost of each error type) by the TIDE paper's rules (the default) or
tidecv 1.0.1's (docs/ERRORS.md). Writes into --out (a folder that already holds
files is left alone and exp2, exp3, ... is used unless --exist-ok): metrics.json (with
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
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.engine.jobs.evaluate import EvalOptions, run_evaluation


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, EvalOptions, "eval")  # CONFIG overrides --weights --gt --pred ...: EvalOptions' declarations
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
    return options_from_args(args, EvalOptions)


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
