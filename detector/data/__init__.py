"""Data pipeline: COCO / YOLO-txt datasets, letterbox, augmentation, loaders, dataset doctor.

The synthetic-set generators (``detector/data/synthetic/``) are not part of this import surface: import them from
their modules (``detector.data.synthetic.shapes``, ``detector.data.synthetic.shapes_setup``,
``detector.data.synthetic.heldout_writer``)."""

from detector.data.coco import CocoDetection, DatasetError, DatasetWarning, coco_from_dict
from detector.data.dataset import DetectionDataset, no_augment
from detector.data.doctor import DoctorReport, check_coco
from detector.data.image_io import ImageReadError, read_image
from detector.data.letterbox import LetterboxParams, letterbox, letterbox_boxes
from detector.data.loader import (
    DatasetNotFoundError,
    build_dataloader,
    build_dataset,
    build_source,
    collate,
    make_dataloader,
    set_loader_epoch,
)
from detector.data.yolo_txt import YoloTxtDataset, read_class_names, yolo_to_coco

__all__ = [
    "CocoDetection",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetWarning",
    "DetectionDataset",
    "DoctorReport",
    "ImageReadError",
    "LetterboxParams",
    "YoloTxtDataset",
    "build_dataloader",
    "build_dataset",
    "build_source",
    "check_coco",
    "coco_from_dict",
    "collate",
    "letterbox",
    "letterbox_boxes",
    "make_dataloader",
    "no_augment",
    "read_class_names",
    "read_image",
    "set_loader_epoch",
    "yolo_to_coco",
]
