"""Generate a synthetic detection dataset: the built-in shapes set (COCO), a demo video, or a held-out set.

python tools/make_shapes.py --out data/shapes --num-train 800 --num-val 200 --size 256 --seed 0 --video
python tools/make_shapes.py --out data/shapes --video-only      # just the demo video: data/shapes/video/shapes.mp4
                                                                # (+ shapes.json and MOTChallenge gt.txt, with IDs)
python tools/make_shapes.py --style heldout_a --out data/heldout_a --num-train 400 --num-val 100 --img-size 256 --seed 1
python tools/make_shapes.py --style heldout_b --out data/heldout_b --num-train 400 --num-val 100 --img-size 256 --seed 1

Styles: ``shapes`` (the built-in set: circle, square, triangle, star, cross, ring); ``heldout_a`` (hexagon, crescent,
arrow; 8-160 px, textured backgrounds, occlusion); ``heldout_b`` (6 classes, dense scenes of 15-40 mostly small
objects). Held-out sets are written as COCO JSON and YOLO-txt labels plus an Ultralytics data.yaml.
--out must be missing, empty or hold an earlier set of the same generator and parameters (whose own files, listed in
its manifest shapes_meta.json / heldout_meta.json with their hashes, are removed first); another set, a folder with
other files, a file the manifest does not list that the new set would overwrite, or a video file this tool did not
write is an error (exit status 2) unless --exist-ok. So is a --size whose images would not fit in the memory
available (estimated before anything is written).
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from detector.cli.exit_codes import EXIT_OK, run_tool
from detector.cli.option_args import add_options, options_from_args
from detector.cli.parsing import ToolParser
from detector.config.tool_options import AT_LEAST_1, KEY_DEFAULT, option
from detector.data.synthetic.heldout_scene import STYLES
from detector.data.synthetic.heldout_writer import make_heldout
from detector.data.synthetic.shapes import make_shapes
from detector.data.synthetic.shapes_video import check_video_out, make_shapes_video
from detector.job_files import JobFiles


def _print_stats(split: str, stats: dict) -> None:
    o, e = stats["objects_per_image"], stats["extent_px"]
    print(
        f"{split}: {stats['images']} images, {stats['boxes']} boxes; objects/image mean {o['mean']} "
        f"(min {o['min']}, max {o['max']}, {stats['empty_images']} empty); box extent max(w,h) "
        f"{e['min']:.0f}-{e['max']:.0f} px (median {e['median']:.0f}); areas {json.dumps(stats['area_buckets'])}; "
        f"per class {json.dumps(stats['per_class'])}"
    )


@dataclass
class ShapesOptions:
    """What ``tools/make_shapes.py`` makes; the set's sizes and seed are the ``data.shapes`` config keys'."""

    style: str = option("shapes", "which set", choices=("shapes", *STYLES))
    out: str = option("data/shapes", "output folder")
    num_train: int = option(KEY_DEFAULT, key="data.shapes.num_train")
    num_val: int = option(KEY_DEFAULT, key="data.shapes.num_val")
    size: int = option(KEY_DEFAULT, "image side, px", flag=("--size", "--img-size"), key="data.shapes.img_size")
    seed: int = option(KEY_DEFAULT, "random seed: same seed, same dataset", key="data.shapes.seed")
    video: bool = option(False, "also write <out>/video/shapes.mp4 + per-frame GT json")
    frames: int = option(300, "video length in frames", range=AT_LEAST_1)
    video_only: bool = option(False, "write only the video (implies --video)")
    exist_ok: bool = option(
        False, "write into an --out that holds other files (files with the generator's names are replaced)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, ShapesOptions, "make_shapes")
    args = ap.parse_args(argv)
    if args.style != "shapes" and (args.video or args.video_only):
        ap.error(f"--video/--video-only draw the built-in shapes; drop them for --style {args.style}")
    return args


@run_tool
def main(argv: list[str] | None = None) -> int:
    opts = options_from_args(parse_args(argv), ShapesOptions)
    files = JobFiles(exist_ok=opts.exist_ok)  # --out: a folder, not under a file, writable (checked before any work)
    files.write_folder("--out", opts.out)
    files.check()
    if opts.style != "shapes":
        res = make_heldout(
            opts.out, opts.style, opts.num_train, opts.num_val, opts.size, opts.seed, exist_ok=opts.exist_ok
        )
        for split in ("train", "val"):
            _print_stats(split, res[split])
        print(f"COCO: {res['train_ann']}, {res['val_ann']}; YOLO: {res['data_yaml']}")
        return EXIT_OK
    video = Path(opts.out) / "video" / "shapes.mp4"
    if opts.video or opts.video_only:
        check_video_out(video, opts.exist_ok)  # before the set: a refusal writes nothing
    if not opts.video_only:
        res = make_shapes(opts.out, opts.num_train, opts.num_val, opts.size, opts.seed, exist_ok=opts.exist_ok)
        print(f"train: {res['train']['images']} images, {res['train']['annotations']} boxes -> {res['train_ann']}")
        print(f"val:   {res['val']['images']} images, {res['val']['annotations']} boxes -> {res['val_ann']}")
    if opts.video or opts.video_only:
        v = make_shapes_video(video, opts.frames, opts.size, opts.seed, exist_ok=opts.exist_ok)
        print(f"video: {v['video']} ({v['frames']} frames), ground truth: {v['ground_truth']}, {v['mot_gt']}")
        print(f"video: {json.dumps(v['stats'])}")
    return EXIT_OK  # OpenCV that cannot write the video: RuntimeError, exit status 1


if __name__ == "__main__":
    sys.exit(main())
