"""Run a trained detector on images, folders, globs, videos, webcams or streams; save annotated results.

The detection settings are the checkpoint config's ``predict`` section; set them as ``key=value`` overrides
(``predict.conf=0.4``) or with their flag aliases (``--conf 0.4``; detector/cli/tool_args.py CONFIG_FLAGS).

Example: python tools/detect.py --weights runs/train/exp/weights/best.pt --source data/images --save-json
Tracking: python tools/detect.py --weights best.pt --source video.mp4 --track --count-line 0,128,256,128 track.buffer=60
"""

from __future__ import annotations

import argparse
import sys

from detector.cli.exit_codes import EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, run_tool
from detector.cli.logging_setup import configure_logging
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import add_config_flags, config_flag_overrides
from detector.engine.jobs.detect import DetectOptions, run_detection


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, DetectOptions, "detect")  # --weights --source --device --out ...: DetectOptions' declarations
    add_config_flags(p, "detect")  # --img-size --conf --iou --max-det --half --square: predict.* keys
    p.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> DetectOptions:
    """The parsed command line as :class:`DetectOptions`."""
    overrides = [*config_flag_overrides(args, "detect"), *args.overrides]  # an explicit key=value wins
    return options_from_args(args, DetectOptions, overrides=overrides)


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(quiet=args.quiet)
    summary = run_detection(options(args))  # no readable image at all: NoImagesError, a RuntimeError (exit 1)
    if summary.terminated:
        return EXIT_SIGTERM  # SIGTERM: what was processed is saved (the video finalised), then 143
    return EXIT_SIGINT if summary.interrupted else EXIT_OK  # Ctrl-C: what was processed is saved, then 130


if __name__ == "__main__":
    sys.exit(main())
