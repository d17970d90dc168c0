"""The head protocol every head family implements (see ``detector/registry.py``), as a base class so that the
model, the losses and export can rely on it with static types.

``forward_raw(feats) -> raw maps`` (one tensor per level, the family's own layout), ``decode(raw) -> [B, N, 4 + C]``
float32 (cx, cy, w, h input pixels, class scores in [0, 1]), and ``forward`` = ``forward_raw`` or, with
``decode_in_forward`` (the export switch), ``decode(forward_raw(feats))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn


class DetectionHead(nn.Module):
    """Base of the head families. Subclasses set ``family`` and ``config_buffers`` (class attributes) and
    ``num_classes``, ``strides`` (pixels, one per level) and ``decode_in_forward`` in ``__init__``."""

    #: registry key of the family (``model.head.type``); the loss is looked up by it
    family: ClassVar[str]
    #: buffers that hold configuration (kept from the config when fine-tuning from another checkpoint)
    config_buffers: ClassVar[tuple[str, ...]]
    num_classes: int
    strides: list[int]
    decode_in_forward: bool

    def forward_raw(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:  # pragma: no cover - abstract
        """Neck maps -> raw per-level logits."""
        raise NotImplementedError

    def decode(self, raw: Sequence[torch.Tensor]) -> torch.Tensor:  # pragma: no cover - abstract
        """Raw maps -> float32 ``[B, N, 4 + C]`` (cx, cy, w, h input pixels, class scores)."""
        raise NotImplementedError

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor] | torch.Tensor:
        raw = self.forward_raw(feats)
        return self.decode(raw) if self.decode_in_forward else raw
