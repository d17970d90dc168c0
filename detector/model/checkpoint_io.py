"""Reading checkpoints: :func:`load_checkpoint` (the file, checked; also for training's resume and fine-tuning) and
:func:`load_detector` (a ready-to-run detector from it: the evaluation, detection and export jobs, the runtime,
darknet).

A checkpoint (written by :mod:`detector.engine.training.checkpoint`) is a dict with at least ``model`` (state dict; the
EMA weights when EMA was on). ``config`` (the resolved config dict), ``class_names``, ``cat_ids`` and ``num_classes``
are read when present. The model architecture always comes from the checkpoint's ``config['model']`` so the weights fit;
a config given by the caller supplies everything else (data, eval).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from detector.config import Config, config_from_dict, config_to_dict
from detector.model import Detector, build_model

CHECKPOINT_KEYS = (
    "model",
    "model_raw",
    "ema_updates",
    "optimizer",
    "scaler",
    "iteration",
    "epoch",
    "best_fitness",
    "rng",
    "config",
    "class_names",
    "cat_ids",
    "num_classes",
)


class CheckpointError(ValueError):
    """A checkpoint file cannot be read (damaged, truncated, not written by ``torch.save``); one line says which."""


class NonFiniteWeightsError(CheckpointError):
    """A checkpoint's weights hold NaN or inf (a diverged run): refused at load, naming the first such tensor."""


def first_non_finite(state: Mapping[str, Any]) -> tuple[str, int, int] | None:
    """``(name, non-finite count, numel)`` of the first floating-point tensor of ``state`` holding NaN or inf, in
    the state dict's order; None when every tensor is finite (non-tensor entries are skipped)."""
    for name, t in state.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            bad = int((~torch.isfinite(t)).sum())
            if bad:
                return name, bad, t.numel()
    return None


def _read_failure(e: Exception) -> str:
    """A one-line reason for a ``torch.load`` failure (torch's own text runs over several lines)."""
    if isinstance(e, pickle.UnpicklingError):
        return "not a PyTorch checkpoint (its bytes do not unpickle)"
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "central directory" in text or "zip archive" in text:
        return "the file is truncated or damaged (its zip archive is incomplete)"
    return f"{type(e).__name__}: {text[:200]}"


def load_checkpoint(path: str | Path, *, require_training_state: bool = False) -> dict[str, Any]:
    """Load a checkpoint on CPU and check its keys; errors name the file and the missing keys.

    Raises FileNotFoundError (no file), :class:`CheckpointError` (unreadable: random bytes, truncated),
    :class:`NonFiniteWeightsError` (NaN or inf in the ``model`` / ``model_raw`` weights, naming the first tensor) and
    ValueError (readable but not a detector checkpoint), each one line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (check the path, or train first to create it)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the file name, in one line
        raise CheckpointError(
            f"could not read checkpoint {path}: {_read_failure(e)}; copy it again, or point at a trainer's "
            "weights/last.pt or best.pt"
        ) from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ValueError(f"{path} is not a detector checkpoint: expected a dict with a 'model' state dict")
    for key in ("model", "model_raw"):  # the weights every tool and a resumed run use
        bad = first_non_finite(ckpt[key]) if isinstance(ckpt.get(key), Mapping) else None
        if bad is not None:
            name, count, numel = bad
            raise NonFiniteWeightsError(
                f"{path}: the weights hold NaN or inf ('{key}' tensor {name}: {count} of {numel} values); the run "
                "that wrote it diverged: use an earlier checkpoint, or train again with a lower train.lr"
            )
    if require_training_state:
        missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
        if missing:
            raise ValueError(
                f"cannot resume from {path}: missing keys {missing}; it is not a training checkpoint "
                "(use train.weights=PATH to start a new run from these weights instead)"
            )
    return ckpt


def _checkpoint_config(ckpt: dict[str, Any], path: Path, overrides: list[str] | tuple[str, ...]) -> Config:
    """The checkpoint's config (defaults when it has none) with ``key=value`` overrides applied."""
    data = ckpt.get("config") or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: 'config' in the checkpoint is a {type(data).__name__}, expected a dict")
    return config_from_dict(copy.deepcopy(data), f"{path} (config stored in the checkpoint)", overrides)


def load_detector(
    weights: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    cfg: Config | None = None,
    device: torch.device | str = "cpu",
) -> tuple[Detector, Config, dict[str, Any]]:
    """Load ``weights`` into a freshly built detector in eval mode on ``device``.

    ``cfg``: the run's config (e.g. from the CLI); its ``model`` section is replaced by the checkpoint's. Without it
    the checkpoint's own config is used, with ``overrides`` (``["eval.conf=0.3", ...]``) applied.
    Returns ``(model, cfg, meta)``; meta = ``{"class_names", "cat_ids", "num_classes", "epoch", "weights",
    "train_data"}`` (``cat_ids`` defaults to ``0..C-1`` and names to ``"0".."C-1"`` for checkpoints without them;
    ``train_data``: the ``data`` section the checkpoint was trained with, None when it stores no config).
    Raises FileNotFoundError / ValueError naming the file when it is missing, not a checkpoint, or does not fit.
    """
    path = Path(weights)
    ckpt = load_checkpoint(path)
    ckpt_cfg = _checkpoint_config(ckpt, path, overrides)
    if cfg is None:
        cfg = ckpt_cfg
    else:
        cfg = config_from_dict(config_to_dict(cfg), "config")  # a copy: the caller's object is left alone
        cfg.model = ckpt_cfg.model
    cfg.model.backbone.pretrained = False  # the checkpoint holds every weight: never download ImageNet weights

    state = ckpt["model"]
    num_classes = ckpt.get("num_classes") or cfg.model.num_classes
    if num_classes is None:
        raise ValueError(f"{path}: the checkpoint has no 'num_classes' and its config sets no model.num_classes")
    num_classes = int(num_classes)
    names = [str(n) for n in ckpt.get("class_names") or [str(i) for i in range(num_classes)]]
    cat_ids = [int(c) for c in ckpt.get("cat_ids") or range(num_classes)]
    if len(names) != num_classes or len(cat_ids) != num_classes:
        raise ValueError(
            f"{path}: num_classes={num_classes} but {len(names)} class_names and {len(cat_ids)} cat_ids; "
            "the checkpoint is inconsistent (re-save it from the trainer)"
        )
    model = build_model(cfg, num_classes=num_classes, class_names=names)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if missing or unexpected or wrong_shape:
        raise ValueError(
            f"{path}: the weights do not fit the model built from its config: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shape {wrong_shape[:5]} (was it trained with another "
            "backbone / neck / head config?)"
        )
    model.load_state_dict(state)
    model.to(device).eval()
    meta = {
        "class_names": names,
        "cat_ids": cat_ids,
        "num_classes": num_classes,
        "epoch": ckpt.get("epoch"),
        "weights": str(path),
        "train_data": ckpt_cfg.data if ckpt.get("config") else None,
    }
    return model, cfg, meta
