"""Checkpoints: atomic writes, plain fp32 state dicts, fine-tuning weight transfer (RNG state: ``rng.py``).

A training checkpoint (``OUT/weights/last.pt`` / ``best.pt``) is a dict with the keys in
:data:`detector.model.checkpoint_io.CHECKPOINT_KEYS` (read back by
:func:`detector.model.checkpoint_io.load_checkpoint`). ``model`` holds the EMA weights when EMA is on (else the raw
weights), ``model_raw`` the raw (non-EMA) weights; both are plain fp32 CPU state dicts without
``module.``/``_orig_mod.`` prefixes. Everything in a checkpoint is a tensor or a plain Python value, so
``torch.load(path, weights_only=True)`` works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from detector.engine.training.ema import ModelEMA
from detector.engine.training.rng import get_rng_state
from detector.engine.training.wrap import unwrap_model
from detector.output_files import atomic_path

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy a state dict to CPU, floating tensors to fp32, and strip wrapper prefixes from the keys."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        changed = True
        while changed:
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if name.startswith(prefix):
                    name, changed = name[len(prefix) :], True
        tensor = value.detach().to("cpu", copy=True)
        if tensor.is_floating_point():
            tensor = tensor.float()
        out[name] = tensor
    return out


def _plain(value: Any) -> Any:
    """Convert a config dict to plain built-in types (Path -> str, tuple -> list) so it loads with weights_only."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same directory, fsync it, then ``os.replace`` over ``path``.

    A crash (or exception, KeyboardInterrupt and SystemExit included) during the write leaves any previous ``path``
    untouched and removes the temp file (:func:`detector.output_files.atomic_path`).
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
    return Path(path)


def build_checkpoint(
    *,
    model: nn.Module,
    ema_model: nn.Module | None,
    ema_updates: int,
    optimizer: torch.optim.Optimizer | None,
    scaler: Any | None,
    iteration: int,
    epoch: int,
    best_fitness: float,
    config: Mapping[str, Any],
    class_names: list[str],
    cat_ids: list[int],
    num_classes: int,
) -> dict[str, Any]:
    """Assemble the checkpoint dict (see module docstring). ``epoch`` is the last *finished* epoch (0-based)."""
    raw = clean_state_dict(unwrap_model(model).state_dict())
    for name, tensor in raw.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise RuntimeError(
                f"refusing to write a checkpoint: parameter '{name}' holds NaN/Inf values; training diverged "
                "(lower train.lr, keep train.grad_clip on, or check the data for broken boxes)"
            )
    return {
        "model": clean_state_dict(ema_model.state_dict()) if ema_model is not None else raw,
        "model_raw": raw,
        "ema_updates": int(ema_updates),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "iteration": int(iteration),
        "epoch": int(epoch),
        "best_fitness": float(best_fitness),
        "rng": get_rng_state(),
        "config": _plain(config),
        "class_names": [str(n) for n in class_names],
        "cat_ids": [int(c) for c in cat_ids],
        "num_classes": int(num_classes),
    }


def restore_training_state(
    ckpt: Mapping[str, Any],
    *,
    model: nn.Module,
    ema: ModelEMA | None,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
) -> None:
    """Load a training checkpoint (:func:`load_checkpoint` with ``require_training_state``) back into what
    :func:`build_checkpoint` read: the raw weights into ``model``, the EMA weights and update count into ``ema``
    (when given), the optimiser state, and the grad-scaler state when both are enabled."""
    unwrap_model(model).load_state_dict(ckpt["model_raw"])
    if ema is not None:
        ema.load_state(ckpt["model"], ckpt["ema_updates"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if ckpt["scaler"] is not None and scaler.is_enabled():
        scaler.load_state_dict(ckpt["scaler"])


def model_checkpoint(
    model: nn.Module,
    config: Mapping[str, Any],
    class_names: list[str],
    cat_ids: list[int],
    **extra: Any,
) -> dict[str, Any]:
    """A checkpoint with the model only (no training state), e.g. a converted darknet model: what
    ``load_detector`` (tools/eval.py, detect.py, export.py) and ``train.weights=`` read. ``extra``: plain values
    stored alongside (e.g. where the weights came from)."""
    state = clean_state_dict(unwrap_model(model).state_dict())
    return {
        "model": state,
        "config": _plain(config),
        "class_names": [str(n) for n in class_names],
        "cat_ids": [int(c) for c in cat_ids],
        "num_classes": len(class_names),
        **{k: _plain(v) for k, v in extra.items()},
    }


def transfer_weights(
    model: nn.Module, state: Mapping[str, torch.Tensor], keep: Sequence[str] = ()
) -> dict[str, list[str]]:
    """Load every tensor of ``state`` whose name and shape match ``model``; leave the rest at their fresh init.

    Used for fine-tuning from a detector checkpoint with another number of classes: the head's prediction convs
    change shape and keep the initialisation ``build_model`` gave them. ``keep``: names (matched as a suffix after a
    ``.``, e.g. ``head.anchors``) of buffers that come from the config and are never loaded. Returns ``{"loaded",
    "skipped", "missing", "kept", "kept_differ"}``: skipped = in ``state`` but absent or of another shape in the
    model; missing = in the model, not loaded; kept = in ``state`` and in ``keep``; kept_differ = those of them whose
    checkpoint value differs from the model's.
    """
    target = unwrap_model(model)
    own = target.state_dict()
    state = clean_state_dict(state)
    load, skipped, kept, kept_differ = {}, [], [], []
    for name, tensor in state.items():
        if any(name == k or name.endswith(f".{k}") for k in keep):
            kept.append(name)
            same = name in own and own[name].shape == tensor.shape and torch.equal(own[name], tensor.to(own[name]))
            if not same:
                kept_differ.append(name)
        elif name in own and own[name].shape == tensor.shape:
            load[name] = tensor.to(own[name].dtype)
        else:
            shape = tuple(own[name].shape) if name in own else "absent"
            skipped.append(f"{name} {tuple(tensor.shape)} -> {shape}")
    target.load_state_dict(load, strict=False)
    missing = [name for name in own if name not in load]
    return {"loaded": sorted(load), "skipped": skipped, "missing": missing, "kept": kept, "kept_differ": kept_differ}
