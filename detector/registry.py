"""Registries above the backbone: necks and head families (each head family brings its own loss).

A new head family is one file with the head (a :class:`detector.heads.base.DetectionHead`: ``forward_raw``,
``decode``, attributes ``family``, ``num_classes``, ``strides``, ``config_buffers``), one file with its loss, a
config section (``model.head.<family>``, ``loss.<family>``) and one entry in :data:`HEADS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from torch import nn

from detector.config import HeadConfig, LossConfig, NeckConfig
from detector.heads.base import DetectionHead
from detector.heads.decoupled import DecoupledHead
from detector.heads.yolov4 import YoloHead
from detector.loss import YoloLoss
from detector.loss_decoupled import DecoupledLoss
from detector.neck import SPPPAN, Neck

T = TypeVar("T")

YOLOV4_PRIOR_PROB = 0.01  # class-bias prior of the YOLOv4 head when model.head.prior_prob is null


@dataclass(frozen=True)
class HeadFamily:
    """How to build a head from ``model.head`` and its loss from ``loss``."""

    build_head: Callable[[HeadConfig, Sequence[int], Sequence[int], int], DetectionHead]
    build_loss: Callable[[LossConfig, DetectionHead], nn.Module]


def _yolov4_head(cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int) -> YoloHead:
    prior = cfg.prior_prob if cfg.prior_prob is not None else YOLOV4_PRIOR_PROB
    y = cfg.yolov4
    return YoloHead(
        channels, strides, y.anchors, num_classes, y.scale_x_y, prior, wh_decode=y.wh_decode, bn_eps=y.bn_eps
    )


def _decoupled_head(
    cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int
) -> DecoupledHead:
    return DecoupledHead(channels, strides, num_classes, cfg.decoupled.reg_max, cfg.prior_prob)


def _head_of_type(head: DetectionHead, cls: type[T]) -> T:
    """``head`` as a ``cls``; a TypeError when a head claims a family (``head.family``) it does not implement."""
    if not isinstance(head, cls):
        raise TypeError(
            f"{type(head).__name__} declares head family {head.family!r}, whose loss needs a {cls.__name__}"
        )
    return head


def _yolov4_loss(cfg: LossConfig, head: DetectionHead) -> YoloLoss:
    return YoloLoss(_head_of_type(head, YoloHead), cfg.yolov4)


def _decoupled_loss(cfg: LossConfig, head: DetectionHead) -> DecoupledLoss:
    return DecoupledLoss(_head_of_type(head, DecoupledHead), cfg.decoupled)


HEADS: dict[str, HeadFamily] = {
    "yolov4": HeadFamily(_yolov4_head, _yolov4_loss),
    "decoupled": HeadFamily(_decoupled_head, _decoupled_loss),
}

NECKS: dict[str, Callable[[NeckConfig, Sequence[int], Sequence[int]], Neck]] = {
    "spp_pan": lambda cfg, channels, strides: SPPPAN(
        channels, strides, cfg.widths, cfg.depth, cfg.spp_kernels, spp_order=cfg.spp_order, bn_eps=cfg.bn_eps
    ),
}


def _lookup(table: Mapping[str, T], name: str, key: str) -> T:
    if name not in table:
        raise ValueError(f"{key}: unknown name '{name}'; choose one of {sorted(table)}")
    return table[name]


def build_neck(cfg: NeckConfig, channels: Sequence[int], strides: Sequence[int]) -> Neck:
    """The neck ``model.neck.type`` names, built from the backbone's ``channels`` / ``strides``."""
    return _lookup(NECKS, cfg.type, "model.neck.type")(cfg, channels, strides)


def build_head(cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int) -> DetectionHead:
    """The head family ``model.head.type`` names, built from the neck's ``channels`` / ``strides``."""
    return _lookup(HEADS, cfg.type, "model.head.type").build_head(cfg, channels, strides, num_classes)


def build_loss(cfg: LossConfig, head: DetectionHead) -> nn.Module:
    """The loss of ``head``'s family (``head.family``), configured by ``cfg.<family>``."""
    return _lookup(HEADS, head.family, "head family").build_loss(cfg, head)
