"""Dataset doctor: report what is wrong with a dataset before training meets it.

    python tools/check_dataset.py --ann data/coco/annotations/instances_val2017.json --images data/coco/val2017
    python tools/check_dataset.py --yolo data/my_set/images/train --names data/my_set/data.yaml

Exit status 0 unless a fatal problem is found (JSON that is not COCO, unknown category ids, none of the images
found in --images), then 1; 2 when an input (--ann, --images, --yolo, --names) is missing or of the wrong kind (a
folder as --ann, a file as --images, a names YAML that does not parse).
"""

import argparse
import sys

from detector.cli.exit_codes import EXIT_FAILED, EXIT_OK, run_tool
from detector.cli.parsing import ToolParser
from detector.data.doctor import check_coco
from detector.data.yolo_txt import check_yolo
from detector.job_files import JobFiles


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ann", help="COCO annotation JSON")
    ap.add_argument("--images", help="image folder the JSON's file_name entries are relative to")
    ap.add_argument("--yolo", help="YOLO-txt images folder (labels found by images -> labels) or a .txt list")
    ap.add_argument("--names", help="YOLO mode: data yaml with 'names', or a names file (one per line)")
    ap.add_argument("--labels", help="YOLO mode: label folder, if not the images -> labels sibling")
    ap.add_argument("--full", action="store_true", help="decode every image (slow; finds corruption inside files)")
    ap.add_argument("--no-cache", action="store_true", help="rescan even if a cached result matches")
    args = ap.parse_args(argv)
    if args.yolo:
        if not args.names:
            ap.error("--yolo needs --names (data yaml or names file)")
    elif not (args.ann and args.images):
        ap.error("give --ann and --images (COCO) or --yolo and --names (YOLO-txt)")
    return args


def check_inputs(args: argparse.Namespace) -> None:
    """The inputs exist and are of their kind (FileNotFoundError, IsADirectoryError, NotADirectoryError: exit 2)."""
    files = JobFiles()
    files.read("--ann", args.ann, "file", must_exist=True)
    files.read("--images", args.images, "folder", must_exist=True)
    files.read("--yolo", args.yolo, must_exist=True)
    files.read("--names", args.names, "file", must_exist=True)
    files.read("--labels", args.labels, "folder", must_exist=True)
    files.check()


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_inputs(args)
    if args.yolo:
        report = check_yolo(args.yolo, args.names, labels_dir=args.labels, full=args.full)
    else:
        report = check_coco(args.ann, args.images, full=args.full, cache=not args.no_cache)
    print(report.summary() + ("\n  (cached result)" if report.from_cache else ""))
    return EXIT_FAILED if report.fatal else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
