"""Generate the built-in synthetic shapes dataset (COCO format) and, optionally, a short demo video.

python tools/make_shapes.py --out data/shapes --num-train 800 --num-val 200 --size 256 --seed 0 --video
python tools/make_shapes.py --out data/shapes --video-only      # just the demo video: data/shapes/video/shapes.mp4
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.data.shapes import make_shapes, make_shapes_video


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/shapes", help="output folder (default: data/shapes)")
    ap.add_argument("--num-train", type=int, default=800, help="training images (default: 800)")
    ap.add_argument("--num-val", type=int, default=200, help="validation images (default: 200)")
    ap.add_argument("--size", type=int, default=256, help="image side in pixels (default: 256)")
    ap.add_argument("--seed", type=int, default=0, help="random seed: same seed, same dataset (default: 0)")
    ap.add_argument("--video", action="store_true", help="also write <out>/video/shapes.mp4 + per-frame GT json")
    ap.add_argument("--frames", type=int, default=48, help="video length in frames (default: 48)")
    ap.add_argument("--video-only", action="store_true", help="write only the video (implies --video)")
    args = ap.parse_args(argv)
    if not args.video_only:
        res = make_shapes(args.out, args.num_train, args.num_val, args.size, args.seed)
        print(f"train: {res['train']['images']} images, {res['train']['annotations']} boxes -> {res['train_ann']}")
        print(f"val:   {res['val']['images']} images, {res['val']['annotations']} boxes -> {res['val_ann']}")
    if args.video or args.video_only:
        v = make_shapes_video(Path(args.out) / "video" / "shapes.mp4", args.frames, args.size, args.seed)
        print(f"video: {v['video']} ({v['frames']} frames), ground truth: {v['ground_truth']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
