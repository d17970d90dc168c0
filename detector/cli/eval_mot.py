"""Tracking evaluation: MOT metrics of MOTChallenge track files against a ground truth (docs/TRACKING.md).

    python tools/eval.py --mot-gt data/shapes/video/gt.txt --mot-pred runs/detect/exp/tracks.txt [more.txt ...]

Prints HOTA (DetA, AssA), MOTA, MOTP, IDF1 (IDP, IDR), ID switches and fragmentations for each --mot-pred file as
a Markdown table (class-agnostic; detector/track/metrics.py). --json FILE also writes them (never over an input; over
an existing file only with --exist-ok). Exit status 0 on success, 2 on a missing or malformed file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detector.cli.exit_codes import EXIT_OK, EXIT_USAGE
from detector.output_files import check_output_file, write_text_atomic
from detector.track.metrics import mot_metrics
from detector.track.mot_files import read_mot

COLUMNS = ["HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "IDP", "IDR", "IDSW", "Frag", "FP", "FN"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="eval.py --mot-gt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mot-gt", required=True, help="ground-truth MOT file: frame,id,x,y,w,h,... (frames from 1)")
    ap.add_argument("--mot-pred", required=True, nargs="+", help="tracks.txt file(s) written by detect.py --track")
    ap.add_argument("--json", help="also write the metrics to this JSON file")
    ap.add_argument("--exist-ok", action="store_true", help="replace the --json file if it exists")
    return ap.parse_args(argv)


def markdown_table(results: dict[str, dict]) -> str:
    """One row per predictions file, the :data:`COLUMNS`."""
    lines = ["| tracks | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, m in results.items():
        cells = [f"{m[k]:.3f}" if isinstance(m[k], float) else str(m[k]) for k in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.json:
            inputs = {"--mot-gt": args.mot_gt, **{f"--mot-pred {p}": p for p in args.mot_pred}}
            check_output_file(args.json, "--json", exist_ok=args.exist_ok, inputs=inputs)
        gt = read_mot(args.mot_gt, "--mot-gt")
        results = {p: mot_metrics(gt, read_mot(p, "--mot-pred")) for p in args.mot_pred}
    except (OSError, ValueError) as e:  # OutputFileError is a ValueError
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return EXIT_USAGE
    print(markdown_table(results))
    if args.json:
        write_text_atomic(Path(args.json), json.dumps({"gt": args.mot_gt, "results": results}, indent=1))
        print(f"wrote {args.json}")
    return EXIT_OK
