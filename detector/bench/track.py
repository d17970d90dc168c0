"""What tracking adds to detection, per frame: ``tools/benchmark.py track`` (docs/TRACKING.md).

The video's frames are decoded into memory first (decoding and video writing are not timed). Then, frame by frame
and interleaved, so that both see the same machine load: detection as ``tools/detect.py`` runs it (``predict.conf``),
and detection as ``--track`` runs it (boxes down to ``track.low_thresh``) followed by the tracker's update. Reported:
the median milliseconds per frame of each, the tracker's own update, and the overhead of tracking in percent.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from detector.config.tool_options import AT_LEAST_1, option
from detector.engine.jobs.detect import DetectOptions, build_predictor
from detector.engine.jobs.track_run import track_config
from detector.engine.prediction.sources import Source
from detector.engine.prediction.tracking import tracking_settings
from detector.track import build_tracker


@dataclass
class TrackBenchSettings:
    weights: str = option(doc="checkpoint, e.g. runs/shapes_tiny/weights/best.pt")
    source: str = option("data/shapes/video/shapes.mp4", "video file")
    overrides: list[str] = option([], "predict.* / track.* overrides", positional=True, nargs="*", metavar="key=value")
    device: str = option("cpu", "cpu | cuda | cuda:N | auto")
    frames: int = option(300, "frames timed", range=AT_LEAST_1)  # at most this many frames of the video
    # the median per frame over all the passes
    repeats: int = option(3, "passes over the frames", range=AT_LEAST_1)


def bench_track(s: TrackBenchSettings) -> dict:
    """Run the interleaved timing; returns ``{"frames", "img_size", "device", "detect_ms", "detect_track_ms",
    "tracker_ms", "overhead_pct", ...}`` (medians per frame)."""
    opts = DetectOptions(weights=s.weights, source=s.source, device=s.device, overrides=list(s.overrides))
    plain = build_predictor(opts)
    tracked = build_predictor(opts)
    cfg = track_config(s.weights, s.overrides)
    tracked.settings = tracking_settings(tracked.settings, cfg)
    source = Source(s.source)
    if source.kind == "images":
        raise ValueError(f"--source {s.source!r}: benchmark track needs a video file")
    frames = []
    for frame in source:
        if frame.image is not None:
            frames.append(frame.image)
        if len(frames) >= s.frames:
            break
    source.close()
    for img in frames[:3]:  # warm-up
        plain([img])
        tracked([img])
    det_ms, both_ms, trk_ms = [], [], []
    for _ in range(s.repeats):
        tracker = build_tracker(cfg)
        for i, img in enumerate(frames):
            t0 = time.perf_counter()
            plain([img])
            t1 = time.perf_counter()
            det = tracked([img])[0]
            t2 = time.perf_counter()
            tracker.update(det["boxes_xyxy"], det["scores"], det["labels"], i, image=img)
            t3 = time.perf_counter()
            det_ms.append((t1 - t0) * 1e3)
            both_ms.append((t3 - t1) * 1e3)
            trk_ms.append((t3 - t2) * 1e3)
    d, b, t = (float(np.median(x)) for x in (det_ms, both_ms, trk_ms))
    return {
        "frames": len(frames),
        "repeats": s.repeats,
        "img_size": plain.img_size,
        "device": str(plain.device),
        "tracker": dataclasses.asdict(cfg),
        "detect_ms": d,
        "detect_track_ms": b,
        "tracker_ms": t,
        "overhead_pct": 100 * (b - d) / d,
        "tracker_pct": 100 * t / d,
    }


def format_track(r: dict) -> str:
    """The result as a few lines of text."""
    return (
        f"track benchmark: {r['frames']} frames x {r['repeats']}, img-size {r['img_size']} on {r['device']} "
        f"(medians per frame, decoding and video writing excluded)\n"
        f"  detect                 {r['detect_ms']:8.2f} ms\n"
        f"  detect --track         {r['detect_track_ms']:8.2f} ms  (+{r['overhead_pct']:.1f} %)\n"
        f"  tracker update alone   {r['tracker_ms']:8.3f} ms  ({r['tracker_pct']:.1f} % of detect)"
    )
