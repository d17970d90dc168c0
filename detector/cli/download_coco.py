"""Download COCO 2017 into data/coco/{train2017,val2017,annotations/instances_*.json}.

python tools/download_coco.py --out data/coco                 # everything (~19 GB)
python tools/download_coco.py --out data/coco --parts annotations val2017   # eval only (~1.2 GB)
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from detector.cli.exit_codes import EXIT_OK, run_tool
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.config.tool_options import option
from detector.data.download import COCO_URLS, download_coco
from detector.job_files import JobFiles


@dataclass
class DownloadOptions:
    """What ``tools/download_coco.py`` fetches and where."""

    out: str = option("data/coco", "target folder")
    parts: list[str] = option(
        ["annotations", "val2017", "train2017"], "parts to fetch", choices=sorted(COCO_URLS), nargs="+"
    )
    keep_zips: bool = option(False, "keep the downloaded zip files")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, DownloadOptions, "download_coco")
    return ap.parse_args(argv)


@run_tool
def main(argv: list[str] | None = None) -> int:
    opts = options_from_args(parse_args(argv), DownloadOptions)
    files = JobFiles()  # --out: a folder, not under a file, writable (before anything is downloaded)
    files.write_folder("--out", opts.out)
    files.check()

    shown: list[str] = []  # parts whose progress line was printed

    def progress(part: str, done: int, total: int) -> None:
        shown.append(part)
        pct = f"{100 * done / total:5.1f}%" if total else ""
        print(f"\r{part}: {done / 2**20:8.0f} MiB {pct}", end="", file=sys.stderr, flush=True)

    try:
        status = download_coco(opts.out, tuple(opts.parts), keep_zips=opts.keep_zips, progress=progress)
    finally:
        if shown:
            print(file=sys.stderr)  # end the progress line
    for part, s in status.items():
        print(f"{part}: {s}")
    print(f"data ready under {Path(opts.out).resolve()}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
