"""Writing generated datasets as COCO JSON: one annotation record per box and an atomic per-split file (the files a
generator owns are listed in its manifest, :mod:`detector.data.synthetic.manifest`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detector.output_files import write_text_atomic

SPLITS = ("train", "val")


def box_annotation(ann_id: int, image_id: int, label: int, box_xyxy: Sequence[float], area: float) -> dict[str, Any]:
    """A COCO annotation for a box ``(x1, y1, x2, y2)`` in pixels; ``label`` is 0-based (category id ``label + 1``)."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": int(label) + 1,
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "area": area,
        "iscrowd": 0,
    }


def write_coco_split(
    out_dir: Path, split: str, images: list[dict], annotations: list[dict], class_names: Sequence[str], description: str
) -> dict[str, Any]:
    """Write ``out_dir/<split>.json`` (categories ``1..len(class_names)``) through a temporary file, so that the file
    exists only when complete (generators use its presence to mean "this split is done"). Returns the COCO dict."""
    data = {
        "info": {"description": description},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": k + 1, "name": n} for k, n in enumerate(class_names)],
    }
    write_text_atomic(out_dir / f"{split}.json", json.dumps(data), fsync=False)
    return data
