"""ONNX file -> OpenVINO IR folder (``<name>.xml``, ``<name>.bin``, ``metadata.json``), fp32 or fp16 weights, and
NNCF's INT8 post-training quantization of an IR."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detector.runtime.base import _value, require
from detector.runtime.openvino_backend import METADATA_FILE
from detector.runtime.telemetry import telemetry_off

log = logging.getLogger(__name__)

# operation types NNCF leaves in float (the head's decode: DFL softmax, sigmoid scores, box arithmetic; as in the
# issue's measurement, Add/Multiply of the backbone are then float too -- the convolutions are quantized either way)
FLOAT_OP_TYPES = ("Sigmoid", "Add", "Subtract", "Multiply", "Divide", "Softmax")


def onnx_metadata(onnx_path: Path) -> dict[str, object]:
    """The ONNX file's metadata_props, each value JSON-decoded where it is JSON."""
    import onnx

    return {p.key: _value(p.value) for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}


def write_ir(model: object, folder: Path, name: str, meta: dict[str, object], half: bool) -> Path:
    """Save an ``openvino.Model`` as ``folder/name.xml`` + ``.bin`` (fp16-compressed weights with ``half``) and
    ``folder/metadata.json``. Returns the ``.xml`` path."""
    import openvino as ov

    folder.mkdir(parents=True, exist_ok=True)
    xml = folder / f"{name}.xml"
    ov.save_model(model, str(xml), compress_to_fp16=half)
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=1) + "\n")
    return xml


def convert_onnx(onnx_path: Path) -> object:
    """``openvino.convert_model`` of ``onnx_path`` (an ``openvino.Model``; telemetry off)."""
    require("openvino", "--format openvino")
    telemetry_off()
    import openvino as ov

    return ov.convert_model(str(onnx_path))


def quantize_int8(model: object, calibration: Sequence[np.ndarray], float_types: Sequence[str] = FLOAT_OP_TYPES):
    """NNCF post-training INT8 quantization of an ``openvino.Model`` (mixed preset: symmetric weights, asymmetric
    activations), calibrated on ``calibration`` (float32 ``[1, 3, H, W]`` arrays); ops of ``float_types`` stay float."""
    require("nncf", "--int8")
    telemetry_off()
    import nncf

    nncf.set_log_level(logging.WARNING)  # its INFO lines list every node it leaves alone
    scope = nncf.IgnoredScope(types=list(float_types), validate=False)  # a type the graph lacks is fine
    return nncf.quantize(
        model,
        nncf.Dataset(list(calibration)),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
        ignored_scope=scope,
    )
