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
import warnings
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from detector.config.yaml_loader import load_yaml_text
from detector.data.coco import CocoDetection, DatasetWarning
from detector.data.doctor import DoctorReport, check_coco
from detector.data.image_io import IMAGE_EXTS
from detector.data.label_check import LabelIssue, check_line, unknown_class_text
from detector.job_files import JobFiles
from detector.output_files import write_text_atomic


def read_class_names(path: str | Path) -> list[str]:
    """Class names from a data yaml (``names`` list or index->name mapping) or a names file (one per line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class names file not found: {path} (give a data yaml with 'names' or a .names/.txt)")
    text = path.read_text(encoding="utf-8")
    if looks_like_coco(path):
        raise ValueError(
            f"{path} is a COCO JSON, not a class names file: give a data yaml with 'names' or a names file (one per "
            "line), or read the COCO JSON as COCO (data.format=coco)"
        )
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = load_yaml_text(text, str(path)) or {}  # a repeated key: DuplicateKeyError
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML{_yaml_where(e)}") from None
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names, key=int)]
        if isinstance(names, list):
            return [str(n) for n in names]
        raise ValueError(f"{path}: no 'names' list or mapping found (keys: {sorted(data) if data else []})")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _yaml_where(e: yaml.YAMLError) -> str:
    """`` at line 3, column 7: <problem>`` for a YAML error (its position 1-based), or ``: <message>``."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def looks_like_coco(path: str | Path) -> bool:
    """True when ``path`` is a file holding a JSON object with COCO's ``images`` / ``annotations`` lists (read only
    when its first non-blank character is ``{``)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096).lstrip()
            if not head.startswith("{"):
                return False
            data = json.loads(head + fh.read())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("images"), list) and "annotations" in data


def list_images(source: str | Path | list) -> tuple[list[Path], Path]:
    """Image files of a folder (recursive; a root holding ``images/`` is accepted), a .txt list or a list of paths.
    Returns (sorted files, folder their ``file_name`` is relative to)."""
    if isinstance(source, (list, tuple)):
        return sorted(Path(p).resolve() for p in source), Path("/")
    source = Path(source)
    if source.is_file() and source.suffix == ".txt":
        lines = [ln.strip() for ln in source.read_text().splitlines() if ln.strip()]
        return sorted((source.parent / p).resolve() for p in lines), Path("/")
    if source.is_file():
        raise ValueError(f"YOLO images {source} is a file but not a .txt list of images: give the images folder")
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
    problems: list[LabelIssue] | None = None,
    unknown_classes: list[str] | None = None,
) -> tuple[dict, Path]:
    """Convert a YOLO-txt dataset to a COCO dict (boxes_xywh in pixels). Returns (dict, images folder).

    Every label line goes through :func:`detector.data.label_check.check_line`: the lines it rejects are skipped and
    appended to ``problems`` when a list is given; class indices outside ``names`` are kept as unknown category ids
    so the doctor reports them (fatal), and described in ``unknown_classes`` (:func:`unknown_class_text`).
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
            checked = check_line(line, f"{lp}:{n}")
            if checked is None:
                continue
            if isinstance(checked, LabelIssue):
                problems.append(checked)
                continue
            if not 0 <= checked.cls < len(names):
                unknown_classes.append(unknown_class_text(lp, n, checked.cls, len(names)))
            box = [checked.x1 * w, checked.y1 * h, checked.w * w, checked.h * h]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": checked.cls + 1,
                    "bbox": [round(v, 3) for v in box],
                    "area": round(box[2] * box[3], 3),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}, root


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

    Label lines are checked by :func:`detector.data.label_check.check_line` (skipped lines counted in ``skipped``
    and described in ``problems``); the JSON written is strict (no NaN, no negative sizes). A class id outside
    ``names`` is fatal, as in :func:`check_yolo`: ``ValueError`` naming the first such label file, line, class id
    and the number of names (and how many more there are); nothing is written.
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
    problems: list[LabelIssue] = []
    unknown: list[str] = []
    data, root = yolo_to_coco_dict(source, names, labels_dir=labels_dir, problems=problems, unknown_classes=unknown)
    if unknown:
        more = f" ({len(unknown) - 1} more label line(s) like it)" if len(unknown) > 1 else ""
        raise ValueError(unknown[0] + more)
    text = json.dumps(data, allow_nan=False)  # check_line skipped every NaN/inf: the file is strict JSON
    write_text_atomic(out_json, text, exist_ok=exist_ok, option="--out")
    return {
        "images": len(data["images"]),
        "annotations": len(data["annotations"]),
        "images_dir": str(root),
        "problems": [issue.text for issue in problems],
        "skipped": issue_counts(problems),
    }


def issue_counts(issues: list[LabelIssue]) -> dict[str, int]:
    """How many label lines were skipped for each kind (:data:`detector.data.label_check.LABEL_KINDS`)."""
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue.kind] = counts.get(issue.kind, 0) + 1
    return counts


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
    """Scan a YOLO-txt dataset (see :mod:`detector.data.yolo_txt`): converts it to COCO in memory (label lines
    :func:`detector.data.label_check.check_line` rejects become findings of their kind, class indices outside
    ``names`` ``unknown_category``), then runs :func:`check_coco` on the result (not cached)."""
    names = names if isinstance(names, list) else read_class_names(names)
    problems: list[LabelIssue] = []
    data, root = yolo_to_coco_dict(source, names, labels_dir=labels_dir, problems=problems)
    report = check_coco(data, root, full=full, cache=False, source_key=f"yolo:{source}")
    if not data["images"]:
        report.add("no_images_found", f"0 images ({', '.join(sorted(IMAGE_EXTS))}) in {source}")
    for issue in problems:
        report.add(issue.kind, issue.text)
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
        issues: list[LabelIssue] = []
        data, root = yolo_to_coco_dict(root_or_list, names, labels_dir=labels_dir, problems=issues)
        self.label_problems: list[str] = [issue.text for issue in issues]
        files, _ = list_images(root_or_list)
        key = _source_key(files, root, Path(labels_dir) if labels_dir else None, names)
        super().__init__(data, root, max_background=max_background, check=check, source_key=key)
        if issues:
            counts = ", ".join(f"{k}: {n}" for k, n in issue_counts(issues).items())
            warnings.warn(
                f"{root}: skipped {len(issues)} label line(s) ({counts}), e.g. {issues[0].text}. "
                "Run tools/check_dataset.py --yolo for the full list.",
                DatasetWarning,
                stacklevel=2,
            )
