"""Convert a YOLO-txt dataset (images/ + labels/ with `class cx cy w h` normalised) to a COCO JSON file.

    python tools/yolo2coco.py --images data/my_set/images/val --names data/my_set/data.yaml --out val.json

Category ids are class index + 1; file_name entries are relative to the images folder. --out is never one of the
inputs nor inside their folders; an existing --out is replaced only with --exist-ok (exit status 2 otherwise).
"""

import argparse
import sys
from pathlib import Path

from detector.cli.exit_codes import EXIT_OK, run_tool
from detector.cli.parsing import ToolParser
from detector.data.yolo_txt import yolo_to_coco


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True, help="images folder (or a root holding images/), or a .txt list")
    ap.add_argument("--names", required=True, help="data yaml with 'names', or a names file (one per line)")
    ap.add_argument("--labels", help="label folder, if not the images -> labels sibling")
    ap.add_argument("--out", required=True, help="COCO JSON to write")
    ap.add_argument("--exist-ok", action="store_true", help="replace --out if it exists")
    return ap.parse_args(argv)


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = yolo_to_coco(args.images, Path(args.names), args.out, labels_dir=args.labels, exist_ok=args.exist_ok)
    for p in res["problems"][:10]:
        print(f"skipped: {p}", file=sys.stderr)
    if len(res["problems"]) > 10:
        print(f"... {len(res['problems']) - 10} more skipped label lines", file=sys.stderr)
    if res["skipped"]:
        counts = ", ".join(f"{kind}: {n}" for kind, n in res["skipped"].items())
        print(f"skipped {len(res['problems'])} label line(s) ({counts})", file=sys.stderr)
    print(f"{res['images']} images, {res['annotations']} boxes -> {args.out} (images dir: {res['images_dir']})")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
