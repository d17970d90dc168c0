"""``tools/benchmark.py track``: what ``--track`` adds to detect's per-frame time (detector/bench/track.py)."""

from __future__ import annotations

import argparse
import json

from detector.bench.track import TrackBenchSettings, bench_track, format_track
from detector.cli.tool_args import arg_type
from detector.output_files import write_text_atomic


def run_track(args: argparse.Namespace) -> dict:
    r = bench_track(
        TrackBenchSettings(
            weights=args.weights,
            source=args.source,
            device=args.device,
            frames=args.frames,
            repeats=args.repeats,
            overrides=list(args.overrides),
        )
    )
    print(format_track(r))
    if args.json:  # checked by run_benchmark before the benchmark ran
        write_text_atomic(args.json, json.dumps(r, indent=2))
        print(f"wrote {args.json}")
    return r


def add_track_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="per-frame time of detect with and without --track (interleaved)")
    p.add_argument("--weights", required=True, help="checkpoint, e.g. runs/shapes_tiny/weights/best.pt")
    p.add_argument("--source", default="data/shapes/video/shapes.mp4", help="video file (default %(default)s)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="predict.* / track.* overrides")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto (default %(default)s)")
    p.add_argument(
        "--frames", type=arg_type("benchmark track", "--frames"), default=300, help="frames timed (default %(default)s)"
    )
    p.add_argument(
        "--repeats",
        type=arg_type("benchmark track", "--repeats"),
        default=3,
        help="passes over the frames (default %(default)s)",
    )
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--exist-ok", action="store_true", help="replace the --json file if it exists")
    p.set_defaults(func=run_track)
