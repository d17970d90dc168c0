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
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import arg_list_type
from detector.engine.evaluation.errors.rules import ERROR_RULES
from detector.engine.interrupt import sigterm_as_interrupt, sigterm_received
from detector.study.study_job import StudyOptions, run_study


def _names(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated backbones like cspdarknet53,timm:resnet18, got {text!r}"
        )
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", help="study config YAML, e.g. configs/study_shapes.yaml")
    p.add_argument(
        "overrides", nargs="*", default=[], metavar="key=value", help="shared config overrides for every run"
    )
    p.add_argument(
        "--backbones",
        type=_names,
        default=None,
        help="comma-separated labels of the study's backbones, or backbone names (registry or timm:<name>)",
    )
    p.add_argument(
        "--seeds",
        type=arg_list_type("study", "--seeds"),
        default=None,
        help="comma-separated seeds (default: the study's)",
    )
    p.add_argument("--name", default=None, help="study name = folder under --out (default: the study's name)")
    p.add_argument("--out", default="runs/study", help="parent folder of the study folder (default %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="check the config and print the plan; train nothing")
    p.add_argument(
        "--errors",
        default=None,
        choices=ERROR_RULES,
        help="rules of the report's error breakdown: paper (the TIDE paper's) or tidecv (tidecv 1.0.1's, to compare "
        "with published figures); default: the study file's report.errors (paper); docs/ERRORS.md",
    )
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    verbosity.add_argument("--verbose", action="store_true", help="also print debug messages")
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> StudyOptions:
    """The parsed command line as :class:`StudyOptions`."""
    return StudyOptions(
        spec=args.study,
        backbones=args.backbones,
        seeds=args.seeds,
        overrides=list(args.overrides),
        name=args.name,
        out=args.out,
        dry_run=args.dry_run,
        errors=args.errors,
    )


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
