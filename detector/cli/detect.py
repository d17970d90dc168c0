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
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import add_config_flags, config_flag_overrides
from detector.engine.jobs.detect import DetectOptions, run_detection


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint written by tools/train.py (last.pt / best.pt)")
    p.add_argument("--source", required=True, help="image, folder, glob ('imgs/*.jpg'), video, webcam index or URL")
    add_config_flags(p, "detect")  # --img-size --conf --iou --max-det --half --square: predict.* keys
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--out", default="runs/detect/exp", help="output folder (exp2, exp3... if it already has files)")
    p.add_argument(
        "--exist-ok",
        action="store_true",
        help="write into --out even if it already has files, replacing same-named outputs (never a --source file)",
    )
    p.add_argument("--save-json", action="store_true", help="write OUT/detections.json (all images/frames)")
    p.add_argument("--save-txt", action="store_true", help="write OUT/labels/<name>.txt: label cx cy w h score (0-1)")
    p.add_argument("--no-save", action="store_true", help="do not write annotated images/videos")
    p.add_argument("--show", action="store_true", help="display results in a window (when a display is available)")
    p.add_argument("--no-fuse", action="store_true", help="keep BatchNorm layers separate (default: fused into convs)")
    p.add_argument(
        "--track",
        action="store_true",
        help="follow objects across the frames of a video, stream, webcam or folder of frames (ByteTrack, the track.* "
        "keys): IDs and trails drawn, OUT/tracks.json and OUT/tracks.txt (MOTChallenge); docs/TRACKING.md",
    )
    p.add_argument(
        "--count-line", metavar="X1,Y1,X2,Y2", help="with --track: count tracks crossing this line (pixels), per class"
    )
    p.add_argument("--quiet", action="store_true", help="print warnings and errors only")
    p.add_argument(
        "overrides",
        nargs="*",
        default=[],
        metavar="key=value",
        help="overrides of the checkpoint's config, e.g. predict.conf=0.4",
    )
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> DetectOptions:
    """The parsed command line as :class:`DetectOptions`."""
    return DetectOptions(
        weights=args.weights,
        source=args.source,
        device=args.device,
        out=args.out,
        exist_ok=args.exist_ok,
        save=not args.no_save,
        save_txt=args.save_txt,
        save_json=args.save_json,
        show=args.show,
        fuse=not args.no_fuse,
        overrides=[*config_flag_overrides(args, "detect"), *args.overrides],  # an explicit key=value wins
        track=args.track,
        count_line=args.count_line,
    )


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
