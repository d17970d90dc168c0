"""Exponential moving average of model weights with a ramped decay (YOLOv5-style)."""

from __future__ import annotations

import copy
import math
from typing import Generic, TypeVar

import torch
from torch import nn

from detector.engine.training.wrap import unwrap_model

M = TypeVar("M", bound=nn.Module)


class ModelEMA(Generic[M]):
    """Keeps ``ema = d * ema + (1 - d) * model`` over every floating-point state tensor (params and BN buffers).

    The decay ramps up with the number of updates: ``d = decay * (1 - exp(-updates / tau))``, so early EMA
    weights follow the model closely and later ones average over ~``1 / (1 - decay)`` steps. Integer buffers
    (e.g. BatchNorm ``num_batches_tracked``) are copied. ``self.module`` is an fp32 eval-mode copy without grads of
    ``model``, which must be the plain model (not its DDP / ``torch.compile`` wrapper; :meth:`update` takes either).
    """

    def __init__(self, model: M, decay: float = 0.9999, tau: float = 2000.0, updates: int = 0) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"train.ema_decay must be in [0, 1), got {decay}")
        if unwrap_model(model) is not model:
            raise TypeError(f"ModelEMA takes the plain model, not a {type(model).__name__} wrapper around it")
        self.module: M = copy.deepcopy(model).float().eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = float(decay)
        self.tau = float(tau)
        self.updates = int(updates)

    def current_decay(self) -> float:
        """Decay that the next-but-current update uses: ``decay * (1 - exp(-updates / tau))``."""
        return self.decay * (1.0 - math.exp(-self.updates / self.tau))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Blend the current weights of ``model`` (possibly DDP/compiled) into the EMA."""
        self.updates += 1
        d = self.current_decay()
        model_state = unwrap_model(model).state_dict()
        floats, targets = [], []
        for name, ema_value in self.module.state_dict().items():
            value = model_state[name].detach()
            if ema_value.is_floating_point():
                floats.append(ema_value)
                targets.append(value.to(ema_value.dtype))
            else:
                ema_value.copy_(value)
        if floats:  # ema += (1 - d) * (value - ema), one fused call over all tensors
            torch._foreach_lerp_(floats, targets, 1.0 - d)

    def load_state(self, state: dict[str, torch.Tensor], updates: int) -> None:
        """Restore EMA weights and the update counter from a checkpoint."""
        self.module.load_state_dict(state)
        self.updates = int(updates)
