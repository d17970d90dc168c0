"""The PyTorch checkpoint as a :class:`~detector.runtime.base.Backend` (the reference the exported files match)."""

from __future__ import annotations

from pathlib import Path

import torch

from detector.config import Config, predict_settings
from detector.model import Detector
from detector.model.fuse import fuse_conv_bn
from detector.runtime.base import METADATA_VERSION, ModelInfo, NmsValues


class TorchBackend:
    """A checkpoint on the CPU in float32, BatchNorm folded, channels_last (the Predictor's CPU path)."""

    format = "pytorch"

    def __init__(self, model: Detector, info: ModelInfo, path: str = "", cfg: Config | None = None):
        self.model = model.eval()
        self.info, self.path, self.cfg = info, path, cfg

    @classmethod
    def load(cls, weights: str | Path, overrides: list[str] | tuple[str, ...] = (), fuse: bool = True) -> TorchBackend:
        """Load a checkpoint written by the trainer (or converted from darknet); ``overrides`` apply to its config
        (``predict.conf=...`` sets the NMS settings)."""
        # checkpoint I/O lives in the engine, above this package: imported here, at call time, not by the package
        from detector.model.checkpoint_io import load_detector

        model, cfg, meta = load_detector(weights, list(overrides))
        if fuse:
            fuse_conv_bn(model)
        model = model.to(memory_format=torch.channels_last)
        s = predict_settings(cfg)
        nms = NmsValues(s.conf, s.iou, s.max_det, s.multi_label)
        info = ModelInfo(
            list(meta["class_names"]), None, nms, list(model.head.strides), list(meta["cat_ids"]), "fp32",
            METADATA_VERSION,
        )  # fmt: skip
        return cls(model, info, str(weights), cfg)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """float ``[B, 3, H, W]`` in [0, 1] -> decoded float32 ``[B, N, 4 + C]`` (input pixels, scores)."""
        x = images.float().contiguous(memory_format=torch.channels_last)
        return self.model.head.decode(self.model.forward_raw(x)).float()
