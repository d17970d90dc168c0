"""``model.head`` of the decoupled family (``type: decoupled``): the anchor-free head's settings and its loss."""

from __future__ import annotations

from dataclasses import dataclass

from detector.config import HeadConfig
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1
from detector.config.schema import option


@dataclass
class DecoupledLossConfig:
    """``model.head.loss`` of the decoupled family (:class:`detector.model.heads.decoupled.loss.DecoupledLoss`)."""

    box: float = option(7.5, doc="CIoU gain", range=AT_LEAST_0)
    cls: float = option(0.5, doc="BCE gain (targets: alignment-normalised IoU)", range=AT_LEAST_0)
    dfl: float = option(1.5, doc="distribution focal loss gain", range=AT_LEAST_0)
    topk: int = option(10, doc="task-aligned assigner: candidates per ground truth", range=AT_LEAST_1)
    alpha: float = option(0.5, doc="alignment = score ** alpha * IoU ** beta", range=AT_LEAST_0)
    beta: float = option(6.0, doc="alignment = score ** alpha * IoU ** beta", range=AT_LEAST_0)


@dataclass
class DecoupledHeadConfig(HeadConfig):
    """The anchor-free decoupled head (:class:`detector.model.heads.decoupled.head.DecoupledHead`)."""

    type: str = option("decoupled", doc="head family (registry name); decoupled: anchor-free, DFL boxes")
    reg_max: int = option(
        16, doc="bins of the box-side distance distribution (distances 0 .. reg_max - 1 strides)", range=AT_LEAST_1
    )
    loss: DecoupledLossConfig = option(
        doc="the decoupled loss (CIoU, BCE, DFL; task-aligned assignment)", factory=DecoupledLossConfig
    )
