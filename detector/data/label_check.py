"""The one check of a YOLO-txt label line (``class cx cy w h`` normalised, or ``class x1 y1 x2 y2 ...`` a polygon),
shared by every reader: the dataset loader (:class:`detector.data.yolo_txt.YoloTxtDataset`), ``check_dataset``
(:func:`detector.data.yolo_txt.check_yolo`) and ``yolo2coco`` (:func:`detector.data.yolo_txt.yolo_to_coco`). They
all read label files through :func:`detector.data.yolo_txt.yolo_to_coco_dict`, which calls :func:`check_line` for
every line, so each problem is counted, skipped or fatal the same way everywhere:

==========================  =====  ================================================================================
kind                        fatal  what every reader does
==========================  =====  ================================================================================
``bad_label_line``          no     line skipped: not numbers, or neither 4 box values nor an even polygon of >= 6
``label_not_finite``        no     line skipped: a value is NaN or inf
``label_degenerate``        no     line skipped: width or height zero or negative
``label_centre_outside``    no     line skipped: the box centre lies outside the image (outside [0, 1])
``unknown_category``        yes    class id outside the names: the dataset cannot be used (check_dataset exit 1,
                                   yolo2coco and training exit 2), naming the file, the line and the valid ids
==========================  =====  ================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

# kind -> (fatal, what every reader does); the dataset doctor lists them with its own kinds
LABEL_KINDS: dict[str, tuple[bool, str]] = {
    "bad_label_line": (False, "YOLO label line skipped (not 'class cx cy w h' numbers)"),
    "label_not_finite": (False, "YOLO label line skipped (NaN or inf)"),
    "label_degenerate": (False, "YOLO label line skipped (zero or negative width/height)"),
    "label_centre_outside": (False, "YOLO label line skipped (box centre outside the image)"),
}


@dataclass(frozen=True)
class LabelBox:
    """A usable label line: 0-based class id and the box ``(x1, y1, w, h)`` as fractions of the image side."""

    cls: int
    x1: float
    y1: float
    w: float
    h: float


@dataclass(frozen=True)
class LabelIssue:
    """A label line that is skipped (``kind`` one of :data:`LABEL_KINDS`): ``text`` is ``file:line: reason``."""

    kind: str
    text: str


def unknown_class_text(label_file: Path, line: int, cls: int, num_names: int) -> str:
    """``<label file>:<line>: class id 7 is outside the 3 names (valid ids 0..2)`` and what to do."""
    valid = f"valid ids 0..{num_names - 1}" if num_names else "no names at all"
    return (
        f"{label_file}:{line}: class id {cls} is outside the {num_names} names ({valid}); fix the label or add the "
        "missing names to --names"
    )


def check_line(text: str, where: str) -> LabelBox | LabelIssue | None:
    """Check one label line; ``where`` is ``file:line`` for the message. Returns None for a blank line, a
    :class:`LabelIssue` for a line to skip, else the :class:`LabelBox` (whose class id the caller checks against the
    names: out of range is fatal, :func:`unknown_class_text`)."""
    fields = text.split()
    if not fields:
        return None
    try:
        values = [float(v) for v in fields]
    except ValueError:
        return LabelIssue("bad_label_line", f"{where}: not numbers: '{text.strip()[:60]}'")
    cls_value, vals = values[0], values[1:]
    if not all(math.isfinite(v) for v in values):
        return LabelIssue("label_not_finite", f"{where}: NaN or inf: '{text.strip()[:60]}'")
    if not cls_value.is_integer():
        return LabelIssue("bad_label_line", f"{where}: class id {fields[0]} is not an integer")
    if len(vals) == 4:
        cx, cy, w, h = vals
    elif len(vals) >= 6 and len(vals) % 2 == 0:  # segment polygon: its bounding box
        xs, ys = vals[0::2], vals[1::2]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        cx, cy = min(xs) + w / 2, min(ys) + h / 2
    else:
        return LabelIssue("bad_label_line", f"{where}: expected 'class cx cy w h', got {len(fields)} fields")
    if w <= 0 or h <= 0:
        return LabelIssue("label_degenerate", f"{where}: width {w:g}, height {h:g}: a box needs both > 0")
    if not (0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0):
        return LabelIssue("label_centre_outside", f"{where}: centre ({cx:g}, {cy:g}) lies outside the image [0, 1]")
    return LabelBox(int(cls_value), cx - w / 2, cy - h / 2, w, h)


__all__ = ["LABEL_KINDS", "LabelBox", "LabelIssue", "check_line", "unknown_class_text"]
