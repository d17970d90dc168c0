import json

import cv2
import numpy as np

from detector.cli.check_dataset import main as check_main
from detector.cli.exit_codes import EXIT_FAILED
from detector.data.doctor import check_coco
from detector.data.yolo_txt import check_yolo
from tests.helpers import write_coco


def _broken(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    cv2.imwrite(str(d / "ok.jpg"), np.zeros((40, 50, 3), np.uint8))
    cv2.imwrite(str(d / "gray.png"), np.zeros((40, 50), np.uint8))
    cv2.imwrite(str(d / "rgba.png"), np.zeros((40, 50, 4), np.uint8))
    cv2.imwrite(str(d / "deep.png"), np.zeros((40, 50), np.uint16))
    good = (d / "ok.jpg").read_bytes()
    (d / "cut.jpg").write_bytes(good[: len(good) // 2])  # truncated download
    (d / "junk.jpg").write_bytes(b"this is not an image at all, just text padding" * 3)
    names = ["ok.jpg", "gray.png", "rgba.png", "deep.png", "cut.jpg", "junk.jpg", "gone.jpg", "ok.jpg"]
    images = [{"id": i + 1, "file_name": n, "width": 50, "height": 40} for i, n in enumerate(names)]
    images[-1]["id"] = 1  # duplicated image id
    anns = [
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [40, 30, 20, 20], "iscrowd": 0},  # out of bounds
        {"id": 11, "image_id": 1, "category_id": 1, "bbox": [5, 5, 0, 10], "iscrowd": 0},  # zero width
        {"id": 12, "image_id": 2, "category_id": 1, "bbox": [5, 5, -3, 10], "iscrowd": 0},  # negative
        {"id": 13, "image_id": 2, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0},  # fine
    ]
    return write_coco(tmp_path, images, anns, [{"id": 1, "name": "thing"}]), d


def test_doctor_counts_each_finding(tmp_path):
    ann, d = _broken(tmp_path)
    r = check_coco(ann, d, cache=False)
    counts = {k: f.count for k, f in r.findings.items()}
    assert counts == {
        "duplicate_image_id": 1,
        "grayscale_image": 1,
        "high_bit_depth_image": 1,
        "alpha_image": 1,
        "unreadable_image": 2,
        "missing_image": 1,
        "box_out_of_bounds": 1,
        "box_degenerate": 2,
    }
    assert sorted(r.drop_image_ids) == [5, 6, 7] and sorted(r.drop_ann_ids) == [11, 12]
    assert not r.fatal
    assert "annotation id 10" in r.findings["box_out_of_bounds"].examples[0]
    assert any("cut.jpg" in e for e in r.findings["unreadable_image"].examples)


def test_unknown_category_and_non_coco_json_are_fatal(tmp_path, capsys):
    ann, d = _broken(tmp_path)
    data = json.loads(ann.read_text())
    data["annotations"][3]["category_id"] = 99
    ann.write_text(json.dumps(data))
    r = check_coco(ann, d, cache=False)
    assert r.fatal and r.count("unknown_category") == 1
    assert check_main(["--ann", str(ann), "--images", str(d), "--no-cache"]) == EXIT_FAILED  # found, reported
    assert "unknown_category: 1" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": []')
    r = check_coco(bad, d)
    assert r.fatal and "invalid JSON" in r.findings["not_coco"].examples[0]
    bad.write_text('{"images": [], "annotations": []}')
    assert "missing key 'categories'" in check_coco(bad, d).findings["not_coco"].examples[0]


def test_scan_is_cached_until_a_file_changes(tmp_path):
    ann, d = _broken(tmp_path)
    first = check_coco(ann, d)
    assert not first.from_cache and (tmp_path / "ann.doctor-cache.json").is_file()
    second = check_coco(ann, d)
    assert second.from_cache and second.drop_ann_ids == first.drop_ann_ids
    assert {k: f.count for k, f in second.findings.items()} == {k: f.count for k, f in first.findings.items()}
    cv2.imwrite(str(d / "gone.jpg"), np.zeros((40, 50, 3), np.uint8))  # the missing image appears
    third = check_coco(ann, d)
    assert not third.from_cache and third.count("missing_image") == 0


def test_the_cache_never_replaces_a_file_that_is_not_a_cache(tmp_path):
    ann, d = _broken(tmp_path)
    user_file = tmp_path / "ann.doctor-cache.json"
    user_file.write_text('{"my": "notes"}')
    assert not check_coco(ann, d).from_cache and not check_coco(ann, d).from_cache  # not cached, not an error
    assert user_file.read_text() == '{"my": "notes"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.doctor-cache.json", "ann.json", "imgs"]  # no temp


def test_cli_exit_zero_for_warnings_only(tmp_path, capsys):
    ann, d = _broken(tmp_path)
    assert check_main(["--ann", str(ann), "--images", str(d)]) == 0
    out = capsys.readouterr().out
    assert "missing_image: 1" in out and "image dropped" in out


def test_yolo_mode_reports_bad_lines_and_unknown_classes(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n0 0.5\n")
    r = check_yolo(tmp_path / "images", ["only"])
    assert r.count("bad_label_line") == 1 and r.count("unknown_category") == 1 and r.fatal
