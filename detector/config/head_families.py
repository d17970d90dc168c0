"""``model.head`` of the built-in head families, declared in the config's room so that a config is checked without
importing the network: ``decoupled`` (the anchor-free head and its loss) and ``yolov4`` (the anchor head and its loss,
``loss:``). Each class registers its family's name (its ``type`` default) with
:func:`detector.config.plugins.register_head_config`; the family itself (head, loss, assigner) lives in
``detector/model/heads/<family>/``."""

from __future__ import annotations

from dataclasses import dataclass

from detector.config.plugins import HeadConfig, register_head_config
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1, POSITIVE, Range
from detector.config.schema import option

#: the yolov4 head's box-size decodes (``model.head.wh_decode``)
WH_DECODES = ("sigmoid2", "exp")


@dataclass
class DecoupledLossConfig:
    """``model.head.loss`` of the decoupled family (:class:`detector.model.heads.decoupled.loss.DecoupledLoss`)."""

    box: float = option(7.5, doc="CIoU gain", range=AT_LEAST_0)
    cls: float = option(0.5, doc="BCE gain (targets: alignment-normalised IoU)", range=AT_LEAST_0)
    dfl: float = option(1.5, doc="distribution focal loss gain", range=AT_LEAST_0)
    topk: int = option(10, doc="task-aligned assigner: candidates per ground truth", range=AT_LEAST_1)
    alpha: float = option(0.5, doc="alignment = score ** alpha * IoU ** beta", range=AT_LEAST_0)
    beta: float = option(6.0, doc="alignment = score ** alpha * IoU ** beta", range=AT_LEAST_0)


@register_head_config
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


@dataclass
class YoloV4LossConfig:
    """``model.head.loss`` of the yolov4 family (:class:`detector.model.heads.yolov4.loss.YoloLoss`)."""

    box: float = option(0.05, doc="CIoU box loss gain", range=AT_LEAST_0)
    obj: float = option(1.0, doc="objectness BCE gain", range=AT_LEAST_0)
    cls: float = option(0.5, doc="class BCE gain", range=AT_LEAST_0)
    balance: list[float] = option(
        doc="objectness weight of P3/P4/P5", factory=lambda: [4.0, 1.0, 0.4], range=AT_LEAST_0
    )
    anchor_t: float = option(
        4.0,
        doc="a GT matches an anchor when max(w/aw, aw/w, h/ah, ah/h) < anchor_t",
        range=Range(lo=1, lo_open=True),
    )
    label_smoothing: float = option(0.0, doc="class label smoothing", range=Range(lo=0, hi=1, hi_open=True))


@register_head_config
@dataclass
class YoloV4HeadConfig(HeadConfig):
    """The YOLOv4 paper's anchor-based head (:class:`detector.model.heads.yolov4.head.YoloHead`)."""

    type: str = option("yolov4", doc="head family (registry name); yolov4: anchor-based YOLOv4 head")
    anchors: list[list[float]] = option(
        doc="anchors in input pixels, one row per level (P3, P4, P5): w0, h0, w1, h1, ... (YOLOv4 COCO anchors)",
        factory=lambda: [[12, 16, 19, 36, 40, 28], [36, 75, 76, 55, 72, 146], [142, 110, 192, 243, 459, 401]],
        range=POSITIVE,
    )
    scale_x_y: list[float] = option(
        doc="YOLOv4 grid sensitivity per level", factory=lambda: [1.2, 1.1, 1.05], range=POSITIVE
    )
    wh_decode: str = option(
        "sigmoid2",
        doc="box size decode: sigmoid2: (2 sigmoid(t))^2 * anchor | exp: exp(t) * anchor (darknet [yolo])",
        choices=WH_DECODES,
    )
    bn_eps: float = option(1e-3, doc="BatchNorm epsilon of the head's 3x3 convs (darknet: 1e-5)")
    auto_anchor: bool = option(
        False,
        doc="at the start of a run (not on resume) the trainer reports the anchors' best possible recall (BPR) on "
        "the training boxes; true: anchors below 0.98 BPR are replaced by k-means anchors, written into the run's "
        "config",
    )
    loss: YoloV4LossConfig = option(doc="the yolov4 loss (CIoU, objectness, classes)", factory=YoloV4LossConfig)
