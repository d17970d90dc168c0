"""The tracking part of a detection run (``tools/detect.py --track``): which sources can be tracked, the tracker
fed with each frame's detections, the drawn IDs/trails/count line, and ``tracks.json`` + ``tracks.txt`` (MOT)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import cv2
import numpy as np

from detector.config import Config, TrackConfig, config_from_dict
from detector.engine.prediction.predictor import Predictor
from detector.engine.prediction.sources import Frame, Source
from detector.engine.prediction.track_draw import TrackDrawer
from detector.engine.prediction.tracking import tracking_settings
from detector.model.checkpoint_io import load_checkpoint
from detector.output_files import write_text_atomic
from detector.track import build_tracker
from detector.track.bytetrack import check_track_config
from detector.track.counting import LineCounter, parse_count_line
from detector.track.mot_files import mot_lines, write_mot
from detector.track.types import TrackedBoxes

TRACK_FILES = ("tracks.json", "tracks.txt")
log = logging.getLogger(__name__)


def _natural_key(name: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def check_trackable(source: Source, text: str) -> None:
    """ValueError (one line) unless ``source`` is a sequence of frames in order: a video, stream, webcam or one
    folder of frames whose names sort in numeric order."""
    if source.kind != "images":
        return
    if len(source.paths) == 1 and not Path(text).is_dir():
        raise ValueError(
            f"--track needs frames in order (a video, stream, webcam or a folder of frames); "
            f"--source {text!r} is a single image"
        )
    if not Path(text).is_dir():
        raise ValueError(
            f"--track needs frames in order; --source {text!r} is a glob, whose matches may come from several "
            "folders in no defined order: put the frames in one folder and pass the folder"
        )
    names = [p.name for p in source.paths]
    if names != sorted(names, key=_natural_key):
        i = next(k for k, (a, b) in enumerate(zip(names, sorted(names, key=_natural_key), strict=True)) if a != b)
        raise ValueError(
            f"--track: the frames of --source {text!r} sorted by name are not in numeric order ({names[i]} comes "
            "before a lower number): zero-pad the frame numbers (frame_0002.jpg)"
        )


def track_config(weights: str, overrides: list[str], loaded: Config | None = None) -> TrackConfig:
    """The ``track`` section of the checkpoint's config (an exported file: the defaults) with the ``track.*``
    overrides applied; ValueError naming the key for a bad value or contradictory thresholds. ``loaded``: that
    config as the detector was loaded with (overrides applied), so the checkpoint is not read a second time."""
    from detector.runtime.loader import is_exported

    if loaded is not None:
        cfg = loaded
    else:
        stored = None if is_exported(weights) else load_checkpoint(weights).get("config")  # an export: no config
        data: dict = stored if isinstance(stored, dict) else {}
        cfg = config_from_dict(
            {"track": dict(data.get("track") or {})},
            f"{weights} (config stored in the checkpoint)",
            [o for o in overrides if o.strip().startswith("track.")],
        )
    check_track_config(cfg.track)
    for o in overrides:
        if o.strip().startswith("predict.conf="):
            log.warning(
                "%s is not used with --track: the tracker takes boxes down to track.low_thresh=%g and trusts those "
                "from track.high_thresh=%g; set those keys instead", o.strip(), cfg.track.low_thresh,
                cfg.track.high_thresh,
            )  # fmt: skip
    return cfg.track


class TrackingRun:
    """Feeds each frame's detections to ByteTrack, draws the tracks and writes ``out/tracks.json`` (every frame's
    IDs, boxes in pixels, scores, labels; the counts) and ``out/tracks.txt`` (MOTChallenge rows) on :meth:`close`."""

    def __init__(self, cfg: TrackConfig, predictor: Predictor, source: Source, out: Path, count_line: str | None):
        self.cfg, self.out, self.source = cfg, out, source
        predictor.settings = tracking_settings(predictor.settings, cfg)
        self.class_names = predictor.class_names
        self.tracker = build_tracker(cfg)
        self.drawer = TrackDrawer(self.class_names, cfg.trail)
        self.counter: LineCounter | None = None
        if count_line is not None:
            w, h = source.frame_size()
            self.counter = LineCounter(parse_count_line(count_line, w, h))
        self.frames: list[dict] = []
        self.lines: list[str] = []
        self.last = TrackedBoxes.empty()

    def update(self, frame: Frame, det: dict) -> TrackedBoxes:
        """Track one frame (its index: gaps from skipped frames are bridged up to ``track.buffer``)."""
        t = self.tracker.update(det["boxes_xyxy"], det["scores"], det["labels"], frame.index, image=frame.image)
        names = [self.class_names[c] if 0 <= c < len(self.class_names) else str(c) for c in t.labels.tolist()]
        crossed = self.counter.update(t.ids, t.boxes_xyxy, names) if self.counter is not None else []
        self.frames.append({
            "frame": frame.index,
            "ids": t.ids.tolist(),
            "boxes_xyxy": [[round(v, 2) for v in b] for b in t.boxes_xyxy.tolist()],
            "scores": [round(s, 4) for s in t.scores.tolist()],
            "labels": t.labels.tolist(),
            **({"crossed": crossed} if crossed else {}),
        })  # fmt: skip
        self.lines += mot_lines(frame.index, t.ids, t.boxes_xyxy, t.scores, t.labels)
        self.last = t
        return t

    def draw(self, frame_rgb: np.ndarray) -> np.ndarray:
        """The last tracked frame's IDs, trails and count line drawn on the RGB frame, as BGR uint8."""
        img_bgr = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
        line = self.counter.line if self.counter is not None else None
        counts = self.counter.as_dict() if self.counter is not None else None
        return self.drawer.draw(img_bgr, self.last, line, counts)

    def summary(self) -> dict:
        """Tracks seen and the counts (for the log line and tracks.json)."""
        ids = {i for f in self.frames for i in f["ids"]}
        return {"tracks": len(ids), "counts": self.counter.as_dict() if self.counter is not None else None}

    def close(self) -> None:
        """Write tracks.json and tracks.txt (safe to call twice)."""
        doc = {
            "source": self.source.source,
            "fps": self.source.fps,
            "class_names": self.class_names,
            "tracker": vars(self.cfg),
            **self.summary(),
            "frames": self.frames,
        }
        write_text_atomic(self.out / "tracks.json", json.dumps(doc, indent=1), fsync=False)
        write_mot(self.out / "tracks.txt", self.lines)
