import json

import cv2
import numpy as np
import pytest

from detector.data.coco import CocoDetection, DatasetWarning
from detector.data.image_io import ImageReadError, read_image
from detector.data.yolo_txt import YoloTxtDataset, check_yolo, read_class_names, yolo_to_coco


def test_category_ids_map_to_contiguous_labels_and_back(tiny_coco):
    ds = CocoDetection(*tiny_coco)
    assert ds.cat_ids == [3, 7, 11]
    assert ds.class_names == ["car", "train", "kite"]
    assert ds.num_classes == 3
    # label = cat_ids.index(category_id); image 1's annotations have category ids 7 and 11
    img, boxes, labels, image_id = ds.load_item(0)
    assert image_id == 1 and img.shape == (48, 64, 3) and img.dtype == np.uint8
    np.testing.assert_allclose(boxes, [[10, 5, 30, 15], [0, 0, 8, 8]])  # xywh -> xyxy
    assert labels.tolist() == [1, 2]
    assert [ds.cat_ids[lab] for lab in labels] == [7, 11]  # and back: category_id = cat_ids[label]


def test_crowd_boxes_excluded_but_kept_for_eval(tiny_coco):
    ds = CocoDetection(*tiny_coco)
    i = ds.image_ids.index(3)
    _, boxes, labels, _ = ds.load_item(i)
    assert boxes.shape == (0, 4) and labels.shape == (0,)
    assert [a["iscrowd"] for a in ds.coco.loadAnns(ds.coco.getAnnIds(imgIds=[3]))] == [1]


def test_max_background_caps_images_without_boxes(tiny_coco):
    assert len(CocoDetection(*tiny_coco)) == 4
    ds = CocoDetection(*tiny_coco, max_background=1)
    assert len(ds) == 3 and {1, 2} <= set(ds.image_ids)
    assert sorted(ds.coco.getImgIds()) == sorted(ds.image_ids)
    assert len(CocoDetection(*tiny_coco, max_background=0)) == 2


def test_read_image_converts_gray_rgba_and_16bit(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    bgra = np.zeros((3, 4, 4), np.uint8)
    bgra[..., 0], bgra[..., 3] = 200, 7  # blue, alpha
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    cv2.imwrite(str(tmp_path / "d.png"), np.full((3, 4), 65535, np.uint16))
    g = read_image(tmp_path / "g.png")
    assert g.shape == (3, 4, 3) and g.dtype == np.uint8 and (g[..., 0] == gray).all()
    a = read_image(tmp_path / "a.png")
    assert a.shape == (3, 4, 3) and (a[..., 2] == 200).all() and (a[..., 0] == 0).all()  # RGB order
    assert (read_image(tmp_path / "d.png") == 255).all()
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 100)  # JPEG without end marker
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(tmp_path / "bad.jpg")


def _yolo_set(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((50, 100, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "images" / "b.png"), np.zeros((50, 100, 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.2 0.2\nbogus line\n")
    (tmp_path / "data.yaml").write_text("names: {0: cat, 1: dog}\n")
    return tmp_path


def test_yolo_dataset_matches_coco_interface(tmp_path):
    root = _yolo_set(tmp_path)
    assert read_class_names(root / "data.yaml") == ["cat", "dog"]
    ds = YoloTxtDataset(root, root / "data.yaml")
    assert ds.cat_ids == [1, 2] and ds.class_names == ["cat", "dog"] and len(ds) == 2
    img, boxes, labels, image_id = ds.load_item(0)
    assert img.shape == (50, 100, 3)
    np.testing.assert_allclose(boxes, [[40, 15, 60, 35], [0, 0, 20, 10]], atol=1e-3)
    assert labels.tolist() == [1, 0]
    assert len(ds.load_item(1)[1]) == 0  # no label file: background
    assert len(ds.label_problems) == 1 and "a.txt:3" in ds.label_problems[0]
    assert len(ds.coco.getAnnIds()) == 2


def test_a_data_yaml_with_a_repeated_key_is_refused_naming_both_lines(tmp_path):
    (tmp_path / "data.yaml").write_text("names: [cat, dog]\nnc: 2\nnames: [bird]\n")
    with pytest.raises(ValueError, match=r"data\.yaml:3: key 'names' repeated \(first at .*data\.yaml:1\)"):
        read_class_names(tmp_path / "data.yaml")


def test_yolo_to_coco_writes_valid_json(tmp_path):
    root = _yolo_set(tmp_path)
    res = yolo_to_coco(root / "images", root / "data.yaml", tmp_path / "out.json")
    assert res["images"] == 2 and res["annotations"] == 2
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["categories"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    ds = CocoDetection(tmp_path / "out.json", res["images_dir"])
    np.testing.assert_allclose(ds.load_item(0)[1][0], [40, 15, 60, 35], atol=1e-3)


def test_doctor_drops_missing_images_with_warning(tiny_coco):
    ann, img_dir = tiny_coco
    (img_dir / "2.png").unlink()
    with pytest.warns(DatasetWarning, match="missing_image: 1"):
        ds = CocoDetection(ann, img_dir)
    assert 2 not in ds.image_ids and len(ds) == 3


@pytest.mark.parametrize("cls", [7, -1, 2])
def test_yolo_to_coco_rejects_class_ids_outside_the_names(tmp_path, cls: int):
    root = _yolo_set(tmp_path)  # names: cat, dog (2 names)
    (root / "labels" / "b.txt").write_text(f"0 0.5 0.5 0.2 0.2\n{cls} 0.5 0.5 0.2 0.2\n9 0.1 0.1 0.1 0.1\n")
    out = tmp_path / "out.json"
    label = root / "labels" / "b.txt"
    with pytest.raises(ValueError) as err:
        yolo_to_coco(root / "images", root / "data.yaml", out)
    assert str(err.value) == (
        f"{label}:2: class id {cls} is outside the 2 names (valid ids 0..1); fix the label or add the missing "
        "names to --names (1 more label line(s) like it)"
    )
    assert not out.exists()  # nothing written
    report = check_yolo(root / "images", root / "data.yaml")  # the dataset doctor's verdict is the same: fatal
    assert report.fatal and report.count("unknown_category") == 2
