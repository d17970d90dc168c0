"""``tools/benchmark.py track``: what ``--track`` adds to detect's per-frame time (detector/bench/track.py)."""

from __future__ import annotations

import argparse
import json

from detector.bench.track import TrackBenchSettings, bench_track, format_track
from detector.cli.option_args import add_options, options_from_args
from detector.output_files import write_text_atomic


def run_track(args: argparse.Namespace) -> dict:
    r = bench_track(options_from_args(args, TrackBenchSettings))
    print(format_track(r))
    if args.json:  # checked by run_benchmark before the benchmark ran
        write_text_atomic(args.json, json.dumps(r, indent=2))
        print(f"wrote {args.json}")
    return r


def add_track_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="per-frame time of detect with and without --track (interleaved)")
    add_options(p, TrackBenchSettings, "benchmark track")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--exist-ok", action="store_true", help="replace the --json file if it exists")
    p.set_defaults(func=run_track)
