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

# operation types NNCF leaves in float: the head's decode (DFL softmax and its expectation, a MatMul; sigmoid scores;
# the box arithmetic). Add/Multiply of the backbone are then float too; its convolutions are quantized either way.
# Measured (docs/INFERENCE.md#deploy): MatMul matters (the DFL bins), and so do the prediction convolutions, which
# export_openvino_job keeps float by name (boundary_convs).
FLOAT_OP_TYPES = ("Sigmoid", "Add", "Subtract", "Multiply", "Divide", "Softmax", "MatMul")


def onnx_metadata(onnx_path: Path) -> dict[str, object]:
    """The ONNX file's metadata_props, each value JSON-decoded where it is JSON."""
    import onnx

    return {p.key: _value(p.value) for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}


def boundary_convs(onnx_path: Path) -> tuple[list[str], list[str]]:
    """``(prediction, stem)`` Conv node names of an ONNX graph: the last convolution on every path to the output
    (the head's prediction layers, whose logits the decode turns into boxes and scores) and the first on every path
    from the input. Found by walking the graph through non-Conv nodes, so no head family is named here."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def walk(start: list[str], step, found: list[str]) -> list[str]:
        seen, stack = set(), list(start)
        while stack:
            name = stack.pop()
            for node in step(name):
                if node.name in seen:
                    continue
                seen.add(node.name)
                if node.op_type == "Conv":
                    found.append(node.name)
                else:
                    stack.extend(node.input if step is back else node.output)
        return sorted(set(found))

    def back(name: str) -> list:
        return [producer[name]] if name in producer else []

    def forward(name: str) -> list:
        return consumers.get(name, [])

    return walk([o.name for o in graph.output], back, []), walk([i.name for i in graph.input], forward, [])


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


def quantize_int8(
    model: object,
    calibration: Sequence[np.ndarray],
    float_types: Sequence[str] = FLOAT_OP_TYPES,
    float_names: Sequence[str] = (),
) -> object:
    """NNCF post-training INT8 quantization of an ``openvino.Model`` (mixed preset: symmetric weights, asymmetric
    activations), calibrated on ``calibration`` (float32 ``[1, 3, H, W]`` arrays); ops of ``float_types`` and the
    nodes named in ``float_names`` stay float."""
    require("nncf", "--int8")
    telemetry_off()
    import nncf

    nncf.set_log_level(logging.WARNING)  # its INFO lines list every node it leaves alone
    names = [f"{n}/WithoutBiases" for n in float_names]  # OpenVINO splits an ONNX Conv into Convolution + Add
    scope = nncf.IgnoredScope(types=list(float_types), names=[*float_names, *names], validate=False)
    return nncf.quantize(
        model,
        nncf.Dataset(list(calibration)),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
        ignored_scope=scope,
    )
