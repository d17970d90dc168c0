"""An ONNX file written by ``tools/export.py``, run by onnxruntime on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from detector.runtime.base import ModelInfo, info_from_metadata, require


def check_input_hw(images: torch.Tensor, info: ModelInfo, source: str) -> None:
    """Raise ValueError unless ``images [B, 3, H, W]`` has the file's fixed input size."""
    if info.input_hw is not None and tuple(images.shape[-2:]) != info.input_hw:
        raise ValueError(
            f"{source} takes {info.input_hw[0]}x{info.input_hw[1]} inputs (fixed at export), got "
            f"{tuple(images.shape[-2:])}: letterbox to the file's size (detector.runtime.predict does)"
        )


class OnnxBackend:
    """``tools/export.py``'s ONNX file (decoded output) in an onnxruntime CPU session. ``threads``: intra-op
    threads (None: onnxruntime's default, every core)."""

    format = "onnx"

    def __init__(self, path: str | Path, threads: int | None = None):
        require("onnxruntime", "running an ONNX file")
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"--weights {path}: no such file")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types for unreadable files
            raise ValueError(f"--weights {path}: onnxruntime cannot load it ({type(e).__name__}: {e})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.info: ModelInfo = info_from_metadata(meta, str(path))
        self.path = str(path)
        self.input_name = self.session.get_inputs()[0].name
        in_type = self.session.get_inputs()[0].type
        self.half = "float16" in in_type  # an fp16 export (--half) takes fp16 images

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """float ``[B, 3, H, W]`` in [0, 1], ``(H, W) == info.input_hw`` -> decoded float32 ``[B, N, 4 + C]``."""
        check_input_hw(images, self.info, self.path)
        x = images.detach().cpu().numpy().astype(np.float16 if self.half else np.float32, copy=False)
        out = self.session.run(None, {self.input_name: x})[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32))
