"""onnxruntime's static INT8 quantization (QDQ) of an exported ONNX file: the convolutions in INT8 (weights per
channel, activations per tensor, MinMax calibration), every other op -- the decode included -- left in float."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from detector.runtime.base import require

QUANTIZED_OPS = ("Conv",)


def quantize_onnx_int8(src: Path, dst: Path, calibration: Sequence[np.ndarray], input_name: str = "images") -> Path:
    """Write the QDQ INT8 model of ``src`` to ``dst``, calibrated on ``calibration`` (float32 ``[1, 3, H, W]``);
    the file's metadata (class names, NMS settings, ...) is copied, with ``precision`` set to ``"int8"``."""
    require("onnxruntime", "--format onnx --int8")
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items: Iterator[np.ndarray] = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.items, None)
            return None if x is None else {input_name: x}

    quantize_static(
        str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=list(QUANTIZED_OPS),
        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )  # fmt: skip
    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    meta["precision"] = '"int8"'
    proto = onnx.load(str(dst))
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(dst))
    return dst
