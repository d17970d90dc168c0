"""The yolov4 head family: anchor head (``head.py``), loss (``loss.py``), assigner (``assigner.py``), anchor fitting
(``anchors.py``, ``auto_anchor.py``), registered in ``family.py``; its ``model.head`` class is in
``detector/config/head_families.py``."""

from detector.model.heads.yolov4.family import YoloV4Family

__all__ = ["YoloV4Family"]
