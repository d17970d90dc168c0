"""cspx-yolo, a YOLO-style detector. The public API (docs/INFERENCE.md#python-api), stable across releases:

- ``detector.load(weights, *overrides) -> Model``: a checkpoint (``.pt``), an ONNX file or an OpenVINO IR folder;
  ``model.predict(source) -> [Result]`` (boxes in image pixels, scores, class ids, names; ``.plot()``),
  ``model.evaluate(config) -> Metrics``, ``model.export(format) -> Path``;
- ``detector.train(config, *overrides) -> Run``: a training run (its folder, best weights, metrics);
- ``load_config``, ``build_model`` and ``Detector``: the typed config and the network itself (docs/ARCHITECTURE.md).

Multi-object tracking joins as ``model.track(source)`` when it lands (``detector/track/`` holds it; the name
``detector.track`` is that package, so no top-level function takes it). Everything else in the package may move
between releases; the names in ``__all__`` stay (``tests/test_public_api.py`` pins them). The torch-heavy parts are
imported lazily, on first use, so that torch-free paths (config, evaluation of a predictions file) start fast.

The library reaches the network only when asked (downloads of weights or COCO): albumentations' version check,
which it runs at import time, is switched off here, before any of our modules imports albumentations (a user's own
``NO_ALBUMENTATIONS_UPDATE`` setting is kept).
"""

import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from detector.config import load_config

if TYPE_CHECKING:
    from detector.api import Metrics, Model, Result, Run, load, train
    from detector.model import Detector, build_model

__all__ = ["Detector", "Metrics", "Model", "Result", "Run", "build_model", "load", "load_config", "train"]

_LAZY = {
    "Detector": "detector.model",
    "build_model": "detector.model",
    "Metrics": "detector.api",
    "Model": "detector.api",
    "Result": "detector.api",
    "Run": "detector.api",
    "load": "detector.api",
    "train": "detector.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'detector' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
