"""One check of YOLO label lines: every reader (dataset, check_dataset, yolo2coco) skips, counts and refuses the same
lines, and yolo2coco's JSON is strict (no NaN, no negative sizes)."""

import json
import math

import cv2
import numpy as np
import pytest

from detector.data import DatasetError, DatasetWarning
from detector.data.label_check import LabelBox, LabelIssue, check_line
from detector.data.yolo_txt import YoloTxtDataset, check_yolo, read_class_names, yolo_to_coco

GOOD = "1 0.5 0.5 0.25 0.5"
BAD_LINES = {  # line -> the kind every reader skips it as
    "0 nan 0.5 0.2 0.2": "label_not_finite",
    "0 0.5 inf 0.2 0.2": "label_not_finite",
    "0 0.5 0.5 -0.2 0.2": "label_degenerate",
    "0 0.5 0.5 0.2 0": "label_degenerate",
    "0 1.5 0.5 0.2 0.2": "label_centre_outside",
    "0 0.5 -0.1 0.2 0.2": "label_centre_outside",
    "zero 0.5 0.5 0.2 0.2": "bad_label_line",
    "0 0.5 0.5 0.2": "bad_label_line",
    "1.5 0.5 0.5 0.2 0.2": "bad_label_line",
}


def test_check_line_returns_the_box_or_the_kind() -> None:
    box = check_line(GOOD, "a.txt:1")
    assert box == LabelBox(1, 0.375, 0.25, 0.25, 0.5)
    assert check_line("   ", "a.txt:2") is None
    poly = check_line("2 0.1 0.1 0.3 0.1 0.3 0.5", "a.txt:3")  # a polygon: its bounding box
    assert isinstance(poly, LabelBox) and poly.cls == 2
    assert (poly.x1, poly.y1) == pytest.approx((0.1, 0.1)) and (poly.w, poly.h) == pytest.approx((0.2, 0.4))
    for line, kind in BAD_LINES.items():
        issue = check_line(line, "a.txt:4")
        assert isinstance(issue, LabelIssue) and issue.kind == kind, line
        assert issue.text.startswith("a.txt:4: ")
    assert check_line("7 0.5 0.5 0.2 0.2", "a.txt:5") == LabelBox(7, 0.4, 0.4, 0.2, 0.2)  # range: the caller's


@pytest.fixture
def yolo_set(tmp_path):
    """One 64x32 image whose label file holds one good line and every bad one."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((32, 64, 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("\n".join([GOOD, *BAD_LINES]) + "\n")
    (tmp_path / "names.txt").write_text("cat\ndog\n")
    return tmp_path


def _expected_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in BAD_LINES.values():
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_every_reader_skips_and_counts_the_same_lines(yolo_set) -> None:
    expected = _expected_counts()
    report = check_yolo(yolo_set / "images", yolo_set / "names.txt")
    assert not report.fatal
    assert {k: report.count(k) for k in expected} == expected
    with pytest.warns(DatasetWarning, match=r"skipped 9 label line\(s\) \(label_not_finite: 2"):
        ds = YoloTxtDataset(yolo_set / "images", yolo_set / "names.txt")
    _, boxes, labels, _ = ds.load_item(0)
    assert labels.tolist() == [1] and boxes.tolist() == [[24.0, 8.0, 40.0, 24.0]]
    res = yolo_to_coco(yolo_set / "images", yolo_set / "names.txt", yolo_set / "out.json")
    assert res["skipped"] == expected and res["annotations"] == 1
    data = json.loads((yolo_set / "out.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert [a["bbox"] for a in data["annotations"]] == [[24.0, 8.0, 16.0, 16.0]]
    assert all(a["area"] > 0 and all(math.isfinite(v) for v in a["bbox"]) for a in data["annotations"])


def test_a_class_id_out_of_range_is_fatal_in_every_reader(yolo_set) -> None:
    (yolo_set / "labels" / "a.txt").write_text(GOOD + "\n2 0.5 0.5 0.2 0.2\n")
    assert check_yolo(yolo_set / "images", yolo_set / "names.txt").count("unknown_category") == 1
    with pytest.raises(DatasetError, match="unknown_category: 1"):
        YoloTxtDataset(yolo_set / "images", yolo_set / "names.txt")
    with pytest.raises(ValueError, match=r"a.txt:2: class id 2 is outside the 2 names \(valid ids 0..1\)"):
        yolo_to_coco(yolo_set / "images", yolo_set / "names.txt", yolo_set / "out.json")
    assert not (yolo_set / "out.json").exists()


def test_a_names_yaml_that_does_not_parse_names_the_line(tmp_path) -> None:
    bad = tmp_path / "data.yaml"
    bad.write_text("names:\n  - cat\n  - [dog\n")
    with pytest.raises(ValueError, match=r"data.yaml: not valid YAML at line 4, column 1: ") as e:
        read_class_names(bad)
    assert "\n" not in str(e.value)
    coco = tmp_path / "train.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(ValueError, match=r"train.json is a COCO JSON, not a class names file"):
        read_class_names(coco)
