"""Run a trained detector on images, folders, globs, videos, webcams or streams; save annotated results.

Example: python tools/detect.py --weights runs/train/exp/weights/best.pt --source data/images --save-json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from detector.engine.draw import draw_detections
from detector.engine.predictor import Predictor, Source, SourceError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint written by tools/train.py (last.pt / best.pt)")
    p.add_argument("--source", required=True, help="image, folder, glob ('imgs/*.jpg'), video, webcam index or URL")
    p.add_argument(
        "--img-size",
        type=int,
        default=None,
        help="network input long side, pixels (default: training data.img_size)",
    )
    p.add_argument("--conf", type=float, default=0.25, help="score threshold (objectness x class probability)")
    p.add_argument("--iou", type=float, default=0.45, help="NMS IoU threshold")
    p.add_argument("--max-det", type=int, default=300, help="maximum detections per image")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--out", default="runs/detect/exp", help="output folder (exp2, exp3... if it already has files)")
    p.add_argument("--exist-ok", action="store_true", help="write into --out even if it already has files")
    p.add_argument("--save-json", action="store_true", help="write OUT/detections.json (all images/frames)")
    p.add_argument("--save-txt", action="store_true", help="write OUT/labels/<name>.txt: label cx cy w h score (0-1)")
    p.add_argument("--no-save", action="store_true", help="do not write annotated images/videos")
    p.add_argument("--show", action="store_true", help="display results in a window (when a display is available)")
    p.add_argument(
        "--half", action="store_true", help="fp16 inference (CUDA only; the default already uses fp16 there)"
    )
    p.add_argument("--square", action="store_true", help="pad to img-size x img-size instead of a minimal rectangle")
    p.add_argument("--no-fuse", action="store_true", help="keep BatchNorm layers separate (default: fused into convs)")
    p.add_argument("overrides", nargs="*", help="config overrides key=value applied to the checkpoint's config")
    return p.parse_args(argv)


def output_dir(out: str | Path, exist_ok: bool) -> Path:
    """``out`` itself when new/empty (or ``exist_ok``), else the first free ``out2``, ``out3``, ..."""
    out = Path(out)
    if exist_ok or not out.exists() or not any(out.iterdir()):
        return out
    n = 2
    while (out.parent / f"{out.name}{n}").exists():
        n += 1
    return out.parent / f"{out.name}{n}"


def display_available() -> bool:
    """True when a window can plausibly be opened (always on Windows/macOS; X11/Wayland display on Linux)."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def yolo_lines(det: dict, h: int, w: int) -> list[str]:
    """Detections as YOLO txt rows ``label cx cy w h score`` (coordinates normalised by the image size)."""
    lines = []
    rows = zip(det["boxes_xyxy"].tolist(), det["scores"].tolist(), det["labels"].tolist(), strict=True)
    for (x1, y1, x2, y2), s, c in rows:
        cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{c} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f} {s:.5f}")
    return lines


def summary_text(det: dict) -> str:
    counts: dict[str, int] = {}
    for name in det["names"]:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} {name}" for name, n in counts.items()) or "no detections"


def run(args: argparse.Namespace) -> int:
    """Detect on every frame of ``args.source``; returns the process exit code."""
    from detector.engine.checkpoint_io import load_detector

    try:
        source = Source(args.source)
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        model, cfg, meta = load_detector(args.weights, list(args.overrides))
    except (OSError, ValueError) as e:
        print(f"error: --weights {args.weights}: {e}", file=sys.stderr)
        return 2
    if args.img_size is None:
        args.img_size = cfg.data.img_size  # the size the model was trained at
    class_names = meta.get("class_names") or getattr(model, "class_names", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if not args.half else "default")
        predictor = Predictor(
            model,
            img_size=args.img_size,
            device=args.device,
            half=True if args.half else None,
            conf_thres=args.conf,
            iou_thres=args.iou,
            max_det=args.max_det,
            class_names=class_names,
            rect=not args.square,
            fuse=not args.no_fuse,
        )
    out = output_dir(args.out, args.exist_ok)
    out.mkdir(parents=True, exist_ok=True)
    if args.save_txt:
        (out / "labels").mkdir(exist_ok=True)
    show = args.show and display_available()
    if args.show and not show:
        print("warning: --show ignored: no display found (DISPLAY/WAYLAND_DISPLAY unset)", file=sys.stderr)
    is_video = source.kind != "images"
    src_name = f"webcam{args.source}" if args.source.isdigit() else Path(args.source.split("?")[0]).stem or "stream"
    writer, records, skipped, n_done = None, [], 0, 0
    totals = {"pre": 0.0, "infer": 0.0, "post": 0.0}
    total = len(source)
    t_start = time.perf_counter()
    try:
        for frame in source:
            tag = f"frame {frame.index + 1}/{total or '?'}" if is_video else f"image {frame.index + 1}/{total}"
            if frame.image is None:
                skipped += 1
                print(f"warning: {tag} skipped: {frame.error}", file=sys.stderr)
                continue
            det = predictor([frame.image])[0]
            n_done += 1
            for k in totals:
                totals[k] += predictor.timing[k]
            t = predictor.timing
            print(
                f"{tag} {frame.path}: {summary_text(det)} "
                f"(pre {t['pre']:.1f}ms, infer {t['infer']:.1f}ms, post {t['post']:.1f}ms)"
            )
            stem = f"{src_name}_{frame.index:06d}" if is_video else Path(frame.path).stem
            if args.save_json:
                key = {"frame": frame.index} if is_video else {"image": Path(frame.path).name}
                records.append(
                    {
                        "source": frame.path,
                        **key,
                        "boxes_xyxy": [[round(v, 3) for v in b] for b in det["boxes_xyxy"].tolist()],
                        "scores": [round(s, 5) for s in det["scores"].tolist()],
                        "labels": det["labels"].tolist(),
                        "class_names": det["names"],
                    }
                )
            if args.save_txt:
                h, w = frame.image.shape[:2]
                (out / "labels" / f"{stem}.txt").write_text("".join(x + "\n" for x in yolo_lines(det, h, w)))
            if args.no_save and not show:
                continue
            bgr = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
            vis = draw_detections(bgr, det["boxes_xyxy"], det["labels"], det["scores"], predictor.class_names, bgr=True)
            if not args.no_save:
                if is_video:
                    if writer is None:
                        video_path = out / f"{src_name}.mp4"
                        size = (vis.shape[1], vis.shape[0])
                        writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), source.fps, size)
                        if not writer.isOpened():
                            raise RuntimeError(f"cannot write video {video_path}: no mp4v encoder in this OpenCV build")
                    writer.write(vis)
                else:
                    cv2.imwrite(str(out / Path(frame.path).name), vis)
            if show:
                show = show_frame(vis, frame.path)
    except KeyboardInterrupt:
        print("interrupted; saving what was processed", file=sys.stderr)
    finally:
        source.close()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    elapsed = time.perf_counter() - t_start
    if args.save_json:
        (out / "detections.json").write_text(json.dumps(records, indent=1))
    if skipped:
        print(f"warning: skipped {skipped} unreadable image(s) of {total}", file=sys.stderr)
    if n_done == 0:
        print(f"error: no readable image in --source {args.source!r}", file=sys.stderr)
        return 1
    per = {k: v / n_done for k, v in totals.items()}
    print(
        f"Speed per image: pre {per['pre']:.1f}ms, infer {per['infer']:.1f}ms, post {per['post']:.1f}ms "
        f"at img-size {args.img_size} on {predictor.device}; {n_done} image(s) in {elapsed:.2f}s "
        f"({n_done / max(elapsed, 1e-9):.1f} FPS)"
    )
    print(f"Results saved to {out}")
    return 0


def show_frame(img_bgr: np.ndarray, title: str) -> bool:
    """Show one frame; returns False (stop showing) when the window cannot be opened or the user pressed q/Esc."""
    try:
        cv2.imshow("detect", img_bgr)
        key = cv2.waitKey(1) & 0xFF
    except cv2.error:
        print(f"warning: --show: this OpenCV build cannot open windows (at {title}); not showing", file=sys.stderr)
        return False
    return key not in (ord("q"), 27)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
