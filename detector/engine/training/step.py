"""One training micro-batch: forward (AMP), non-finite guard, backward, accumulation, clipping, optimiser, EMA."""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from detector.engine.training.distributed import all_finite
from detector.engine.training.ema import ModelEMA


class NonFiniteGuard:
    """Counts skipped steps; raises once more than ``max_nonfinite`` happen in a row."""

    def __init__(self, max_nonfinite: int = 20) -> None:
        self.max_nonfinite = int(max_nonfinite)
        self.consecutive = 0
        self.total = 0

    def ok(self) -> None:
        """A finite step happened: reset the run of bad steps."""
        self.consecutive = 0

    def bad(self, what: str, where: str) -> None:
        """Record a skipped step (``what`` was NaN/Inf at ``where``); raise after too many in a row."""
        self.consecutive += 1
        self.total += 1
        if self.consecutive > self.max_nonfinite:
            raise RuntimeError(
                f"training stopped: non-finite {what} in {self.consecutive} consecutive steps (last at {where}; "
                f"{self.total} skipped in total, limit train.max_nonfinite={self.max_nonfinite}). The run diverged: "
                "lower train.lr or train.warmup_bias_lr, keep train.grad_clip > 0, use train.amp_dtype=bf16, or "
                "check the dataset for degenerate boxes (tools/check_dataset.py). No weights were written from the "
                "diverged state; last.pt holds the last good epoch."
            )
        warnings.warn(
            f"non-finite {what} at {where}: step skipped ({self.consecutive} in a row, {self.total} in total)",
            RuntimeWarning,
            stacklevel=3,
        )


class TrainStep:
    """Runs one micro-batch; steps the optimiser when asked to (end of an accumulation window).

    ``loss_scale`` multiplies the per-image-mean loss before backward (``batch_size * world_size``: gradients are
    sums over the nominal batch, see :mod:`detector.engine.training.optim`). ``autocast_dtype`` is ``None`` (fp32),
    ``torch.bfloat16`` or ``torch.float16`` (then pass an enabled ``torch.amp.GradScaler``).
    """

    def __init__(
        self,
        model: nn.Module,
        criterion: Any,
        optimizer: torch.optim.Optimizer,
        *,
        loss_scale: float = 1.0,
        grad_clip: float = 10.0,
        max_nonfinite: int = 20,
        scaler: torch.amp.GradScaler | None = None,
        ema: ModelEMA | None = None,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.model, self.criterion, self.optimizer = model, criterion, optimizer
        self.loss_scale = float(loss_scale)
        self.grad_clip = float(grad_clip)
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.ema = ema
        self.autocast_dtype = autocast_dtype
        self.guard = NonFiniteGuard(max_nonfinite)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer_steps = 0

    def __call__(self, images: torch.Tensor, targets: torch.Tensor, *, step: bool, where: str = "") -> dict | None:
        """Forward + backward one micro-batch; ``step=True`` also applies the accumulated gradients.

        ``images``: ``float [B, 3, S, S]`` in ``[0, 1]``; ``targets``: ``[M, 6]`` (batch_index, label, xyxy px).
        Returns the loss parts (e.g. ``box``, ``obj``, ``cls``) and ``total`` as floats, or ``None`` when the loss
        was non-finite (the whole
        accumulation window is then dropped and the weights are left unchanged).
        """
        inner = getattr(self.model, "_orig_mod", self.model)  # the module inside a torch.compile wrapper
        ddp = inner if isinstance(inner, nn.parallel.DistributedDataParallel) else None
        # no gradient all-reduce on the micro-batches before the last one of an accumulation window
        sync = ddp.no_sync() if (ddp is not None and not step) else nullcontext()
        enabled = self.autocast_dtype is not None
        with sync:
            with torch.autocast(images.device.type, dtype=self.autocast_dtype, enabled=enabled):
                raw = self.model(images)
                loss, parts = self.criterion(raw, targets)
            if not all_finite(loss):
                self.optimizer.zero_grad(set_to_none=True)
                self.guard.bad("loss", where)
                return None
            scaled = loss.float() * self.loss_scale
            (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        out = {k: float(v) for k, v in parts.items()}
        out["total"] = float(loss.detach())
        if step:
            self.optimizer_step(where)
        else:
            self.guard.ok()
        return out

    def optimizer_step(self, where: str = "") -> bool:
        """Unscale, clip, step, zero the gradients and update the EMA. Returns False when the step was skipped."""
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        max_norm = self.grad_clip if self.grad_clip > 0 else math.inf
        norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm) if self.params else torch.zeros(())
        if self.scaler is not None:
            scale = self.scaler.get_scale()
            self.scaler.step(self.optimizer)  # skips the step itself on inf/NaN gradients
            self.scaler.update()
            stepped = self.scaler.get_scale() >= scale
        else:
            stepped = bool(torch.isfinite(norm))
            if stepped:
                self.optimizer.step()
            else:
                self.optimizer.zero_grad(set_to_none=True)
                self.guard.bad("gradient norm", where)
                return False
        self.optimizer.zero_grad(set_to_none=True)
        self.guard.ok()
        if stepped:
            self.optimizer_steps += 1
            if self.ema is not None:
                self.ema.update(self.model)
        return stepped
