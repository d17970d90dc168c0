"""Allowed ranges of the numeric config keys (``RANGES``), checked when a config is loaded.

A value outside its range is a :class:`detector.config.ConfigError` that names the key, the range and the value
(``key 'train.epochs' must be >= 1, got -3``), instead of a ``ZeroDivisionError`` deep in the trainer or a run that
"trains" for -3 epochs. List-valued keys (``model.neck.widths``, ``model.head.anchors``) are checked element
by element. A key missing from ``RANGES`` accepts any value of its type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """``lo <= v <= hi`` (``<`` where ``lo_open`` / ``hi_open``; None: unbounded), a multiple of ``multiple_of``."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    multiple_of: int | None = None

    def contains(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        if self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi):
            return False
        return self.multiple_of is None or v % self.multiple_of == 0

    def describe(self) -> str:
        """``'>= 1'``, ``'> 0'``, ``'in [0, 1]'``, ``'in (0, 1)'``; ``', a multiple of 32'`` appended when set."""
        if self.lo is not None and self.hi is not None:
            text = f"in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
        elif self.lo is not None:
            text = f"{'>' if self.lo_open else '>='} {self.lo:g}"
        elif self.hi is not None:
            text = f"{'<' if self.hi_open else '<='} {self.hi:g}"
        else:
            text = "finite"
        return text + (f" and a multiple of {self.multiple_of}" if self.multiple_of else "")


AT_LEAST_0 = Range(lo=0)
AT_LEAST_1 = Range(lo=1)
POSITIVE = Range(lo=0, lo_open=True)
FRACTION = Range(lo=0, hi=1)  # probabilities, thresholds, ratios
OPEN_FRACTION = Range(lo=0, hi=1, lo_open=True, hi_open=True)

RANGES: dict[str, Range] = {
    # model
    "model.num_classes": AT_LEAST_1,
    "model.backbone.out_indices": AT_LEAST_0,
    "model.backbone.width_mult": POSITIVE,
    "model.backbone.depth_mult": POSITIVE,
    "model.backbone.frozen_stages": AT_LEAST_0,
    "model.neck.widths": AT_LEAST_1,
    "model.neck.depth": AT_LEAST_0,
    "model.neck.spp_kernels": AT_LEAST_1,
    # data
    "data.img_size": Range(lo=32, multiple_of=32),  # pixels
    "data.max_background": AT_LEAST_0,
    "data.shapes.num_train": AT_LEAST_1,
    "data.shapes.num_val": AT_LEAST_0,
    "data.shapes.img_size": Range(lo=36),  # pixels; the generator draws objects from 16 px to 45 % of the side
    "data.shapes.seed": AT_LEAST_0,
    "data.augment.mosaic": FRACTION,
    "data.augment.mixup": FRACTION,
    "data.augment.degrees": Range(lo=0, hi=180),
    "data.augment.translate": FRACTION,
    "data.augment.scale": Range(lo=0, hi=1, hi_open=True),
    "data.augment.shear": Range(lo=0, hi=90, hi_open=True),
    "data.augment.hsv_h": FRACTION,
    "data.augment.hsv_s": FRACTION,
    "data.augment.hsv_v": FRACTION,
    "data.augment.fliplr": FRACTION,
    "data.augment.close_mosaic": AT_LEAST_0,
    "data.augment.photometric": FRACTION,
    # train
    "train.epochs": AT_LEAST_1,
    "train.batch_size": AT_LEAST_1,
    "train.nominal_batch_size": AT_LEAST_1,
    "train.workers": AT_LEAST_0,
    "train.lr": POSITIVE,
    "train.momentum": Range(lo=0, hi=1, hi_open=True),
    "train.weight_decay": AT_LEAST_0,
    "train.warmup_epochs": AT_LEAST_0,
    "train.warmup_bias_lr": AT_LEAST_0,
    "train.final_lr_ratio": FRACTION,
    "train.ema_decay": FRACTION,
    "train.grad_clip": AT_LEAST_0,
    "train.eval_interval": AT_LEAST_1,
    "train.seed": AT_LEAST_0,
    "train.max_nonfinite": AT_LEAST_1,
    "train.save_batches": AT_LEAST_0,
    # eval
    "eval.conf_thres": FRACTION,
    "eval.iou_thres": FRACTION,
    "eval.max_det": AT_LEAST_1,
    "eval.batch_size": AT_LEAST_1,
}


def range_problem(key: str, value: Any, allowed: Range | None = None) -> str | None:
    """None when ``value`` (a number, None, or a possibly nested list of numbers) fits ``allowed`` (default:
    ``RANGES[key]``; a field declared with ``option(range=...)`` passes its range); else the message
    ``"'<key>' must be <range>, got <value>"`` naming the offending element (``key[i][j]``) of a list."""
    allowed = allowed if allowed is not None else RANGES.get(key)
    return None if allowed is None or value is None else _element_problem(key, value, allowed)


def _element_problem(key: str, value: Any, allowed: Range) -> str | None:
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = _element_problem(f"{key}[{i}]", item, allowed)
            if problem:
                return problem
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or allowed.contains(float(value)):
        return None
    return f"'{key}' must be {allowed.describe()}, got {value!r}"
