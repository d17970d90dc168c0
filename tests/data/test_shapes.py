import contextlib
import io
import json
import zipfile

import cv2
from pycocotools.coco import COCO

from detector.data.download import download_coco
from detector.data.synthetic.shapes import CLASS_NAMES, make_shapes
from detector.data.synthetic.shapes_video import make_shapes_video


def test_shapes_dataset_is_valid_coco_and_deterministic(tmp_path):
    a = make_shapes(tmp_path / "a", num_train=8, num_val=3, img_size=64, seed=5)
    make_shapes(tmp_path / "b", num_train=8, num_val=3, img_size=64, seed=5)
    make_shapes(tmp_path / "c", num_train=8, num_val=3, img_size=64, seed=6)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(a["train_ann"])
    assert len(coco.getImgIds()) == 8 and len(coco.getAnnIds()) == a["train"]["annotations"] > 0
    assert [coco.cats[i]["name"] for i in sorted(coco.cats)] == CLASS_NAMES
    for ann in coco.dataset["annotations"]:
        x, y, w, h = ann["bbox"]
        assert x >= 0 and y >= 0 and x + w <= 64 and y + h <= 64 and w > 0 and h > 0
    assert (tmp_path / "a/val/images/000002.jpg").is_file()
    assert (tmp_path / "a/train.json").read_text() == (tmp_path / "b/train.json").read_text()
    img_a, img_b = (tmp_path / d / "train/images/000003.jpg" for d in "ab")
    assert img_a.read_bytes() == img_b.read_bytes()
    assert (tmp_path / "a/train.json").read_text() != (tmp_path / "c/train.json").read_text()


def test_shapes_video_has_frames_and_ground_truth(tmp_path):
    res = make_shapes_video(tmp_path / "v.mp4", num_frames=6, size=64, seed=0, num_objects=2)
    cap = cv2.VideoCapture(res["video"])
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 6
    gt = json.loads((tmp_path / "v.json").read_text())
    assert len(gt["frames"]) == 6 and len(gt["frames"][0]["boxes_xyxy"]) == 2
    assert gt["frames"][0]["boxes_xyxy"] != gt["frames"][5]["boxes_xyxy"]  # objects move


def test_download_coco_extracts_into_expected_layout(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with zipfile.ZipFile(src / "annotations_trainval2017.zip", "w") as zf:
        zf.writestr("annotations/instances_val2017.json", "{}")
    with zipfile.ZipFile(src / "val2017.zip", "w") as zf:
        zf.writestr("val2017/000000000139.jpg", b"jpg")
    urls = {"annotations": (src / "annotations_trainval2017.zip").as_uri(), "val2017": (src / "val2017.zip").as_uri()}
    out = tmp_path / "coco"
    status = download_coco(out, ("annotations", "val2017"), urls=urls)
    assert status == {"annotations": "downloaded", "val2017": "downloaded"}
    assert (out / "annotations/instances_val2017.json").is_file() and (out / "val2017/000000000139.jpg").is_file()
    assert not list(out.glob("*.zip"))
    assert download_coco(out, ("annotations",), urls=urls) == {"annotations": "skipped"}


def test_make_shapes_tool_video_only_writes_just_the_video(tmp_path):
    from detector.cli.make_shapes import main

    assert main(["--out", str(tmp_path), "--video-only", "--frames", "4", "--size", "64"]) == 0
    assert (tmp_path / "video" / "shapes.mp4").is_file()
    assert not (tmp_path / "train.json").exists()  # the dataset itself is not regenerated
    cap = cv2.VideoCapture(str(tmp_path / "video" / "shapes.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
