"""``load_backend(weights)``: a checkpoint, an ONNX file or an OpenVINO IR, chosen by the path."""

from __future__ import annotations

import logging
from pathlib import Path

from detector.runtime.base import Backend

log = logging.getLogger(__name__)

EXPORTED_KINDS = ("onnx", "openvino")


def weights_kind(weights: str | Path) -> str:
    """``"onnx"`` (a ``.onnx`` file), ``"openvino"`` (a folder, e.g. ``best_openvino/``, or an ``.xml``) or
    ``"pytorch"`` (anything else: a checkpoint ``.pt``)."""
    path = Path(weights)
    if path.suffix.lower() == ".onnx":
        return "onnx"
    if path.suffix.lower() == ".xml" or path.is_dir():
        return "openvino"
    return "pytorch"


def is_exported(weights: str | Path) -> bool:
    """True for an ONNX file or an OpenVINO IR (what :class:`~detector.runtime.base.Backend` files run)."""
    return weights_kind(weights) in EXPORTED_KINDS


def load_backend(
    weights: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    threads: int | None = None,
    precision: str | None = None,
) -> Backend:
    """The backend for ``weights`` (see :func:`weights_kind`). ``overrides``: ``key=value`` for a checkpoint's config
    (exported files carry their settings in their metadata). ``threads``: CPU threads of onnxruntime / OpenVINO
    (None: their default). ``precision``: OpenVINO's CPU inference precision hint (``f32``, ``bf16``, ``""`` for the
    plugin's default; None: by the file, see :class:`~detector.runtime.openvino_backend.OpenVinoBackend`).
    Raises FileNotFoundError (missing file, an IR without its ``.bin`` or metadata),
    ValueError (a file without our metadata, an unreadable file), RuntimeMissingError (runtime not installed)."""
    kind = weights_kind(weights)
    if not Path(weights).exists():
        raise FileNotFoundError(f"--weights {weights}: no such file or folder")
    if kind == "onnx":
        from detector.runtime.onnx_backend import OnnxBackend

        return OnnxBackend(weights, threads)
    if kind == "openvino":
        from detector.runtime.openvino_backend import OpenVinoBackend

        return OpenVinoBackend(weights, threads, precision)
    from detector.runtime.torch_backend import TorchBackend

    return TorchBackend.load(weights, overrides)
