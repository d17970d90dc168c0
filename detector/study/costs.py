"""What each backbone's detector weighs: parameters and GFLOPs at the study's input size, counted on the model
``tools/benchmark.py detector`` builds (random init). The speed columns are timed side by side for all backbones at
once (:mod:`detector.study.speed`). The record (``<study>/<label>/cost.json``) is reused while the model is the
same.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import torch

from detector.config import Config, config_to_dict
from detector.model import build_model
from detector.model.summary import count_parameters, model_flops
from detector.study.folder import read_json, write_json

log = logging.getLogger(__name__)

COST_RECORD = "cost.json"


def measure_cost(cfg: Config, num_classes: int) -> dict[str, Any]:
    """``{"params", "gflops", "size", "num_classes"}`` for ``cfg``'s detector with ``num_classes``.

    GFLOPs: one image at ``data.img_size``, a multiply-add = 2 FLOPs, conv/matmul only (:mod:`detector.model.summary`).
    The backbone is randomly initialised (the counts do not depend on the weights; nothing is downloaded).
    """
    size = cfg.data.img_size
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.pretrained = False
    torch.manual_seed(0)
    probe = build_model(cfg, num_classes=num_classes).eval()
    return {
        "params": count_parameters(probe),
        "gflops": model_flops(probe, size)["total"] / 1e9,
        "size": size,
        "num_classes": num_classes,
    }


def backbone_cost(folder: Path, cfg: Config, num_classes: int) -> dict[str, Any]:
    """:func:`measure_cost`, or the record in ``folder/cost.json`` when it was counted for the same model config,
    input size and class count."""
    key = {"model": config_to_dict(cfg)["model"], "img_size": cfg.data.img_size, "num_classes": num_classes}
    path = folder / COST_RECORD
    cached = read_json(path)
    if isinstance(cached, dict) and cached.get("key") == key:
        return cached
    log.info("counting the cost of %s (params, GFLOPs)", folder.name)
    record = {"key": key, **measure_cost(cfg, num_classes)}
    write_json(path, record)
    return record
