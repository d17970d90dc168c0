"""Write a held-out synthetic set to disk in two formats at once, so any detector can train on the same images.

Layout under ``out_dir``::

    train/images/000000.jpg ...   train/labels/000000.txt ...   train.json
    val/images/000000.jpg ...     val/labels/000000.txt ...     val.json
    data.yaml  heldout_meta.json

``{split}.json`` is COCO (category ids 1..C, boxes_xywh in pixels, ``area`` = visible pixels of the object, image
ids 1..N in file order); ``{split}/labels/*.txt`` are YOLO-txt (``class cx cy w h`` normalised, one line per box;
an empty file for an image without objects); ``data.yaml`` is the Ultralytics dataset file (paths relative to
the yaml's folder, which Ultralytics uses when ``path`` is absent). Image ``i`` of a split is rendered from
``numpy.random.default_rng([seed, style.stream, split_index, i])``: the same arguments give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from detector.data.synthetic.coco_writer import SPLITS, box_annotation, write_coco_split
from detector.data.synthetic.heldout_scene import HeldoutStyle, compose_scene, get_style
from detector.data.synthetic.manifest import finish_manifest, prepare_folder
from detector.data.synthetic.memory_check import check_memory, render_bytes
from detector.data.synthetic.shapes import OUT_ADVICE
from detector.output_files import write_text_atomic

VERSION = 1  # bump when the rendering changes
# the manifest (detector/data/synthetic/manifest.py): written first, and with hashes at the end
META_FILE = "heldout_meta.json"


def _yolo_lines(boxes_xyxy: np.ndarray, labels: np.ndarray, size: int) -> str:
    lines = []
    for (x1, y1, x2, y2), lab in zip(boxes_xyxy.tolist(), labels.tolist(), strict=True):
        cx, cy, w, h = (x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size
        lines.append(f"{lab} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    return "".join(lines)


def _write_split(out_dir: Path, style: HeldoutStyle, split: str, num: int, size: int, seed: int) -> dict:
    img_dir, lbl_dir = out_dir / split / "images", out_dir / split / "labels"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i in range(num):
        scene = compose_scene(style, size, np.random.default_rng([seed, style.stream, SPLITS.index(split), i]))
        name = f"{i:06d}.jpg"
        bgr = cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR)
        ok = cv2.imwrite(str(img_dir / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise OSError(f"OpenCV could not write {img_dir / name}; check that the folder is writable")
        (lbl_dir / f"{i:06d}.txt").write_text(_yolo_lines(scene.boxes_xyxy, scene.labels, size))
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for box, lab, area in zip(scene.boxes_xyxy.tolist(), scene.labels.tolist(), scene.areas.tolist(), strict=True):
            annotations.append(box_annotation(len(annotations) + 1, i + 1, lab, box, area))
    description = f"cspx-yolo held-out synthetic set {style.name} ({split}, seed {seed}, v{VERSION})"
    return write_coco_split(out_dir, split, images, annotations, style.class_names, description)


def split_stats(coco: dict) -> dict:
    """Figures of a COCO dict: images, boxes, objects per image (mean/min/max), box extent max(w, h) in pixels
    (min/median/max), COCO area buckets by box area (small < 32², medium < 96², large) and boxes per class name."""
    per_image = np.bincount([a["image_id"] for a in coco["annotations"]], minlength=len(coco["images"]) + 1)[1:]
    wh = np.array([a["bbox"][2:] for a in coco["annotations"]], np.float64).reshape(-1, 2)
    extent, box_area = wh.max(1) if len(wh) else np.zeros(1), wh.prod(1)
    names = {c["id"]: c["name"] for c in coco["categories"]}
    per_class = {n: 0 for n in names.values()}
    for a in coco["annotations"]:
        per_class[names[a["category_id"]]] += 1
    return {
        "images": len(coco["images"]),
        "boxes": len(coco["annotations"]),
        "objects_per_image": {
            "mean": round(float(per_image.mean()), 2) if len(per_image) else 0.0,
            "min": int(per_image.min()) if len(per_image) else 0,
            "max": int(per_image.max()) if len(per_image) else 0,
        },
        "empty_images": int((per_image == 0).sum()),
        "extent_px": {
            "min": float(extent.min()),
            "median": float(np.median(extent)),
            "max": float(extent.max()),
        },
        "area_buckets": {
            "small": int((box_area < 32**2).sum()),
            "medium": int(((box_area >= 32**2) & (box_area < 96**2)).sum()),
            "large": int((box_area >= 96**2).sum()),
        },
        "per_class": per_class,
    }


def make_heldout(
    out_dir: str | Path,
    style: str,
    num_train: int = 400,
    num_val: int = 100,
    img_size: int = 256,
    seed: int = 1,
    *,
    exist_ok: bool = False,
) -> dict:
    """Render held-out style ``style`` (``heldout_a`` | ``heldout_b``) into ``out_dir`` (layout in the module doc).

    ``img_size`` is the square image side in pixels (>= 64). ``out_dir`` must be missing, empty or hold an earlier
    held-out set of the same parameters (its own files are removed first); the rules of
    :func:`detector.data.synthetic.manifest.prepare_folder` decide, OutputFileError unless ``exist_ok``. Returns
    ``{"train": split_stats, "val": split_stats, "data_yaml": path, "train_ann": path, "val_ann": path,
    "train_images": path, "val_images": path}``.
    """
    spec = get_style(style)
    if img_size < 64:
        raise ValueError(f"img_size={img_size}: held-out scenes need images of at least 64 px; give --img-size >= 64")
    if num_train < 0 or num_val < 0:
        raise ValueError(f"num_train={num_train}, num_val={num_val}: image counts cannot be negative")
    out_dir = Path(out_dir)
    check_memory(render_bytes(img_size), f"--img-size {img_size}")
    params = {"style": style, "num_train": num_train, "num_val": num_val, "img_size": img_size, "seed": seed}
    params["version"] = VERSION
    planned = ["data.yaml"]
    for split, num in zip(SPLITS, (num_train, num_val), strict=True):
        planned += [
            f"{split}/{kind}/{i:06d}.{ext}" for i in range(num) for kind, ext in (("images", "jpg"), ("labels", "txt"))
        ]
        planned.append(f"{split}.json")
    prepare_folder(
        out_dir, META_FILE, params, planned, what="held-out set", label=f"--out {out_dir}", name="--out",
        advice=OUT_ADVICE, exist_ok=exist_ok,
    )  # fmt: skip
    result: dict = {}
    for split, num in zip(SPLITS, (num_train, num_val), strict=True):
        result[split] = split_stats(_write_split(out_dir, spec, split, num, img_size, seed))
        result[f"{split}_ann"] = str(out_dir / f"{split}.json")
        result[f"{split}_images"] = str(out_dir / split / "images")
    data_yaml = {"train": "train/images", "val": "val/images", "nc": len(spec.class_names)}
    data_yaml["names"] = dict(enumerate(spec.class_names))
    write_text_atomic(out_dir / "data.yaml", yaml.safe_dump(data_yaml, sort_keys=False), fsync=False)
    finish_manifest(out_dir, META_FILE, params, planned, extra={"stats": {split: result[split] for split in SPLITS}})
    result["data_yaml"] = str(out_dir / "data.yaml")
    return result
