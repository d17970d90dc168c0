"""The module the training step calls (SyncBatchNorm -> DDP -> ``torch.compile``) and the way back to the plain
model inside those wrappers."""

from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


def wrap_model(model: nn.Module, device: torch.device, distributed: bool, sync_bn: bool, compile: bool) -> nn.Module:
    """``model`` as the training step calls it: SyncBatchNorm (CUDA DDP only) -> DDP -> ``torch.compile`` as asked
    (``train.sync_bn``, ``train.compile``); the model itself when none applies."""
    if distributed:
        if sync_bn and device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        elif sync_bn:
            log.info("train.sync_bn ignored: SyncBatchNorm needs CUDA devices")
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return compile_module(model) if compile else model


def compile_module(model: nn.Module, mode: str | None = None) -> nn.Module:
    """``torch.compile(model, mode=mode)``: an ``OptimizedModule`` (an ``nn.Module`` calling ``model`` compiled),
    though torch annotates it as a plain callable."""
    compiled = torch.compile(model, mode=mode)
    if not isinstance(compiled, nn.Module):
        raise TypeError(f"torch.compile returned a {type(compiled).__name__}, expected an nn.Module")
    return compiled


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the plain module inside DDP / DataParallel / ``torch.compile`` wrappers."""
    while True:
        compiled_from = getattr(model, "_orig_mod", None)  # torch.compile's OptimizedModule
        if isinstance(compiled_from, nn.Module):
            model = compiled_from
        elif isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        else:
            return model
