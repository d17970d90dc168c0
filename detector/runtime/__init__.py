"""Run a trained detector in three runtimes behind one interface: the PyTorch checkpoint, ONNX Runtime and OpenVINO.

``load_backend(weights)`` picks by the path (``.pt`` checkpoint, ``.onnx``, an OpenVINO ``*_openvino/`` folder or its
``.xml``); every backend maps letterboxed images float ``[B, 3, H, W]`` to decoded ``[B, N, 4 + C]``; the letterbox
and the NMS around it are shared (:mod:`detector.runtime.predict`), with the class names and NMS settings read from
the file's metadata. ``detector.engine.prediction.Predictor`` takes any backend. Importing this package switches off
OpenVINO's and NNCF's usage telemetry (:mod:`detector.runtime.telemetry`).
"""

from detector.runtime.base import (
    DEPLOY_INSTALL,
    Backend,
    ModelInfo,
    NmsValues,
    RuntimeMissingError,
    info_from_metadata,
)
from detector.runtime.loader import is_exported, load_backend, weights_kind
from detector.runtime.predict import BackendModel, backend_predict
from detector.runtime.telemetry import telemetry_off

telemetry_off()

__all__ = [
    "DEPLOY_INSTALL",
    "Backend",
    "BackendModel",
    "ModelInfo",
    "NmsValues",
    "RuntimeMissingError",
    "backend_predict",
    "info_from_metadata",
    "is_exported",
    "load_backend",
    "telemetry_off",
    "weights_kind",
]
