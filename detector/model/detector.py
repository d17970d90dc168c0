"""Detector = backbone + neck + head; ``build_model(cfg)`` maps the config to constructor arguments.

Neck and head come from the registries in :mod:`detector.model.registry` (``model.neck.type``, ``model.head.type``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from detector.config import Config, PredictConfig
from detector.model.heads.base import DetectionHead
from detector.model.postprocess import NmsSettings, postprocess

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Detector(nn.Module):
    """``forward(images float [B, 3, H, W] RGB in [0, 1])`` -> the head's raw maps (``head.decode`` turns them into
    ``[B, N, 4 + C]`` boxes and scores; with ``head.decode_in_forward`` the forward returns that directly).

    With ``input_norm="imagenet"`` (default) ImageNet mean/std normalisation is applied inside the model (the
    backbones are ImageNet-pretrained); with ``"none"`` the backbone sees the ``[0, 1]`` images as they are (darknet
    models). Either way callers pass plain ``[0, 1]`` images. ``class_names`` (list of str) is kept as metadata.
    """

    INPUT_NORMS = ("imagenet", "none")
    mean: torch.Tensor  # buffers [1, 3, 1, 1]: ImageNet RGB mean / std
    std: torch.Tensor

    def __init__(
        self,
        backbone: nn.Module,
        neck: nn.Module,
        head: DetectionHead,
        class_names: list[str] | None = None,
        input_norm: str = "imagenet",
    ):
        super().__init__()
        if input_norm not in self.INPUT_NORMS:
            raise ValueError(f"model.input_norm must be one of {list(self.INPUT_NORMS)}, got {input_norm!r}")
        self.backbone, self.neck, self.head = backbone, neck, head
        self.num_classes = head.num_classes
        self.class_names = list(class_names) if class_names is not None else [str(i) for i in range(self.num_classes)]
        self.input_norm = input_norm
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Images (normalised per ``input_norm``) -> backbone -> neck maps."""
        x = images
        if self.input_norm == "imagenet":
            x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        return self.neck(self.backbone(x))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        return self.head(self.features(images))

    def forward_raw(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Raw head maps, whatever ``head.decode_in_forward`` says."""
        return self.head.forward_raw(self.features(images))

    @torch.no_grad()
    def predict(
        self,
        images: torch.Tensor,
        settings: NmsSettings | None = None,
        lb_params: torch.Tensor | None = None,
        orig_sizes: torch.Tensor | None = None,
        decode: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> list[dict[str, torch.Tensor]]:
        """Detections per image (eval mode, no grad; the previous train/eval mode is restored).

        ``images``: float ``[B, 3, H, W]`` in [0, 1] (uint8 is divided by 255). ``settings``: score threshold, NMS IoU,
        detections per image, multi-label (a :class:`detector.config.PredictConfig`, or the ``EvalConfig`` for mAP;
        None: ``PredictConfig()``'s defaults, conf 0.25, IoU 0.45, 300 per image). Returns
        ``list[dict(boxes_xyxy [N, 4] float32, scores [N], labels [N] int64)]``: original pixels when ``lb_params
        [B, 3]`` (scale, pad_x, pad_y) is given (clipped to ``orig_sizes [B, 2]`` (h, w) if given), else input pixels.
        ``decode``: what computes float32 ``[B, N, 4 + C]`` from the images instead of ``head.decode(forward_raw(x))``,
        e.g. its CUDA-graph replay (:class:`detector.engine.prediction.cuda_graph.GraphedDecode`).
        """
        was_training = self.training
        self.eval()
        try:
            if images.dtype == torch.uint8:
                images = images.float() / 255
            decode = decode or (lambda x: self.head.decode(self.forward_raw(x)))
            decoded = decode(images)  # float32 [B, N, 4 + C], also under autocast
        finally:
            self.train(was_training)
        with torch.autocast(images.device.type, enabled=False):  # NMS and letterbox undo in float32 pixels
            nms = settings if settings is not None else PredictConfig()
            return postprocess(decoded, nms, lb_params, orig_sizes, input_hw=images.shape[-2:])


def build_model(cfg: Config, num_classes: int | None = None, class_names: list[str] | None = None) -> Detector:
    """Build the detector from a :class:`detector.config.Config` (uses ``cfg.model``).

    ``num_classes`` overrides ``cfg.model.num_classes`` (which may be None); one of the two must be set.
    """
    from backbones import build_backbone  # imported here so detector/ imports without the backbone registry
    from detector.model.registry import build_head, build_neck

    m = cfg.model
    nc = num_classes if num_classes is not None else m.num_classes
    if nc is None:
        raise ValueError(
            "the number of classes is unknown: model.num_classes is null and build_model got no num_classes; "
            "set model.num_classes in the config or pass the dataset's num_classes"
        )
    if class_names is not None and len(class_names) != nc:
        raise ValueError(f"build_model got {len(class_names)} class names for {nc} classes")
    b = m.backbone
    backbone = build_backbone(
        b.name,
        pretrained=b.pretrained,
        out_indices=tuple(b.out_indices),
        width_mult=b.width_mult,
        depth_mult=b.depth_mult,
        frozen_stages=b.frozen_stages,
        norm_eval=b.norm_eval,
    )
    neck = build_neck(m.neck, backbone.channels, backbone.strides)
    head = build_head(m.head, neck.channels, neck.strides, int(nc))
    return Detector(backbone, neck, head, class_names, input_norm=m.input_norm)
