"""The shared pre- and post-processing of every backend: letterbox to the input size, NMS, boxes to image pixels."""

from __future__ import annotations

import logging

import torch

from detector.model.postprocess import NmsSettings, postprocess
from detector.runtime.base import Backend

log = logging.getLogger(__name__)


def input_side(backend: Backend, requested: int | None) -> tuple[int, int] | None:
    """The (H, W) images are letterboxed to for ``backend``: its fixed input size (an exported file; a different
    ``requested`` long side is logged in one line), None for a checkpoint (the caller's size)."""
    hw = backend.info.input_hw
    if hw is not None and requested is not None and max(hw) != requested:
        log.warning(
            "%s has a fixed input of %dx%d: images are letterboxed to it (img_size %d asked for; export at that "
            "size for another)", backend.path, hw[0], hw[1], requested,
        )  # fmt: skip
    return hw


@torch.inference_mode()
def backend_predict(
    backend: Backend,
    images: torch.Tensor,
    nms: NmsSettings,
    lb_params: torch.Tensor | None = None,
    orig_sizes: torch.Tensor | None = None,
) -> list[dict[str, torch.Tensor]]:
    """Detections of ``backend`` on letterboxed ``images [B, 3, H, W]`` (uint8, or float in [0, 1]) with ``nms``;
    what ``Detector.predict`` returns: ``boxes_xyxy [K, 4]`` (original pixels with ``lb_params [B, 3]``, clipped to
    ``orig_sizes [B, 2]``), ``scores [K]``, ``labels [K]`` per image, on the CPU."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    decoded = backend(x.cpu())
    lb = lb_params.cpu() if lb_params is not None else None
    sizes = orig_sizes.cpu() if orig_sizes is not None else None
    return postprocess(decoded, nms, lb, sizes, input_hw=x.shape[-2:])


class BackendModel:
    """A backend seen as the part of a ``Detector`` that evaluation uses: ``predict(images, settings, lb_params,
    orig_sizes)`` (see :func:`backend_predict`) and the train/eval mode calls, which do nothing."""

    training = False

    def __init__(self, backend: Backend):
        self.backend = backend

    def predict(
        self,
        images: torch.Tensor,
        settings: NmsSettings,
        lb_params: torch.Tensor | None = None,
        orig_sizes: torch.Tensor | None = None,
    ) -> list[dict[str, torch.Tensor]]:
        return backend_predict(self.backend, images, settings, lb_params, orig_sizes)

    def eval(self) -> BackendModel:
        return self

    def train(self, mode: bool = True) -> BackendModel:
        return self
