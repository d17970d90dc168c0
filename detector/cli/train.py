"""Train a detector: ``python tools/train.py CONFIG [key=value ...] [--resume PATH]``.

Multi-GPU / multi-node: ``torchrun --nproc_per_node N tools/train.py CONFIG ...`` (CPU: gloo, GPU: nccl).
Ctrl-C or SIGTERM stops the run cleanly and prints how to resume it; exit status 130 (Ctrl-C), 143 (SIGTERM).
Examples::

    python tools/train.py configs/yolo_cspx50.yaml train.epochs=100 train.batch_size=32
    python tools/train.py configs/yolo_cspx50.yaml train.out_dir=runs/train/exp train.resume=true
    python tools/train.py configs/yolo_cspx50.yaml --resume runs/train/exp/weights/last.pt
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from detector.cli.exit_codes import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, run_tool
from detector.cli.logging_setup import configure_logging
from detector.cli.parsing import ToolParser
from detector.config import load_config

log = logging.getLogger("detector")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ToolParser(
        description="Train a YOLO-style detector.",
        epilog="Overrides use dotted config keys, e.g. train.epochs=50 data.img_size=512 train.device=cpu; options "
        "and overrides in any order",
    )
    parser.add_argument("config", help="YAML config file, e.g. configs/yolo_cspx50.yaml")
    parser.add_argument("overrides", nargs="*", default=[], metavar="key=value", help="config overrides (dotted keys)")
    parser.add_argument("--resume", metavar="PATH", help="continue a run from its training checkpoint (last.pt)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="print warnings and errors only (the bar stays)")
    verbosity.add_argument("--verbose", action="store_true", help="also print debug messages")
    return parser.parse_args(argv)


@run_tool
def main(argv: list[str] | None = None) -> int:
    """Exit status by :data:`detector.cli.exit_codes.ERROR_CODES`; Ctrl-C / SIGTERM: 130 / 143 after the line that
    says how to resume (logged by the trainer)."""
    args = parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))  # under torchrun only rank 0 prints progress; every rank prints warnings
    configure_logging(verbose=args.verbose, quiet=args.quiet or rank != 0)
    cfg = load_config(args.config, args.overrides)
    from detector.engine.interrupt import sigterm_as_interrupt, sigterm_received
    from detector.engine.jobs.train import run_training  # torch & co. load after the config is valid: typos fail fast

    try:
        with sigterm_as_interrupt():  # SIGTERM stops the run as Ctrl-C does; train() logs how to resume
            run_training(cfg, args.config, args.resume)  # checks the files first: inputs never written
    except KeyboardInterrupt as e:  # the trainer said how to resume
        log.debug("stopped: %s", type(e).__name__)
        return EXIT_SIGTERM if sigterm_received() else EXIT_SIGINT
    except BaseException as e:
        if sigterm_received():  # the stop surfaced as another error (a loader worker killed by it, ...)
            log.debug("after SIGTERM: %s: %s", type(e).__name__, e)
            return EXIT_SIGTERM
        raise
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
