"""``model.head`` of the yolov4 family (``type: yolov4``): the anchor head's settings and its loss (``loss:``)."""

from __future__ import annotations

from dataclasses import dataclass

from detector.config import HeadConfig
from detector.config.ranges import AT_LEAST_0, POSITIVE, Range
from detector.config.schema import option
from detector.model.heads.yolov4.head import WH_DECODES


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
