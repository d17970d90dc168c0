"""What a detection run writes: annotated images or videos, YOLO txt rows, one JSON file of all detections, and an
optional display window."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from detector.engine.prediction.draw import draw_detections
from detector.engine.prediction.sources import Frame
from detector.output_files import atomic_path, write_text_atomic

log = logging.getLogger(__name__)


def yolo_lines(det: dict, h: int, w: int) -> list[str]:
    """Detections as YOLO txt rows ``label cx cy w h score`` (coordinates normalised by the image size ``h x w``)."""
    lines = []
    rows = zip(det["boxes_xyxy"].tolist(), det["scores"].tolist(), det["labels"].tolist(), strict=True)
    for (x1, y1, x2, y2), s, c in rows:
        cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{c} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f} {s:.5f}")
    return lines


def summary_text(det: dict) -> str:
    """``"2 cat, 1 dog"`` (counts per class name, in order of first appearance) or ``"no detections"``."""
    counts: dict[str, int] = {}
    for name in det["names"]:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} {name}" for name, n in counts.items()) or "no detections"


def image_name(frame: Frame) -> str:
    """Where an image's outputs go, relative to the output folder: its path relative to the source root
    (``a/x.jpg``, :meth:`Source.name_of`), or its file name."""
    return frame.name or Path(frame.path).name


def json_record(frame: Frame, det: dict, is_video: bool) -> dict:
    """One entry of ``detections.json``: source, image name or frame number, boxes (pixels), scores, labels, names."""
    key = {"frame": frame.index} if is_video else {"image": image_name(frame)}
    return {
        "source": frame.path,
        **key,
        "boxes_xyxy": [[round(v, 3) for v in b] for b in det["boxes_xyxy"].tolist()],
        "scores": [round(s, 5) for s in det["scores"].tolist()],
        "labels": det["labels"].tolist(),
        "class_names": det["names"],
    }


class DetectionWriter:
    """Writes the outputs of one run into ``out``: annotated images (their paths relative to the source root, e.g.
    ``a/x.jpg``) or one ``<name>.mp4`` per video, ``labels/<relative path>.txt`` (``labels/a/x.txt``, ``save_txt``)
    and ``detections.json`` (``save_json``, written by :meth:`close`)."""

    def __init__(
        self, out: Path, source_name: str, is_video: bool, fps: float, save: bool, save_txt: bool, save_json: bool
    ):
        self.out, self.source_name, self.is_video, self.fps = out, source_name, is_video, fps
        self.save, self.save_txt, self.save_json = save, save_txt, save_json
        self.records: list[dict] = []
        self._video: cv2.VideoWriter | None = None
        out.mkdir(parents=True, exist_ok=True)
        if save_txt:
            (out / "labels").mkdir(exist_ok=True)

    def stem(self, frame: Frame) -> str:
        """The label file's path under ``labels/`` without ``.txt``: ``<video>_000042``, or ``a/x`` for ``a/x.jpg``."""
        if self.is_video:
            return f"{self.source_name}_{frame.index:06d}"
        return Path(image_name(frame)).with_suffix("").as_posix()

    def add(self, frame: Frame, det: dict, annotated_bgr: np.ndarray | None) -> None:
        """Record one frame's detections; ``annotated_bgr`` is the drawn frame (None when images are not saved)."""
        assert frame.image is not None
        if self.save_json:
            self.records.append(json_record(frame, det, self.is_video))
        if self.save_txt:
            h, w = frame.image.shape[:2]
            label_path = self.out / "labels" / f"{self.stem(frame)}.txt"
            write_text_atomic(label_path, "".join(x + "\n" for x in yolo_lines(det, h, w)), fsync=False)
        if self.save and annotated_bgr is not None:
            if self.is_video:
                self._write_video_frame(annotated_bgr)
            else:
                image_path = self.out / image_name(frame)
                with atomic_path(image_path, fsync=False) as tmp:  # the temporary file keeps the suffix
                    if not cv2.imwrite(str(tmp), annotated_bgr):
                        raise RuntimeError(f"cannot write the annotated image {image_path}")

    def _write_video_frame(self, img_bgr: np.ndarray) -> None:
        if self._video is None:
            path = self.out / f"{self.source_name}.mp4"
            size = (img_bgr.shape[1], img_bgr.shape[0])
            self._video = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, size)
            if not self._video.isOpened():
                raise RuntimeError(f"cannot write video {path}: no mp4v encoder in this OpenCV build")
        self._video.write(img_bgr)

    def close(self) -> None:
        """Finish the video file and write ``detections.json`` (safe to call twice)."""
        if self._video is not None:
            self._video.release()
            self._video = None
        if self.save_json:
            write_text_atomic(self.out / "detections.json", json.dumps(self.records, indent=1), fsync=False)


def annotate(frame_rgb: np.ndarray, det: dict, class_names: list[str]) -> np.ndarray:
    """The frame as BGR uint8 with boxes, class names and scores drawn."""
    bgr = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    return draw_detections(bgr, det["boxes_xyxy"], det["labels"], det["scores"], class_names, bgr=True)


def display_available() -> bool:
    """True when a window can plausibly be opened (always on Windows/macOS; X11/Wayland display on Linux)."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show_frame(img_bgr: np.ndarray, title: str) -> bool:
    """Show one frame; returns False (stop showing) when the window cannot be opened or the user pressed q/Esc."""
    try:
        cv2.imshow("detect", img_bgr)
        key = cv2.waitKey(1) & 0xFF
    except cv2.error:
        log.warning("--show: this OpenCV build cannot open windows (at %s); not showing", title)
        return False
    return key not in (ord("q"), 27)
