"""What ``Model.predict`` accepts: a path (image, folder, glob, video, webcam index, stream URL), a numpy image or a
list of them, read as RGB frames; and its keyword settings, checked as the config's ``predict`` section."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from detector.config import PredictConfig, config_from_dict

log = logging.getLogger(__name__)

#: One image as a path or an array, or a list of them
Images = str | Path | np.ndarray | Sequence[str | Path | np.ndarray]


@dataclasses.dataclass
class InputFrame:
    """An image to predict on: ``rgb`` uint8 ``[H, W, 3]``, the file it came from (None for an array), its index."""

    rgb: np.ndarray
    path: str | None
    index: int


def predict_config(base: PredictConfig, settings: Mapping[str, object]) -> PredictConfig:
    """``base`` with ``settings`` (keys of the config's ``predict`` section: conf, iou, max_det, multi_label,
    img_size, letterbox, half) applied and checked like a config: an unknown key is a ValueError naming the nearest
    valid one, a value outside its range or choices names the key and what is allowed (docs/CONFIG.md)."""
    if not settings:
        return base
    data = {**dataclasses.asdict(base), **settings}
    return config_from_dict({"predict": data}, "predict settings").predict


def _array_frame(img: np.ndarray, bgr: bool, index: int) -> InputFrame:
    order = "BGR" if bgr else "RGB"
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(
            f"image {index}: expected a {order} uint8 [H, W, 3] array, got {img.dtype} {list(img.shape)} "
            "(convert grayscale / float images first, e.g. cv2.cvtColor)"
        )
    rgb = np.ascontiguousarray(img[..., ::-1]) if bgr else img
    return InputFrame(rgb, None, index)


def _path_frames(source: str | Path) -> Iterator[InputFrame]:
    from detector.engine.prediction.sources import Source

    for frame in Source(str(source)):
        if frame.image is None:
            log.warning("%s skipped: %s", frame.path, frame.error)
            continue
        yield InputFrame(frame.image, frame.path, frame.index)


def read_frames(source: Images, bgr: bool = True) -> Iterator[InputFrame]:
    """The frames of ``source``, one at a time. Arrays are uint8 ``[H, W, 3]`` in BGR order (``bgr=False``: RGB);
    files are read by :class:`detector.engine.prediction.sources.Source` (a missing path, an empty folder or an
    unopenable video is a ValueError naming it; an unreadable image inside a folder is skipped with a warning)."""
    if isinstance(source, np.ndarray):
        yield _array_frame(source, bgr, 0)
    elif isinstance(source, (str, Path)):
        yield from _path_frames(source)
    elif isinstance(source, Sequence):
        for i, item in enumerate(source):
            if isinstance(item, np.ndarray):
                yield _array_frame(item, bgr, i)
            elif isinstance(item, (str, Path)):
                yield from _path_frames(item)
            else:
                raise ValueError(f"source item {i}: expected a path or a numpy image, got {type(item).__name__}")
    else:
        raise ValueError(f"source: expected a path, a numpy image or a list of them, got {type(source).__name__}")
