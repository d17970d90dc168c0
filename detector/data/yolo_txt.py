"""YOLO-txt datasets (``images/`` + ``labels/`` with ``class cx cy w h`` normalised per line) and conversion to COCO.

Layout (Ultralytics convention): each image ``.../images/<sub>/x.jpg`` has its labels in ``.../labels/<sub>/x.txt``
(the last ``images`` path component replaced by ``labels``); a missing label file means a background image.
Class names come from a data yaml (``names: [..]`` or ``names: {0: ..}``) or a text file with one name per line.
COCO category ids are ``class index + 1``; image ids are 1-based in sorted file order.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from detector.data.coco import CocoDetection
from detector.data.doctor import DoctorReport, check_coco
from detector.data.image_io import IMAGE_EXTS
from detector.job_files import JobFiles
from detector.output_files import write_text_atomic


def read_class_names(path: str | Path) -> list[str]:
    """Class names from a data yaml (``names`` list or index->name mapping) or a names file (one per line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class names file not found: {path} (give a data yaml with 'names' or a .names/.txt)")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(text) or {}
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names, key=int)]
        if isinstance(names, list):
            return [str(n) for n in names]
        raise ValueError(f"{path}: no 'names' list or mapping found (keys: {sorted(data) if data else []})")
    return [line.strip() for line in text.splitlines() if line.strip()]


def list_images(source: str | Path | list) -> tuple[list[Path], Path]:
    """Image files of a folder (recursive; a root holding ``images/`` is accepted), a .txt list or a list of paths.
    Returns (sorted files, folder their ``file_name`` is relative to)."""
    if isinstance(source, (list, tuple)):
        return sorted(Path(p).resolve() for p in source), Path("/")
    source = Path(source)
    if source.is_file() and source.suffix == ".txt":
        lines = [ln.strip() for ln in source.read_text().splitlines() if ln.strip()]
        return sorted((source.parent / p).resolve() for p in lines), Path("/")
    if not source.is_dir():
        raise FileNotFoundError(f"YOLO images not found: {source} (expected a folder of images or a .txt list)")
    if (source / "images").is_dir():
        source = source / "images"
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    return files, source


def label_path_for(image: Path, images_root: Path, labels_dir: Path | None) -> Path:
    """The label file of ``image``: under ``labels_dir`` mirroring ``images_root``, else images -> labels swap."""
    if labels_dir is not None:
        return (labels_dir / image.relative_to(images_root)).with_suffix(".txt")
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def yolo_to_coco_dict(
    source: str | Path | list,
    names: list[str],
    *,
    labels_dir: str | Path | None = None,
    problems: list[str] | None = None,
    unknown_classes: list[str] | None = None,
) -> tuple[dict, Path]:
    """Convert a YOLO-txt dataset to a COCO dict (boxes_xywh in pixels). Returns (dict, images folder).

    Malformed label lines are skipped and described in ``problems`` (file:line: reason) when a list is given;
    class indices outside ``names`` are kept as unknown category ids so the doctor reports them (fatal), and
    described in ``unknown_classes`` (:func:`unknown_class_text`) when a list is given.
    """
    files, root = list_images(source)
    labels_dir = Path(labels_dir) if labels_dir else None
    problems = problems if problems is not None else []
    unknown_classes = unknown_classes if unknown_classes is not None else []
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, f in enumerate(files, start=1):
        rel = f.relative_to(root).as_posix() if root != Path("/") else str(f)
        try:
            with Image.open(f) as im:
                w, h = im.size
        except Exception:  # unreadable: the doctor reports it; its labels cannot be denormalised
            images.append({"id": image_id, "file_name": rel})
            continue
        images.append({"id": image_id, "file_name": rel, "width": w, "height": h})
        lp = label_path_for(f, root, labels_dir)
        if not lp.is_file():
            continue
        for n, line in enumerate(lp.read_text(encoding="utf-8").splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                cls, vals = int(float(fields[0])), [float(v) for v in fields[1:]]
            except ValueError:
                problems.append(f"{lp}:{n}: not numbers: '{line.strip()[:60]}'")
                continue
            if len(vals) == 4:
                cx, cy, bw, bh = vals
                x1, y1 = cx - bw / 2, cy - bh / 2
            elif len(vals) >= 6 and len(vals) % 2 == 0:  # segment polygon: use its bounding box
                xs, ys = vals[0::2], vals[1::2]
                x1, y1, bw, bh = min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
            else:
                problems.append(f"{lp}:{n}: expected 'class cx cy w h', got {len(fields)} fields")
                continue
            if not 0 <= cls < len(names):
                unknown_classes.append(unknown_class_text(lp, n, cls, len(names)))
            box = [x1 * w, y1 * h, bw * w, bh * h]
            ann_id = len(annotations) + 1
            annotations.append(
                {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": cls + 1,
                    "bbox": [round(v, 3) for v in box],
                    "area": round(box[2] * box[3], 3),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}, root


def unknown_class_text(label_file: Path, line: int, cls: int, num_names: int) -> str:
    """``<label file>:<line>: class id 7 is outside the 3 names (valid ids 0..2)`` and what to do."""
    valid = f"valid ids 0..{num_names - 1}" if num_names else "no names at all"
    return (
        f"{label_file}:{line}: class id {cls} is outside the {num_names} names ({valid}); fix the label or add the "
        "missing names to --names"
    )


def yolo_to_coco(
    source: str | Path | list,
    names: list[str] | str | Path,
    out_json: str | Path,
    *,
    labels_dir: str | Path | None = None,
    exist_ok: bool = False,
) -> dict:
    """Convert a YOLO-txt dataset to a COCO JSON file at ``out_json``; returns a summary dict
    (images, annotations, images_dir, problems). ``out_json`` is never an input (the names file, a ``.txt`` image
    list) nor inside an input folder (the images, their labels) and replaces an existing file only when ``exist_ok``
    (OutputFileError, before anything is read; :class:`detector.job_files.JobFiles`).

    A class id outside ``names`` is fatal, as in :func:`check_yolo`: ``ValueError`` naming the first such label
    file, line, class id and the number of names (and how many more there are); nothing is written.
    """
    files = JobFiles(exist_ok=exist_ok)
    if not isinstance(source, list):
        files.read("--images", source)
        if Path(source).name == "images":
            files.read("the labels beside --images", Path(source).with_name("labels"), "folder")
    files.read("--names", None if isinstance(names, list) else names, "file")
    files.read("--labels", labels_dir, "folder")
    files.write_file("--out", out_json)
    files.check()
    names = names if isinstance(names, list) else read_class_names(names)
    problems: list[str] = []
    unknown: list[str] = []
    data, root = yolo_to_coco_dict(source, names, labels_dir=labels_dir, problems=problems, unknown_classes=unknown)
    if unknown:
        more = f" ({len(unknown) - 1} more label line(s) like it)" if len(unknown) > 1 else ""
        raise ValueError(unknown[0] + more)
    write_text_atomic(out_json, json.dumps(data), exist_ok=exist_ok, option="--out")
    return {
        "images": len(data["images"]),
        "annotations": len(data["annotations"]),
        "images_dir": str(root),
        "problems": problems,
    }


def _source_key(files: list[Path], root: Path, labels_dir: Path | None, names: list[str]) -> str:
    h = hashlib.sha1(("|".join(names) + str(root)).encode())
    for f in files:
        lp = label_path_for(f, root, labels_dir)
        try:
            st = os.stat(lp)
            h.update(f"{lp}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(f"{lp}:-;".encode())
    return f"yolo:{root}:{h.hexdigest()}"


def check_yolo(
    source: str | Path | list,
    names: list[str] | str | Path,
    *,
    labels_dir: str | Path | None = None,
    full: bool = False,
) -> DoctorReport:
    """Scan a YOLO-txt dataset (see :mod:`detector.data.yolo_txt`): converts it to COCO in memory (malformed label
    lines become ``bad_label_line`` findings, class indices outside ``names`` ``unknown_category``), then runs
    :func:`check_coco` on the result (not cached)."""
    names = names if isinstance(names, list) else read_class_names(names)
    problems: list[str] = []
    data, root = yolo_to_coco_dict(source, names, labels_dir=labels_dir, problems=problems)
    report = check_coco(data, root, full=full, cache=False, source_key=f"yolo:{source}")
    for p in problems:
        report.add("bad_label_line", p)
    return report


class YoloTxtDataset(CocoDetection):
    """A YOLO-txt dataset with the :class:`CocoDetection` interface (``.coco`` is built in memory for evaluation).

    Args:
        root_or_list: images folder (or a root with ``images/``), a .txt list of image paths, or a list of paths.
        names: class names, or a data yaml / names file to read them from.
        labels_dir: label folder mirroring the images folder (default: swap ``images`` -> ``labels`` in each path).
    """

    def __init__(
        self,
        root_or_list: str | Path | list,
        names: list[str] | str | Path,
        *,
        labels_dir: str | Path | None = None,
        max_background: int | None = None,
        check: bool = True,
    ) -> None:
        names = names if isinstance(names, list) else read_class_names(names)
        self.label_problems: list[str] = []
        data, root = yolo_to_coco_dict(root_or_list, names, labels_dir=labels_dir, problems=self.label_problems)
        files, _ = list_images(root_or_list)
        key = _source_key(files, root, Path(labels_dir) if labels_dir else None, names)
        super().__init__(data, root, max_background=max_background, check=check, source_key=key)
