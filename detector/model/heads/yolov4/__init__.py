"""The yolov4 head family: anchor head (``head.py``), loss (``loss.py``), assigner (``assigner.py``), anchor fitting
(``anchors.py``, ``auto_anchor.py``), config (``config.py``), registered in ``family.py``."""

from detector.model.heads.yolov4.family import YoloV4Family

__all__ = ["YoloV4Family"]
