"""The yolov4 head family (``model.head.type: yolov4``): the YOLOv4 paper's anchor head, its loss, and auto-anchor
at the start of training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from detector.config import HeadConfig
from detector.config.head_families import YoloV4HeadConfig
from detector.model.heads.base import DetectionHead, HeadFamily, as_family_config, as_family_head
from detector.model.heads.yolov4.auto_anchor import anchors_as_config, auto_anchor
from detector.model.heads.yolov4.head import YoloHead
from detector.model.heads.yolov4.loss import YoloLoss
from detector.model.registry import register_head_family

PRIOR_PROB = 0.01  # class-bias prior when model.head.prior_prob is null


@register_head_family()
class YoloV4Family(HeadFamily):
    config = YoloV4HeadConfig
    head = YoloHead
    raw_outputs = "raw [B, A, H, W, 5+C] logits per level (tx, ty, tw, th, obj, classes)"
    run_updated_keys = ("anchors",)  # auto-anchor

    def build_head(
        self, cfg: HeadConfig, channels: Sequence[int], strides: Sequence[int], num_classes: int
    ) -> YoloHead:
        y = as_family_config(cfg, YoloV4HeadConfig)
        prior = y.prior_prob if y.prior_prob is not None else PRIOR_PROB
        return YoloHead(
            channels, strides, y.anchors, num_classes, y.scale_x_y, prior, wh_decode=y.wh_decode, bn_eps=y.bn_eps
        )

    def build_loss(self, cfg: HeadConfig, head: DetectionHead) -> YoloLoss:
        return YoloLoss(as_family_head(head, YoloHead), as_family_config(cfg, YoloV4HeadConfig).loss)

    def on_train_start(self, head: DetectionHead, cfg: HeadConfig, coco: Any, img_size: int) -> str | None:
        """Auto-anchor (:func:`auto_anchor`): report the anchors' best possible recall, refit them when asked."""
        report = auto_anchor(as_family_head(head, YoloHead), as_family_config(cfg, YoloV4HeadConfig), coco, img_size)
        return str(report["message"])

    def on_resume(self, head: DetectionHead, cfg: HeadConfig) -> None:
        """The restored anchors (perhaps refitted by auto-anchor) go into ``model.head.anchors``."""
        as_family_config(cfg, YoloV4HeadConfig).anchors = anchors_as_config(as_family_head(head, YoloHead))
