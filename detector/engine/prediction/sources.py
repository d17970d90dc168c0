"""Detection inputs: an image file, folder, glob, video file, webcam index or stream URL, as a sequence of frames."""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detector.data.image_io import IMAGE_EXTS, ImageReadError, read_image

VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".gif", ".ts", ".asf"}
STREAM_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://")
EXTS_TEXT = ", ".join(sorted(IMAGE_EXTS))


class SourceError(ValueError):
    """The detection source cannot be used (missing, unreadable, unopenable); the message names it."""


@dataclass
class Frame:
    """One item of a source: ``image`` RGB uint8 ``[H, W, 3]`` or None when unreadable (``error`` says why)."""

    image: np.ndarray | None
    path: str  # file / stream the frame came from
    index: int  # image number (image sources) or frame number (video/stream), from 0
    error: str | None = None
    name: str = ""  # images: path relative to the source root ("a/x.jpg"; a single file: its name); video: ""


def glob_root(pattern: str) -> Path:
    """The fixed folder in front of a glob's first wildcard: ``imgs/**/*.jpg`` -> ``imgs``, ``*.jpg`` -> ``.``."""
    fixed: list[str] = []
    for part in Path(pattern).parts[:-1]:  # the last part names files
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


class Source:
    """Frames from an image file, folder, glob, video file, webcam index (``"0"``) or stream URL (rtsp/rtmp/http).

    Attributes: ``kind`` (``images`` | ``video`` | ``stream``), ``paths`` (image files), ``root`` (the folder, or a
    glob's fixed prefix, that image names are relative to; None for a single file and videos: see :meth:`name_of`),
    ``fps`` and ``frame_count`` (videos/streams; ``frame_count`` 0 when unknown). Opening raises :class:`SourceError`
    for a missing path, an empty folder/glob, a single unreadable image or an unopenable video. Unreadable images
    inside a folder or glob are yielded with ``image=None`` and ``error`` set, so the caller can warn and count them.
    """

    def __init__(self, source: str | int):
        self.source = str(source)
        self.paths: list[Path] = []
        self.root: Path | None = None
        self.fps, self.frame_count = 0.0, 0
        self._cap: cv2.VideoCapture | None = None
        self._first: np.ndarray | None = None  # first video frame (BGR), read when opening to check the codec
        src = self.source
        path = Path(src)
        if src.isdigit() or src.lower().startswith(STREAM_PREFIXES):
            self.kind = "stream"
            self._open_video(int(src) if src.isdigit() else src, f"webcam/stream {src!r}")
        elif any(ch in src for ch in "*?[") and not path.exists():
            self.kind = "images"
            self.root = glob_root(src)
            self.paths = sorted(
                Path(p) for p in globlib.glob(src, recursive=True) if Path(p).suffix.lower() in IMAGE_EXTS
            )
            if not self.paths:
                raise SourceError(f"--source {src!r}: the glob matches no image files ({EXTS_TEXT})")
        elif not path.exists():
            raise SourceError(f"--source {src!r}: no such file or folder")
        elif path.is_dir():
            self.kind = "images"
            self.root = path
            self.paths = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
            if not self.paths:
                raise SourceError(f"--source {src!r}: the folder holds no image files ({EXTS_TEXT})")
        elif path.suffix.lower() in VIDEO_EXTS:
            self.kind = "video"
            self._open_video(str(path), f"video {src!r}")
        else:
            self.kind = "images"
            self.paths = [path]
            self._single = self._read(path, 0)  # a single unreadable image is an error, not a warning
            if self._single.error:
                raise SourceError(f"--source {src!r}: {self._single.error}")

    def _open_video(self, target: str | int, what: str) -> None:
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {what}: check the path/URL/camera index and that the codec is supported")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise SourceError(
                f"cannot read any frame from {what}: the file is empty, corrupt or in an unsupported codec"
            )
        self._cap, self._first = cap, first
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 30.0
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if self.kind == "video" else 0

    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels of the first frame (videos, streams) or the first readable image."""
        if self._first is not None:
            return int(self._first.shape[1]), int(self._first.shape[0])
        for i, path in enumerate(self.paths):
            frame = self._read(path, i)
            if frame.image is not None:
                return int(frame.image.shape[1]), int(frame.image.shape[0])
        raise SourceError(f"--source {self.source!r}: no readable image")

    def name_of(self, path: Path) -> str:
        """``path`` relative to :attr:`root` as a POSIX path (``a/x.jpg``), so that files of the same name in
        different folders of a recursive glob stay apart; its plain name for a single file (or a path that would
        leave the root)."""
        if self.root is None:
            return path.name
        try:
            rel = os.path.normpath(path.relative_to(self.root))
        except ValueError:
            return path.name
        return path.name if rel.startswith("..") or os.path.isabs(rel) else Path(rel).as_posix()

    def _read(self, path: Path, index: int) -> Frame:
        try:
            return Frame(read_image(path), str(path), index, name=self.name_of(path))
        except ImageReadError as e:
            return Frame(None, str(path), index, error=str(e), name=self.name_of(path))

    def __len__(self) -> int:
        """Number of images, or the video's frame count (0 when unknown: streams)."""
        return len(self.paths) if self.kind == "images" else self.frame_count

    def __iter__(self) -> Iterator[Frame]:
        if self.kind == "images":
            for i, p in enumerate(self.paths):
                yield self._single if len(self.paths) == 1 and hasattr(self, "_single") else self._read(p, i)
            return
        cap, frame, i = self._cap, self._first, 0
        if cap is None:
            raise SourceError(
                f"{self.kind} {self.source!r} was already read to its end (or closed); "
                "open a new Source to read it again"
            )
        try:
            while frame is not None:
                yield Frame(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.source, i)
                ok, frame = cap.read()
                frame, i = (frame if ok else None), i + 1
        finally:
            self.close()

    def close(self) -> None:
        """Release the video capture (safe to call twice)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
