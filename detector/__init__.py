"""YOLO-style detector: model parts, loss, post-processing and config (see docs/ARCHITECTURE.md).

``build_model`` and ``Detector`` are imported lazily so that torch-free paths (config, evaluation of a predictions
file) start fast.
"""

from typing import Any

from detector.config import load_config

__all__ = ["Detector", "build_model", "load_config"]


def __getattr__(name: str) -> Any:
    if name in ("Detector", "build_model"):
        from detector import model

        return getattr(model, name)
    raise AttributeError(f"module 'detector' has no attribute {name!r}")
