"""Optimiser parameter groups, gradient accumulation and the per-iteration LR / momentum schedule.

Conventions (YOLOv5-compatible, so its hyper-parameters transfer):
- gradients are summed over the *nominal* batch: the engine back-propagates ``loss * batch_size * world_size`` and
  steps the optimiser every ``accumulate = max(round(nominal / (batch * world)), 1)`` micro-batches;
- weight decay is scaled by ``batch * world * accumulate / nominal`` (the images one step really sees);
- param groups: ``decay`` (conv/linear weights), ``no_decay`` (norm-layer weights), ``bias`` (all biases, no decay,
  warmed up from ``warmup_bias_lr``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from detector.config import TrainConfig

WARMUP_MOMENTUM = 0.8  # momentum (SGD) / beta1 (AdamW) at iteration 0 of the warmup
DEFAULT_WARMUP_BIAS_LR = {"sgd": 0.1, "adamw": 0.0}  # train.warmup_bias_lr: null


def warmup_bias_lr(value: float | None, optimizer: str) -> float:
    """The bias LR at the start of warmup: ``value``, or when None the optimiser's default (SGD 0.1 as in YOLOv5;
    AdamW 0.0: Adam's per-parameter step is ~lr whatever the gradient, so a 0.1 start moves every bias, BatchNorm
    shifts included, by ~0.1 per step)."""
    return float(value) if value is not None else DEFAULT_WARMUP_BIAS_LR[optimizer.lower()]


MIN_WARMUP_ITERS = 100  # warmup lasts at least this many iterations (capped at half the run)
_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


def compute_accumulate(nominal_batch_size: int, batch_size: int, world_size: int = 1) -> int:
    """Micro-batches per optimiser step so that one step sees ~``nominal_batch_size`` images."""
    return max(round(nominal_batch_size / (batch_size * world_size)), 1)


def scaled_weight_decay(
    weight_decay: float, nominal_batch_size: int, batch_size: int, world_size: int, accumulate: int
) -> float:
    """Weight decay scaled to the number of images one optimiser step actually sees."""
    return weight_decay * batch_size * world_size * accumulate / nominal_batch_size


def param_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Split trainable parameters into ``decay`` / ``no_decay`` (norm weights, other 1-d weights) / ``bias``."""
    groups: dict[str, list[nn.Parameter]] = {"decay": [], "no_decay": [], "bias": []}
    seen: set[int] = set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            if name == "bias":
                groups["bias"].append(p)
            elif isinstance(module, _NORM_TYPES) or p.ndim <= 1:
                groups["no_decay"].append(p)
            else:
                groups["decay"].append(p)
    return groups


def build_optimizer(
    model: nn.Module,
    name: str = "sgd",
    lr: float = 0.01,
    momentum: float = 0.937,
    weight_decay: float = 0.0005,
    nesterov: bool = True,
) -> torch.optim.Optimizer:
    """SGD (momentum, optional Nesterov) or AdamW (``betas=(momentum, 0.999)``) with the three param groups.

    Each group records ``name`` and ``initial_lr``; only ``decay`` gets ``weight_decay`` (already scaled). A model
    on the CPU gets the fused implementation (one kernel over all tensors: AdamW 5x faster than the per-tensor loop);
    elsewhere PyTorch's default (foreach on CUDA). Not fused on CUDA: fused SGD leaves its momentum buffers
    uninitialised when fp16 loss scaling skips the first step, and the next step writes NaN into every weight.
    """
    groups = param_groups(model)
    devices = {p.device.type for p in model.parameters()}
    fused = devices == {"cpu"}
    specs = [
        {"params": groups["decay"], "weight_decay": weight_decay, "name": "decay"},
        {"params": groups["no_decay"], "weight_decay": 0.0, "name": "no_decay"},
        {"params": groups["bias"], "weight_decay": 0.0, "name": "bias"},
    ]
    for spec in specs:
        spec["lr"] = spec["initial_lr"] = lr
    key = name.lower()
    if key == "sgd":
        return torch.optim.SGD(specs, lr=lr, momentum=momentum, nesterov=nesterov, fused=fused or None)
    if key == "adamw":
        return torch.optim.AdamW(specs, lr=lr, betas=(momentum, 0.999), fused=fused or None)
    raise ValueError(f"train.optimizer: unknown optimiser '{name}', expected one of 'sgd', 'adamw'")


@dataclass(frozen=True)
class LRSchedule:
    """Per-iteration learning rate and momentum.

    ``lr(i) = base_lr * f(i / (total_iters - 1))`` with ``f`` cosine or linear from 1 to ``final_lr_ratio``, so
    the last iteration of the run uses exactly ``base_lr * final_lr_ratio``. During the first ``warmup_iters``
    iterations the LR of ``bias`` is interpolated from ``warmup_bias_lr`` (and of the other groups from 0) to
    ``lr(i)``, and momentum from ``WARMUP_MOMENTUM`` to ``momentum``. The schedule is a pure function of the
    global iteration, so resuming needs no scheduler state; a resumed run with a larger ``train.epochs`` stretches
    the decay to the new length (the LR jumps to the longer schedule's value at the resumed iteration).
    """

    base_lr: float
    total_iters: int
    warmup_iters: int
    scheduler: str = "cosine"
    final_lr_ratio: float = 0.01
    warmup_bias_lr: float = 0.1
    momentum: float = 0.937

    def __post_init__(self) -> None:
        if self.scheduler not in ("cosine", "linear"):
            raise ValueError(f"train.scheduler: unknown schedule '{self.scheduler}', expected 'cosine' or 'linear'")

    def factor(self, iteration: int) -> float:
        """Decay factor in ``[final_lr_ratio, 1]`` at a global iteration (0-based)."""
        t = min(max(iteration / max(self.total_iters - 1, 1), 0.0), 1.0)
        r = self.final_lr_ratio
        if self.scheduler == "cosine":
            return r + (1.0 - r) * 0.5 * (1.0 + math.cos(math.pi * t))
        return 1.0 - (1.0 - r) * t

    def values(self, iteration: int, group: str) -> tuple[float, float]:
        """``(lr, momentum)`` of param group ``group`` at a global iteration."""
        lr = self.base_lr * self.factor(iteration)
        if iteration >= self.warmup_iters:
            return lr, self.momentum
        w = iteration / self.warmup_iters
        start = self.warmup_bias_lr if group == "bias" else 0.0
        return start + w * (lr - start), WARMUP_MOMENTUM + w * (self.momentum - WARMUP_MOMENTUM)

    def apply(self, optimizer: torch.optim.Optimizer, iteration: int) -> float:
        """Set LR and momentum / beta1 of every group; returns the LR of the ``decay`` group (for logging)."""
        logged = 0.0
        for g in optimizer.param_groups:
            lr, momentum = self.values(iteration, g.get("name", "decay"))
            g["lr"] = lr
            if "betas" in g:
                g["betas"] = (momentum, g["betas"][1])
            elif "momentum" in g:
                g["momentum"] = momentum
            if g.get("name", "decay") == "decay":
                logged = lr
        return logged


def warmup_iterations(warmup_epochs: float, iters_per_epoch: int, total_iters: int) -> int:
    """``max(warmup_epochs * iters_per_epoch, MIN_WARMUP_ITERS)`` capped at half the run; 0 disables warmup."""
    if warmup_epochs <= 0:
        return 0
    return min(max(round(warmup_epochs * iters_per_epoch), MIN_WARMUP_ITERS), total_iters // 2)


def schedule_from_config(t: TrainConfig, iters_per_epoch: int) -> LRSchedule:
    """The run's :class:`LRSchedule`: ``train.lr`` over ``train.epochs x iters_per_epoch`` iterations, warmup
    ``train.warmup_epochs`` (:func:`warmup_iterations`), ``train.scheduler`` to ``train.final_lr_ratio``, bias warmup
    from ``train.warmup_bias_lr`` (:func:`warmup_bias_lr`), ``train.momentum``."""
    total = t.epochs * iters_per_epoch
    return LRSchedule(
        base_lr=t.lr,
        total_iters=total,
        warmup_iters=warmup_iterations(t.warmup_epochs, iters_per_epoch, total),
        scheduler=t.scheduler,
        final_lr_ratio=t.final_lr_ratio,
        warmup_bias_lr=warmup_bias_lr(t.warmup_bias_lr, t.optimizer),
        momentum=t.momentum,
    )
