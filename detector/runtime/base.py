"""The inference interface every backend implements, and the metadata an exported file carries.

A backend maps letterboxed images to decoded predictions; the letterbox before it and the NMS after it are shared
(:mod:`detector.runtime.predict`), so a checkpoint, an ONNX file and an OpenVINO IR give the same boxes for the same
input up to the runtime's arithmetic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

DEPLOY_INSTALL = "pip install -r requirements-deploy.txt"  # the one command that installs every runtime
METADATA_VERSION = 1  # "format_version" of the metadata this code writes
REQUIRED_KEYS = ("class_names", "img_size", "output_format")  # what a file must carry to be run by our backends


class RuntimeMissingError(ValueError):
    """A runtime (onnxruntime, openvino, nncf) is not installed; the message says the install command. A ValueError:
    the tools reject the run before any work (exit status 2)."""


def require(module: str, what: str) -> None:
    """Raise :class:`RuntimeMissingError` naming ``module``, ``what`` needs it and :data:`DEPLOY_INSTALL` unless
    ``module`` imports."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise RuntimeMissingError(f"{what} needs the Python package {module!r}, not installed: {DEPLOY_INSTALL}")


@dataclass(frozen=True)
class NmsValues:
    """Post-processing settings stored in an exported file (the checkpoint config's ``predict`` section); satisfies
    :class:`detector.model.postprocess.NmsSettings`."""

    conf: float = 0.25
    iou: float = 0.45
    max_det: int = 300
    multi_label: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """What a backend knows about its model.

    ``names``: class names, label i -> names[i]. ``input_hw``: the fixed network input (H, W) in pixels of an
    exported file; None for the checkpoint (any multiple of 32). ``nms``: the stored post-processing settings.
    ``strides``: the head's strides. ``cat_ids``: dataset category id per label (None: unknown, e.g. older exports).
    ``precision``: fp32 | fp16 | int8 (weights of the file). ``format_version``: the metadata version (0: written
    before versions were recorded).
    """

    names: list[str]
    input_hw: tuple[int, int] | None
    nms: NmsValues = field(default_factory=NmsValues)
    strides: list[int] = field(default_factory=list)
    cat_ids: list[int] | None = None
    precision: str = "fp32"
    format_version: int = 0


@runtime_checkable
class Backend(Protocol):
    """One inference interface: ``backend(images)`` with images float32 ``[B, 3, H, W]`` RGB in [0, 1] (letterboxed,
    ``(H, W) == info.input_hw`` for an exported file) -> decoded float32 ``[B, N, 4 + C]`` on the CPU (cx, cy, w, h
    in input pixels, class scores in [0, 1]; no NMS)."""

    info: ModelInfo
    format: str  # pytorch | onnx | openvino
    path: str  # the file (or folder) it was loaded from

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


def _value(raw: object) -> object:
    """A metadata value: JSON text (ONNX metadata_props hold strings) or the value itself (OpenVINO's JSON file)."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def info_from_metadata(meta: Mapping[str, object], source: str) -> ModelInfo:
    """Read :class:`ModelInfo` from an exported file's metadata (written by
    :func:`detector.runtime.torch_export.export_metadata`).

    Raises ValueError naming ``source`` and every missing key for a file not exported by ``tools/export.py`` (someone
    else's model), and for a raw-output export (``--raw``: the backends need the decoded output).
    """
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ValueError(
            f"{source}: metadata key(s) {', '.join(missing)} missing: the file was not written by tools/export.py, "
            "which stores class names, input size and NMS settings; export the checkpoint with tools/export.py"
        )
    fmt = str(meta["output_format"])
    if not fmt.startswith("decoded"):
        raise ValueError(
            f"{source}: exported with --raw (output_format {fmt!r}); our backends run the decoded output: "
            "export again without --raw"
        )
    try:
        names = [str(n) for n in _value(meta["class_names"])]  # type: ignore[attr-defined]
        h, w = (int(v) for v in _value(meta["img_size"]))  # type: ignore[attr-defined]
        nms_raw = _value(meta.get("nms", "{}"))
        nms = NmsValues(**{k: v for k, v in dict(nms_raw).items() if k in NmsValues.__dataclass_fields__})  # type: ignore[call-overload]
        strides = [int(s) for s in _value(meta.get("strides", "[]"))]  # type: ignore[attr-defined]
        cat_raw = _value(meta["cat_ids"]) if "cat_ids" in meta else None
        cat_ids = [int(c) for c in cat_raw] if cat_raw is not None else None  # type: ignore[attr-defined]
        version = int(_value(meta.get("format_version", 0)))  # type: ignore[call-overload]
    except (TypeError, ValueError) as e:
        raise ValueError(f"{source}: unreadable metadata ({e}); export the checkpoint again") from None
    if cat_ids is not None and len(cat_ids) != len(names):
        raise ValueError(f"{source}: metadata has {len(names)} class_names but {len(cat_ids)} cat_ids")
    precision = str(_value(meta.get("precision", "fp32")))
    return ModelInfo(names, (h, w), nms, strides, cat_ids, precision, version)
