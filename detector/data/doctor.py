"""Dataset doctor: find what is wrong with a COCO-format dataset before training meets it.

``check_coco(ann_file, images_dir)`` scans the annotation JSON and the image files and returns a
:class:`DoctorReport`: every kind of problem is counted, the first few are listed with file / image id /
annotation id, and the report says what the dataset will drop (``drop_image_ids``, ``drop_ann_ids``).
Only fatal findings (JSON that is not COCO, unknown category ids, not one listed image found) make ``report.fatal``
true; YOLO label lines are checked by :mod:`detector.data.label_check`, whose kinds the report lists too. An
annotation whose fields have the wrong type (``"bbox": [10, 10, "20", 20]``, a string image id) is an
``annotation_invalid`` finding, found by :func:`detector.coco_fields.annotation_problem`, the check the dataset and
the evaluator skip it by.
The scan result is cached next to the annotation file (or under ``~/.cache/cspx-yolo/doctor``), keyed on the
annotation file and every image file's size and mtime, so a large scan is paid once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from detector.coco_fields import annotation_problem, describe_annotation, is_id
from detector.data.image_io import is_truncated
from detector.data.label_check import LABEL_KINDS
from detector.output_files import write_text_atomic

CACHE_VERSION = 2  # 2: annotation_invalid findings, integer image/category ids
MAX_EXAMPLES = 5

# kind -> (fatal, what the dataset does about it)
FINDING_KINDS: dict[str, tuple[bool, str]] = {
    "not_coco": (True, "fix the JSON: it must be an object with 'images', 'annotations' and 'categories' lists"),
    "unknown_category": (True, "add the category to 'categories' or remove the annotation"),
    "no_images_found": (True, "none of the listed images is in the image folder: check the folder (--images)"),
    "duplicate_image_id": (False, "later entries dropped, the first one is kept"),
    "missing_image": (False, "image dropped"),
    "unreadable_image": (False, "image dropped (corrupt, truncated or not an image)"),
    "grayscale_image": (False, "converted to 3-channel RGB when loaded"),
    "alpha_image": (False, "alpha channel dropped when loaded"),
    "high_bit_depth_image": (False, "scaled to 8 bits when loaded"),
    "size_mismatch": (False, "the file's real size is used"),
    "annotation_unknown_image": (False, "annotation dropped"),
    "annotation_invalid": (
        False,
        "annotation dropped (a field has the wrong type: ids must be integers, bbox 4 numbers)",
    ),
    "box_out_of_bounds": (False, "box clipped to the image"),
    "box_degenerate": (False, "box dropped (zero/negative size, or outside the image)"),
    **LABEL_KINDS,  # the YOLO label line checks (detector/data/label_check.py)
}


@dataclass
class Finding:
    """One kind of problem: how many times it was seen and the first few occurrences."""

    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        return FINDING_KINDS[self.kind][0]

    @property
    def action(self) -> str:
        return FINDING_KINDS[self.kind][1]


@dataclass
class DoctorReport:
    """Result of a dataset scan. Ids refer to the COCO JSON; image dims are those of the files."""

    source: str
    images_dir: str
    num_images: int = 0
    num_annotations: int = 0
    images_found: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)
    drop_image_ids: list[int] = field(default_factory=list)
    # annotations dropped for what they hold (unknown image, degenerate box); those with fields of the wrong type
    # (annotation_invalid, their id may be no integer) are not listed: every reader skips them by the same check
    drop_ann_ids: list[int] = field(default_factory=list)
    image_sizes: dict[int, tuple[int, int]] = field(default_factory=dict)  # image id -> (h, w) of the file
    from_cache: bool = False

    def add(self, kind: str, example: str) -> None:
        f = self.findings.setdefault(kind, Finding(kind))
        f.count += 1
        if len(f.examples) < MAX_EXAMPLES:
            f.examples.append(example)

    def count(self, kind: str) -> int:
        return self.findings[kind].count if kind in self.findings else 0

    @property
    def fatal(self) -> bool:
        return any(f.fatal for f in self.findings.values())

    def summary(self) -> str:
        """Human-readable multi-line report."""
        lines = [
            f"dataset: {self.source}  images dir: {self.images_dir}",
            f"  images in json: {self.num_images}, found: {self.images_found}, annotations: {self.num_annotations}",
        ]
        if not self.findings:
            lines.append("  no problems found")
        for f in sorted(self.findings.values(), key=lambda f: (not f.fatal, f.kind)):
            tag = "FATAL" if f.fatal else "warn "
            lines.append(f"  [{tag}] {f.kind}: {f.count}  -> {f.action}")
            lines.extend(f"          {e}" for e in f.examples)
            if f.count > len(f.examples):
                lines.append(f"          ... and {f.count - len(f.examples)} more")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["image_sizes"] = {str(k): list(v) for k, v in self.image_sizes.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DoctorReport:
        d = dict(d)
        d["findings"] = {k: Finding(**v) for k, v in d["findings"].items()}
        d["image_sizes"] = {int(k): (int(v[0]), int(v[1])) for k, v in d["image_sizes"].items()}
        return cls(**d)


def _probe_image(path: Path, full: bool) -> tuple[str, tuple[int, int] | None, str]:
    """Return (status, (h, w) or None, PIL mode). status: ok | missing | unreadable:<reason>."""
    try:
        size = path.stat().st_size
    except OSError:
        return "missing", None, ""
    try:
        with open(path, "rb") as fh:
            if size <= 128:
                buf = fh.read()
            else:
                buf = fh.read(16)
                fh.seek(size - 64)
                buf += fh.read()
        if size == 0 or is_truncated(buf):
            return "unreadable:truncated or empty file", None, ""
        with Image.open(path) as im:
            w, h = im.size
            mode = im.mode
            if full:
                im.load()
    except Exception as e:  # any decoder error means the loader could not use it
        return f"unreadable:{type(e).__name__}: {e}", None, ""
    return "ok", (h, w), mode


def _cache_key(ann_key: str, images_dir: Path, file_names: list[str], full: bool) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}|{ann_key}|{images_dir.resolve()}|full={full}".encode())
    for name in file_names:
        try:
            st = os.stat(images_dir / name)
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(f"{name}:missing;".encode())
    return h.hexdigest()


def default_cache_path(ann_file: Path) -> Path:
    """``<ann dir>/<ann stem>.doctor-cache.json`` if that folder is writable, else under ``~/.cache``."""
    ann_file = Path(ann_file)
    if os.access(ann_file.parent, os.W_OK):
        return ann_file.parent / f"{ann_file.stem}.doctor-cache.json"
    digest = hashlib.sha1(str(ann_file.resolve()).encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "cspx-yolo" / "doctor" / f"{ann_file.stem}-{digest}.json"


def check_coco(
    ann: str | Path | dict,
    images_dir: str | Path,
    *,
    full: bool = False,
    cache: bool | str | Path = True,
    source_key: str | None = None,
    workers: int = 8,
) -> DoctorReport:
    """Scan a COCO dataset (annotation file path, or an already-loaded dict) against its image folder.

    ``full=True`` decodes every image (slow, finds corruption inside the file); otherwise headers and end markers
    are checked. ``cache``: True = default location, a path = that file, False = no cache. For a dict ``ann``,
    caching needs ``source_key`` (a string that changes whenever the dict would).
    """
    images_dir = Path(images_dir)
    check_paths(ann, images_dir)
    source = str(ann) if not isinstance(ann, dict) else (source_key or "<in-memory>")
    report = DoctorReport(source=source, images_dir=str(images_dir))
    data: Any = ann  # the parsed JSON: checked by _coco_structure_error before use
    if not isinstance(ann, dict):
        try:
            with open(ann, encoding="utf-8") as fh:
                data = json.load(fh)
        except json.JSONDecodeError as e:
            report.add("not_coco", f"{ann}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}")
            return report
    reason = _coco_structure_error(data)
    if reason:
        report.add("not_coco", f"{source}: {reason}")
        return report
    file_names = [str(im.get("file_name", "")) for im in data["images"]]

    cache_path: Path | None = None
    key = ""
    if cache and (not isinstance(ann, dict) or source_key):
        if isinstance(ann, dict):
            ann_key = str(source_key)
            digest = hashlib.sha1(ann_key.encode()).hexdigest()[:16]
            default = Path.home() / ".cache" / "cspx-yolo" / "doctor" / f"mem-{digest}.json"
        else:
            st = os.stat(ann)
            ann_key = f"{Path(ann).resolve()}:{st.st_size}:{st.st_mtime_ns}"
            default = default_cache_path(Path(ann))
        cache_path = default if isinstance(cache, bool) else Path(cache)
        key = _cache_key(ann_key, images_dir, file_names, full)
        if cache_path.is_file():
            try:
                cached = json.loads(cache_path.read_text())
                if cached.get("key") == key:
                    out = DoctorReport.from_dict(cached["report"])
                    out.from_cache = True
                    return out
            except (OSError, ValueError, KeyError, TypeError):
                pass  # stale or damaged cache: rescan

    _scan(data, images_dir, report, full, workers)
    if cache_path is not None and not report.fatal and _cache_or_absent(cache_path):
        with contextlib.suppress(OSError):  # read-only location: the scan simply is not cached
            write_text_atomic(cache_path, json.dumps({"key": key, "report": report.to_dict()}), fsync=False)
    return report


def check_paths(ann: str | Path | dict, images_dir: Path) -> None:
    """Raise FileNotFoundError when the annotation file or the image folder is missing, ValueError when the
    annotation file is a folder or the image folder a file (each one line naming the path)."""
    if not isinstance(ann, dict):
        if not Path(ann).exists():
            raise FileNotFoundError(f"annotation file not found: {ann}")
        if Path(ann).is_dir():
            raise ValueError(f"annotation file {ann} is a folder: give the COCO JSON file inside it")
    if not images_dir.exists():
        raise FileNotFoundError(f"image folder not found: {images_dir}")
    if not images_dir.is_dir():
        raise ValueError(f"image folder {images_dir} is a file: give the folder the JSON's file_name entries are in")


def _cache_or_absent(path: Path) -> bool:
    """True when ``path`` is missing or a doctor cache (``{"key", "report"}``): a cache replaces only a cache, never
    another file that happens to have its name (then the scan is simply not cached)."""
    if not (path.exists() or path.is_symlink()):
        return True
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"key", "report"} <= set(data)


def _coco_structure_error(data: Any) -> str:
    if not isinstance(data, dict):
        return f"top level is a {type(data).__name__}, expected an object with images/annotations/categories"
    for key in ("images", "annotations", "categories"):
        if key not in data:
            return f"missing key '{key}' (keys present: {sorted(data)[:10]})"
        if not isinstance(data[key], list):
            return f"'{key}' is a {type(data[key]).__name__}, expected a list"
    for i, im in enumerate(data["images"]):
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            return f"images[{i}] lacks 'id' or 'file_name'"
        if not isinstance(im["file_name"], str) or not im["file_name"]:
            return f"images[{i}] has 'file_name' {im['file_name']!r}: it must be a path relative to the image folder"
        if not is_id(im["id"]):
            return f"images[{i}] has 'id' {im['id']!r}: image ids must be integers"
    for i, a in enumerate(data["annotations"]):
        if not isinstance(a, dict) or not {"id", "image_id", "category_id", "bbox"} <= set(a):
            return f"annotations[{i}] lacks one of 'id', 'image_id', 'category_id', 'bbox'"
    for i, c in enumerate(data["categories"]):
        if not isinstance(c, dict) or "id" not in c:
            return f"categories[{i}] lacks 'id'"
        if not is_id(c["id"]):
            return f"categories[{i}] has 'id' {c['id']!r}: category ids must be integers"
    return ""


def _scan(data: dict, images_dir: Path, report: DoctorReport, full: bool, workers: int) -> None:
    report.num_images = len(data["images"])
    report.num_annotations = len(data["annotations"])
    cat_ids = {c["id"] for c in data["categories"]}
    seen: dict[int, str] = {}
    unique: list[dict] = []
    for im in data["images"]:
        if im["id"] in seen:
            report.add("duplicate_image_id", f"image id {im['id']}: '{im['file_name']}' (first: '{seen[im['id']]}')")
            continue
        seen[im["id"]] = im["file_name"]
        unique.append(im)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        probes = list(pool.map(lambda im: _probe_image(images_dir / im["file_name"], full), unique))
    dims: dict[int, tuple[int, int]] = {}
    for im, (status, hw, mode) in zip(unique, probes, strict=True):
        where = f"image id {im['id']} '{images_dir / im['file_name']}'"
        if status == "missing":
            report.add("missing_image", where)
            report.drop_image_ids.append(im["id"])
            continue
        if status.startswith("unreadable") or hw is None:  # hw is None exactly when the image is not usable
            report.add("unreadable_image", f"{where}: {status.split(':', 1)[1]}")
            report.drop_image_ids.append(im["id"])
            continue
        report.images_found += 1
        dims[im["id"]] = hw
        if mode in ("L", "1", "LA"):
            report.add("grayscale_image", f"{where}: mode {mode}")
        elif mode.startswith("I") or mode == "F":
            report.add("high_bit_depth_image", f"{where}: mode {mode}")
        if mode in ("RGBA", "LA", "PA"):
            report.add("alpha_image", f"{where}: mode {mode}")
        if "width" in im and "height" in im and (im["height"], im["width"]) != hw:
            report.add("size_mismatch", f"{where}: json {im['width']}x{im['height']}, file {hw[1]}x{hw[0]}")
    report.image_sizes = dims
    if unique and not dims:
        report.add("no_images_found", f"0 of {len(unique)} images found or readable in {images_dir}")

    dropped = set(report.drop_image_ids)
    for a in data["annotations"]:
        where = describe_annotation(a)
        problem = annotation_problem(a)  # the same check makes CocoDetection and the evaluator skip it
        if problem:
            report.add("annotation_invalid", f"{where}: {problem}")
            continue
        if a["category_id"] not in cat_ids:
            report.add("unknown_category", f"{where}: category_id {a['category_id']} not in {sorted(cat_ids)[:20]}")
            continue
        if a["image_id"] not in seen:
            report.add("annotation_unknown_image", where)
            report.drop_ann_ids.append(a["id"])
            continue
        if a["image_id"] in dropped:
            continue
        bbox = a["bbox"]
        x, y, w, h = (float(v) for v in bbox)
        if w <= 0 or h <= 0:
            report.add("box_degenerate", f"{where}: bbox {bbox}")
            report.drop_ann_ids.append(a["id"])
            continue
        img_h, img_w = dims[a["image_id"]]
        x1, y1, x2, y2 = max(x, 0.0), max(y, 0.0), min(x + w, img_w), min(y + h, img_h)
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            report.add("box_degenerate", f"{where}: bbox {bbox} lies outside the {img_w}x{img_h} image")
            report.drop_ann_ids.append(a["id"])
        elif (x1, y1, x2, y2) != (x, y, x + w, y + h):
            report.add("box_out_of_bounds", f"{where}: bbox {bbox} in a {img_w}x{img_h} image")
