"""COCO 2017 download into the layout configs expect: ``<out>/{train2017,val2017,annotations/instances_*.json}``."""

from __future__ import annotations

import shutil
import urllib.request
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

COCO_URLS = {
    "train2017": "http://images.cocodataset.org/zips/train2017.zip",  # 18 GB, 118k images
    "val2017": "http://images.cocodataset.org/zips/val2017.zip",  # 1 GB, 5k images
    "annotations": "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",  # 241 MB
}
DONE_MARKERS = {
    "train2017": "train2017",
    "val2017": "val2017",
    "annotations": "annotations/instances_val2017.json",
}


def download_file(url: str, dest: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Download ``url`` to ``dest`` via a ``.part`` file (renamed when complete); resumes nothing, overwrites."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url) as r, open(part, "wb") as fh:  # noqa: S310 (fixed https/http URLs)
        total, done = int(r.headers.get("Content-Length") or 0), 0
        while chunk := r.read(1 << 20):
            fh.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    part.replace(dest)
    return dest


def extract_zip(zip_path: Path, out_dir: Path) -> None:
    """Extract ``zip_path`` into ``out_dir``; raises RuntimeError (the download failed: exit status 1) naming the
    file when it is not a valid zip."""
    if not zipfile.is_zipfile(zip_path):
        raise RuntimeError(f"{zip_path} is not a valid zip (interrupted download?); delete it and run again")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(out_dir)


def download_coco(
    out_dir: str | Path = "data/coco",
    parts: tuple[str, ...] = ("annotations", "val2017", "train2017"),
    *,
    keep_zips: bool = False,
    urls: dict[str, str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, str]:
    """Download and extract COCO 2017 ``parts`` into ``out_dir``; parts already extracted are skipped.

    ``urls`` overrides the official URLs (tests use file:// URLs). Returns {part: "skipped" | "downloaded"}.
    """
    out = Path(out_dir)
    urls = {**COCO_URLS, **(urls or {})}
    status = {}
    for part in parts:
        if part not in COCO_URLS:
            raise ValueError(f"unknown COCO part {part!r}; choose from {sorted(COCO_URLS)}")
        if (out / DONE_MARKERS[part]).exists():
            status[part] = "skipped"
            continue
        zip_path = out / Path(urls[part]).name
        if not (zip_path.exists() and zipfile.is_zipfile(zip_path)):  # reuse a complete zip
            try:
                download_file(urls[part], zip_path, partial(progress, part) if progress else None)
            except OSError as e:  # network or disk, during the work: exit status 1
                raise RuntimeError(f"download of {urls[part]} failed: {e}") from e
        extract_zip(zip_path, out)
        if not keep_zips:
            zip_path.unlink()
        status[part] = "downloaded"
    if not keep_zips:
        shutil.rmtree(out / "__MACOSX", ignore_errors=True)
    return status
