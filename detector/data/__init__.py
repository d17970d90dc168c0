"""Data pipeline: COCO / YOLO-txt datasets, letterbox, augmentation, loaders, synthetic shapes, dataset doctor."""

from detector.data.coco import CocoDetection, DatasetError, DatasetWarning, coco_from_dict
from detector.data.dataset import DetectionDataset, no_augment
from detector.data.doctor import DoctorReport, check_coco
from detector.data.heldout_writer import make_heldout
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
from detector.data.shapes import CLASS_NAMES as SHAPES_CLASS_NAMES
from detector.data.shapes import make_shapes, make_shapes_video
from detector.data.shapes_setup import ensure_shapes, shapes_split_paths
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
    "SHAPES_CLASS_NAMES",
    "YoloTxtDataset",
    "build_dataloader",
    "build_dataset",
    "build_source",
    "check_coco",
    "coco_from_dict",
    "collate",
    "ensure_shapes",
    "letterbox",
    "letterbox_boxes",
    "make_dataloader",
    "make_heldout",
    "make_shapes",
    "make_shapes_video",
    "no_augment",
    "read_class_names",
    "read_image",
    "set_loader_epoch",
    "shapes_split_paths",
    "yolo_to_coco",
]
