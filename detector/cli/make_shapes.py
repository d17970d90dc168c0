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
from pathlib import Path

from detector.cli.exit_codes import EXIT_OK, run_tool
from detector.cli.parsing import ToolParser
from detector.cli.tool_args import arg_type
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = ToolParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default="shapes", choices=["shapes", *STYLES], help="which set (default: shapes)")
    ap.add_argument("--out", default="data/shapes", help="output folder (default: data/shapes)")
    ap.add_argument(
        "--num-train", type=arg_type("make_shapes", "--num-train"), default=800, help="training images (default: 800)"
    )
    ap.add_argument(
        "--num-val", type=arg_type("make_shapes", "--num-val"), default=200, help="validation images (default: 200)"
    )
    ap.add_argument(
        "--size",
        "--img-size",
        dest="size",
        type=arg_type("make_shapes", "--size"),
        default=256,
        help="image side, px (default: 256)",
    )
    ap.add_argument(
        "--seed",
        type=arg_type("make_shapes", "--seed"),
        default=0,
        help="random seed: same seed, same dataset (default: 0)",
    )
    ap.add_argument("--video", action="store_true", help="also write <out>/video/shapes.mp4 + per-frame GT json")
    ap.add_argument(
        "--frames", type=arg_type("make_shapes", "--frames"), default=300, help="video length in frames (default: 300)"
    )
    ap.add_argument("--video-only", action="store_true", help="write only the video (implies --video)")
    ap.add_argument(
        "--exist-ok",
        action="store_true",
        help="write into an --out that holds other files (files with the generator's names are replaced)",
    )
    args = ap.parse_args(argv)
    if args.style != "shapes" and (args.video or args.video_only):
        ap.error(f"--video/--video-only draw the built-in shapes; drop them for --style {args.style}")
    return args


@run_tool
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = JobFiles(exist_ok=args.exist_ok)  # --out: a folder, not under a file, writable (checked before any work)
    files.write_folder("--out", args.out)
    files.check()
    if args.style != "shapes":
        res = make_heldout(
            args.out, args.style, args.num_train, args.num_val, args.size, args.seed, exist_ok=args.exist_ok
        )
        for split in ("train", "val"):
            _print_stats(split, res[split])
        print(f"COCO: {res['train_ann']}, {res['val_ann']}; YOLO: {res['data_yaml']}")
        return EXIT_OK
    video = Path(args.out) / "video" / "shapes.mp4"
    if args.video or args.video_only:
        check_video_out(video, args.exist_ok)  # before the set: a refusal writes nothing
    if not args.video_only:
        res = make_shapes(args.out, args.num_train, args.num_val, args.size, args.seed, exist_ok=args.exist_ok)
        print(f"train: {res['train']['images']} images, {res['train']['annotations']} boxes -> {res['train_ann']}")
        print(f"val:   {res['val']['images']} images, {res['val']['annotations']} boxes -> {res['val_ann']}")
    if args.video or args.video_only:
        v = make_shapes_video(video, args.frames, args.size, args.seed, exist_ok=args.exist_ok)
        print(f"video: {v['video']} ({v['frames']} frames), ground truth: {v['ground_truth']}, {v['mot_gt']}")
        print(f"video: {json.dumps(v['stats'])}")
    return EXIT_OK  # OpenCV that cannot write the video: RuntimeError, exit status 1


if __name__ == "__main__":
    sys.exit(main())
