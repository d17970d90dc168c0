"""Calibration images for post-training quantization: the config's train split, letterboxed to the export size."""

from __future__ import annotations

import logging

import numpy as np

from detector.config import Config
from detector.data.letterbox import letterbox
from detector.data.loader import build_source

log = logging.getLogger(__name__)


def calibration_source(cfg: Config):  # noqa: ANN201 - a CocoDetection or YoloTxtDataset
    """The train split's source dataset (no augmentation). Raises ValueError / FileNotFoundError naming
    ``data.train`` when it does not exist -- called before any export work."""
    try:
        return build_source(cfg.data, "train")
    except (OSError, ValueError) as e:
        raise FileNotFoundError(
            f"--int8 calibrates on the config's data.train split, which cannot be read: {e}"
        ) from None


def calibration_batches(source: object, count: int, hw: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """Up to ``count`` train images (evenly spread, in a seeded order) as float32 ``[1, 3, H, W]`` arrays in [0, 1],
    letterboxed to ``hw`` like detection does. Fewer images than asked: all of them, and a log line says how many.
    Unreadable images are skipped."""
    n = len(source)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError("--int8: the config's data.train split holds no image to calibrate on")
    order = np.random.default_rng(seed).permutation(n)[: min(count, n)]
    if n < count:
        log.warning("--calib-images %d: data.train holds %d images; calibrating on all %d", count, n, n)
    batches = []
    for i in order:
        try:
            img = source.load_item(int(i))[0]  # type: ignore[attr-defined]
        except (OSError, ValueError) as e:
            log.warning("calibration image %d skipped: %s", int(i), e)
            continue
        boxed, _ = letterbox(img, hw, auto=False, stride=32)
        batches.append(np.ascontiguousarray(boxed.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0)
    log.info("calibrating on %d image(s) of data.train at %dx%d", len(batches), hw[0], hw[1])
    return batches
