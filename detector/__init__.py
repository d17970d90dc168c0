"""YOLO-style detector: model parts, loss, post-processing and config (see docs/ARCHITECTURE.md).

``build_model`` and ``Detector`` are imported lazily so that torch-free paths (config, evaluation of a predictions
file) start fast.

The library reaches the network only when asked (downloads of weights or COCO): albumentations' version check,
which it runs at import time, is switched off here, before any of our modules imports albumentations (a user's own
``NO_ALBUMENTATIONS_UPDATE`` setting is kept).
"""

import os
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from detector.config import load_config

__all__ = ["Detector", "build_model", "load_config"]


def __getattr__(name: str) -> Any:
    if name in ("Detector", "build_model"):
        from detector import model

        return getattr(model, name)
    raise AttributeError(f"module 'detector' has no attribute {name!r}")
