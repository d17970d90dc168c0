"""The decoupled head family (``model.head.type: decoupled``): anchor-free head with DFL boxes, task-aligned loss."""

from __future__ import annotations

from collections.abc import Sequence

from detector.config import HeadConfig
from detector.config.head_families import DecoupledHeadConfig
from detector.model.heads.base import DetectionHead, HeadFamily, as_family_config, as_family_head
from detector.model.heads.decoupled.head import DecoupledHead
from detector.model.heads.decoupled.loss import DecoupledLoss
from detector.model.registry import register_head_family


@register_head_family()
class DecoupledFamily(HeadFamily):
    config = DecoupledHeadConfig
    head = DecoupledHead
    raw_outputs = "raw [B, 4*reg_max+C, H, W] logits per level (side-distance bins, classes)"

    def build_head(
        self, cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int
    ) -> DecoupledHead:
        d = as_family_config(cfg, DecoupledHeadConfig)
        return DecoupledHead(channels, strides, num_classes, d.reg_max, d.prior_prob)

    def build_loss(self, cfg: HeadConfig, head: DetectionHead) -> DecoupledLoss:
        return DecoupledLoss(as_family_head(head, DecoupledHead), as_family_config(cfg, DecoupledHeadConfig).loss)
