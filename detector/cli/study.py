"""Compare backbones fairly: train every backbone x seed with the identical recipe, evaluate, time, report.

    python tools/study.py configs/study_shapes.yaml
    python tools/study.py configs/study_shapes.yaml --backbones cspresnext50,cspdarknet53 --seeds 0,1
    python tools/study.py configs/study_shapes.yaml --dry-run          # check the config, print the plan

Writes runs/study/<name>/ (--out changes runs/study): one run folder per backbone and seed, study.md, study.html
(self-contained), study.json. Started again, it reuses finished runs and resumes unfinished ones. Exit status 0 on
success, 2 on a bad or changed study config (one line on stderr), 130 when interrupted. The study itself is
detector/study/study_job.py; docs/STUDY.md explains the fairness rules and the report.
"""

from __future__ import annotations

import argparse
import logging
import sys

from detector.cli.exit_codes import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, run_tool
from detector.cli.logging_setup import configure_logging
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.engine.interrupt import sigterm_as_interrupt, sigterm_received
from detector.study.study_job import StudyOptions, run_study


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, StudyOptions, "study")  # STUDY overrides --backbones --seeds ...: StudyOptions' declarations
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    verbosity.add_argument("--verbose", action="store_true", help="also print debug messages")
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> StudyOptions:
    """The parsed command line as :class:`StudyOptions`."""
    return options_from_args(args, StudyOptions)


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(verbose=args.verbose, quiet=args.quiet)
    log = logging.getLogger("detector")
    try:
        with sigterm_as_interrupt():  # SIGTERM stops the study as Ctrl-C does
            run_study(options(args))
    except BaseException as e:
        if not (isinstance(e, KeyboardInterrupt) or sigterm_received()):
            raise  # ERROR_CODES: a bad or changed study config is a ValueError (2)
        stop = "stopped by SIGTERM" if sigterm_received() else "interrupted"
        log.error("%s: run the same command again to resume the study", stop)
        return EXIT_SIGTERM if sigterm_received() else EXIT_SIGINT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
