"""COCO-format detection dataset (annotation JSON + image folder) on pycocotools.

Box formats: COCO stores ``boxes_xywh`` (x, y of the top-left corner, width, height, pixels); this module converts
them once, in :meth:`CocoDetection._build_records`, to ``boxes_xyxy`` (pixels of the original image).
Category ids exist only at this boundary: ``label = cat_ids.index(category_id)``, ``category_id = cat_ids[label]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from detector.coco_fields import annotation_problem, describe_annotation, skipped_message
from detector.data.doctor import DoctorReport, check_coco
from detector.data.image_io import read_image


class DatasetWarning(UserWarning):
    """Something in the dataset was dropped or repaired; training continues."""


class DatasetError(ValueError):
    """The dataset cannot be used as it is (fatal doctor finding); the message says what to fix."""


@dataclass
class ImageRecord:
    image_id: int
    path: Path
    boxes_xyxy: np.ndarray  # float32 [N, 4], original pixels, crowd boxes excluded
    labels: np.ndarray  # int64 [N], contiguous 0..num_classes-1


def coco_from_dict(data: dict) -> COCO:
    """Build a pycocotools ``COCO`` from an in-memory dict (no file, no console chatter)."""
    data = dict(data)
    data.setdefault("info", {"description": "cspx-yolo dataset"})
    data.setdefault("licenses", [])
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _warn_dropped(r: DoctorReport, where: str) -> None:
    """One DatasetWarning with the counts of what the doctor report ``r`` drops and repairs (none when clean)."""
    kinds = ("missing_image", "unreadable_image", "duplicate_image_id", "box_degenerate", "annotation_unknown_image")
    parts = [f"{k}: {r.count(k)}" for k in kinds if r.count(k)]
    if parts:
        warnings.warn(
            f"{where}: dropped {len(r.drop_image_ids)} images and {len(r.drop_ann_ids)} annotations "
            f"({', '.join(parts)}); {r.count('box_out_of_bounds')} boxes clipped. "
            "Run tools/check_dataset.py for details.",
            DatasetWarning,
            stacklevel=3,
        )


def _warn_invalid(problems: list[str], where: str) -> None:
    """One DatasetWarning counting the annotations skipped for fields of the wrong type, naming the first few."""
    if problems:
        warnings.warn(skipped_message(where, problems), DatasetWarning, stacklevel=4)


def _warn_no_ground_truth(where: str, num_in_file: int) -> None:
    """The DatasetWarning for a split without one usable (non-crowd, kept) box: AP is undefined on it."""
    what = (
        "0 annotations" if num_in_file == 0 else f"0 usable annotations ({num_in_file} in the file: crowd or dropped)"
    )
    warnings.warn(
        f"{where} has {what}: every image is background; AP cannot be computed on it (evaluation reports "
        "'no ground truth'). Check that this is the annotation file you meant.",
        DatasetWarning,
        stacklevel=3,
    )


class CocoDetection:
    """A COCO-format dataset: ``load_item(i) -> (img_rgb uint8 [H, W, 3], boxes_xyxy float32 [N, 4] pixels,
    labels int64 [N], image_id)``.

    Args:
        ann_file: COCO annotation JSON path, or an already-loaded COCO dict.
        images_dir: folder the ``file_name`` entries are relative to.
        max_background: None keeps every image without (non-crowd) boxes; N keeps at most N of them (a fixed,
            evenly spread subset, so the choice is reproducible).
        check: run the dataset doctor (cached) and drop what it says to drop, with a warning and counts.
        source_key: for a dict ``ann_file``, a string identifying its content (enables the doctor cache).
    """

    def __init__(
        self,
        ann_file: str | Path | dict,
        images_dir: str | Path,
        *,
        max_background: int | None = None,
        check: bool = True,
        source_key: str | None = None,
    ) -> None:
        self.images_dir = Path(images_dir)
        self.ann_file = ann_file if isinstance(ann_file, dict) else Path(ann_file)
        where = source_key or ("<in-memory>" if isinstance(ann_file, dict) else str(ann_file))
        self.report: DoctorReport | None = None
        if check:
            report = check_coco(ann_file, self.images_dir, source_key=source_key)
            if report.fatal:
                raise DatasetError(
                    f"dataset {where} cannot be used:\n{report.summary()}\n"
                    f"Run `python tools/check_dataset.py --ann {where} --images {self.images_dir}` for the full list."
                )
            _warn_dropped(report, where)
            self.report = report
        data = ann_file if isinstance(ann_file, dict) else json.loads(Path(ann_file).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= set(data):
            raise DatasetError(f"{where}: not a COCO annotation file (needs images, annotations, categories)")
        cats = sorted(data["categories"], key=lambda c: c["id"])
        self.cat_ids: list[int] = [int(c["id"]) for c in cats]
        self.class_names: list[str] = [str(c.get("name", c["id"])) for c in cats]
        self._label_of = {cid: i for i, cid in enumerate(self.cat_ids)}
        self.records, kept_data = self._build_records(data, max_background, where)
        if not any(len(r.labels) for r in self.records):
            _warn_no_ground_truth(where, len(data["annotations"]))
        self.image_ids: list[int] = [r.image_id for r in self.records]
        self.coco = coco_from_dict(kept_data)

    @property
    def num_classes(self) -> int:
        return len(self.cat_ids)

    def __len__(self) -> int:
        return len(self.records)

    def image_path(self, i: int) -> Path:
        return self.records[i].path

    def load_item(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Image ``i`` as (RGB uint8 [H, W, 3], boxes_xyxy float32 [N, 4] clipped to the image, labels int64 [N],
        image id). Raises :class:`detector.data.image_io.ImageReadError` for an unreadable file."""
        rec = self.records[i]
        img = read_image(rec.path)
        h, w = img.shape[:2]
        boxes = rec.boxes_xyxy.copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return img, boxes[keep], rec.labels[keep].copy(), rec.image_id

    def _build_records(self, data: dict, max_background: int | None, where: str) -> tuple[list[ImageRecord], dict]:
        drop_imgs = set(self.report.drop_image_ids) if self.report else set()
        drop_anns = set(self.report.drop_ann_ids) if self.report else set()
        images: dict[int, dict] = {}
        for im in data["images"]:
            if im["id"] not in drop_imgs and im["id"] not in images:  # first entry wins for duplicated ids
                images[int(im["id"])] = im
        per_image: dict[int, list[dict]] = {i: [] for i in images}
        kept_anns = []
        invalid: list[str] = []
        for a in data["annotations"]:
            problem = annotation_problem(a)  # the doctor's and the evaluator's check: all three skip the same
            if problem:
                invalid.append(f"{describe_annotation(a)}: {problem}")
                continue
            if a["id"] in drop_anns or a["image_id"] not in per_image:
                continue
            kept_anns.append(a)
            x, y, w, h = (float(v) for v in a["bbox"])
            if a.get("iscrowd", 0) or w <= 0 or h <= 0:
                continue  # crowd regions stay in .coco for evaluation, never become training targets
            per_image[a["image_id"]].append(a)
        _warn_invalid(invalid, where)
        records = []
        for image_id in sorted(images):
            anns = per_image[image_id]
            boxes_xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
            boxes_xyxy = np.concatenate([boxes_xywh[:, :2], boxes_xywh[:, :2] + boxes_xywh[:, 2:]], axis=1)
            labels = np.array([self._label_of[a["category_id"]] for a in anns], dtype=np.int64)
            path = self.images_dir / images[image_id]["file_name"]
            records.append(ImageRecord(image_id, path, boxes_xyxy, labels))
        backgrounds = [i for i, r in enumerate(records) if len(r.labels) == 0]
        if max_background is not None and len(backgrounds) > max_background:
            keep = set(np.array(backgrounds)[np.linspace(0, len(backgrounds) - 1, max_background).round().astype(int)])
            keep = keep if max_background > 0 else set()
            records = [r for i, r in enumerate(records) if len(r.labels) or i in keep]
        kept_ids = {r.image_id for r in records}
        kept = dict(data)
        kept["images"] = [images[i] for i in sorted(kept_ids)]
        kept["annotations"] = [a for a in kept_anns if a["image_id"] in kept_ids]
        return records, kept
