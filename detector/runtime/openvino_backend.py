"""An OpenVINO IR folder written by ``tools/export.py --format openvino``: ``<name>.xml``, ``<name>.bin`` and
``metadata.json`` (the same keys as the ONNX file's metadata)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from detector.runtime.base import ModelInfo, info_from_metadata, require
from detector.runtime.onnx_backend import check_input_hw
from detector.runtime.telemetry import telemetry_off

METADATA_FILE = "metadata.json"
OPENVINO_SUFFIX = "_openvino"  # best.pt -> best_openvino/ (best.xml, best.bin, metadata.json)


def ir_files(path: str | Path) -> tuple[Path, Path, Path]:
    """``(xml, bin, metadata.json)`` of an IR given as its folder or its ``.xml``; raises FileNotFoundError naming
    the first that is missing (a folder without ``.bin``: the weights were not copied)."""
    path = Path(path)
    if path.is_dir():
        xmls = sorted(path.glob("*.xml"))
        if len(xmls) != 1:
            found = ", ".join(p.name for p in xmls) or "none"
            raise FileNotFoundError(f"--weights {path}: an OpenVINO folder holds one .xml file (found: {found})")
        xml = xmls[0]
    else:
        xml = path
    for f, what in ((xml, "the model graph"), (xml.with_suffix(".bin"), "the weights (copy it beside the .xml)")):
        if not f.is_file():
            raise FileNotFoundError(f"--weights {path}: {f} ({what}) is missing")
    meta = xml.parent / METADATA_FILE
    if not meta.is_file():
        raise FileNotFoundError(
            f"--weights {path}: {meta} (class names, input size, NMS settings) is missing: export with "
            "tools/export.py --format openvino, which writes it"
        )
    return xml, xml.with_suffix(".bin"), meta


def read_ir_metadata(meta_path: Path) -> dict[str, object]:
    """The JSON object of an IR's ``metadata.json``; ValueError naming the file when it is not one."""
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{meta_path}: not a readable JSON file ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path}: expected a JSON object of metadata keys")
    return meta


class OpenVinoBackend:
    """An IR compiled for OpenVINO's CPU plugin (latency hint). ``threads``: inference threads (None: OpenVINO's
    default). ``precision``: the CPU's inference precision hint; None picks by the file: ``f32`` for fp32 and INT8
    IRs (float arithmetic stays IEEE float32: the parity with the checkpoint, the decode of INT8 models in float),
    the plugin's default for an fp16 IR (bf16 on CPUs with AVX512-BF16/AMX: the user asked for reduced precision)."""

    format = "openvino"

    def __init__(self, path: str | Path, threads: int | None = None, precision: str | None = None):
        require("openvino", "running an OpenVINO model")
        xml, _, meta_path = ir_files(path)
        self.info: ModelInfo = info_from_metadata(read_ir_metadata(meta_path), str(meta_path))
        self.path = str(path)
        telemetry_off()
        import openvino as ov

        config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if precision is None:
            precision = "" if self.info.precision == "fp16" else "f32"
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        self.precision = precision or "default"
        try:
            core = ov.Core()
            self.compiled = core.compile_model(core.read_model(str(xml)), "CPU", config)
        except RuntimeError as e:
            raise ValueError(f"--weights {path}: OpenVINO cannot load it ({e})") from None
        self.request = self.compiled.create_infer_request()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """float ``[B, 3, H, W]`` in [0, 1], ``(H, W) == info.input_hw`` -> decoded float32 ``[B, N, 4 + C]``."""
        check_input_hw(images, self.info, self.path)
        x = np.ascontiguousarray(images.detach().cpu().numpy(), dtype=np.float32)
        out = self.request.infer({0: x}, share_inputs=True)
        return torch.from_numpy(np.array(out[self.compiled.output(0)], dtype=np.float32))
