"""Builders for the backbone-study tests (a plain module): a tiny base config on the synthetic shapes set and a
study file around it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml

from detector.config import config_to_dict
from detector.model import build_model
from tests.helpers import TINY_DECOUPLED, TINY_MODEL, raise_objectness, tiny_config, tiny_model_config

# two tiny backbones (~0.3 M-parameter detectors at 64 px): the quickstart's CSPResNeXt and CSPDarknet, 1/16 wide
TINY_BACKBONES = [
    {"label": "cspx", "name": "cspresnext50", "width_mult": 0.0625, "depth_mult": 0.34},
    {"label": "cspdark", "name": "cspdarknet53", "width_mult": 0.0625, "depth_mult": 0.34},
]
FAST_COST = {"warmup": 0, "iters": 1, "repeats": 2}  # seconds, not a measurement


def write_tiny_study(
    root: Path,
    shapes_root: Path,
    *,
    backbones: list[dict[str, Any]] | None = None,
    seeds: list[int] | None = None,
    epochs: int = 1,
    name: str = "tiny",
    **extra: Any,
) -> Path:
    """Write ``root/base.yaml`` (tests.helpers.tiny_config with the decoupled head, ``epochs`` epochs, validation
    every epoch) and ``root/study.yaml``; returns the study file. ``extra``: more top-level study keys."""
    root.mkdir(parents=True, exist_ok=True)
    tiny_config(
        root / "base.yaml",
        root / "unused_out",
        shapes_root,
        train={"epochs": epochs, "save_batches": 0},
        model=TINY_DECOUPLED,
    )
    study = {
        "name": name,
        "base": "base.yaml",
        "seeds": seeds if seeds is not None else [0],
        "backbones": backbones if backbones is not None else TINY_BACKBONES,
        "cost": FAST_COST,
        "report": {"grid_images": 2},
        **extra,
    }
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def write_detecting_checkpoint(path: Path, seed: int = 3) -> None:
    """A random narrow CSPResNeXt + YOLOv4-head detector for the 6-class shapes set at 64 px (anchors of 6..40 px,
    objectness raised) saved as a trainer checkpoint: its AP on the tiny shapes val split is small but not zero
    (seed 3: AP 0.0007, AP50 0.005), so evaluations can be compared digit by digit without training."""
    cfg = tiny_model_config(6)
    cfg.model.head.anchors = TINY_MODEL["head"]["anchors"]
    torch.manual_seed(seed)
    model = build_model(cfg, num_classes=6)
    raise_objectness(model)
    names = ["circle", "square", "triangle", "star", "cross", "ring"]
    ckpt = {
        "model": model.state_dict(),
        "config": config_to_dict(cfg),
        "class_names": names,
        "cat_ids": [1, 2, 3, 4, 5, 6],
    }
    torch.save({**ckpt, "num_classes": 6, "epoch": 0}, path)
