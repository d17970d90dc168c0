"""Held-out synthetic sets: scene contract (tight visible boxes, counts, occlusion), COCO/YOLO writer, the tool."""

import dataclasses
import json

import numpy as np
import pytest
import yaml

from detector.data.synthetic.heldout_scene import STYLES, _accepts, compose_scene, get_style
from detector.data.synthetic.heldout_writer import make_heldout
from detector.data.yolo_txt import read_class_names, yolo_to_coco_dict


@pytest.mark.parametrize("style", sorted(STYLES))
def test_boxes_are_tight_around_each_objects_visible_pixels(style):
    spec = dataclasses.replace(STYLES[style], blur_sigma=(0.0, 0.0))  # no blur: drawn pixels are exact
    for i in range(6):
        scene = compose_scene(spec, 128, np.random.default_rng([3, i]))
        assert scene.image.shape == (128, 128, 3) and scene.instance_map.shape == (128, 128)
        assert len(scene.boxes_xyxy) == len(scene.labels) == len(scene.areas) == scene.instance_map.max()
        for k, (x1, y1, x2, y2) in enumerate(scene.boxes_xyxy.astype(int)):
            own = scene.instance_map == k + 1
            ys, xs = np.nonzero(own)
            assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 128
            assert scene.areas[k] == own.sum() >= spec.min_pixels * spec.min_visible
            changed = np.abs(scene.image[own].astype(int) - scene.background[own]).sum(1) > 0
            assert changed.mean() > 0.9  # the object is really painted where its box says


@pytest.mark.slow
def test_style_contracts_hold_over_many_scenes():
    a, b = get_style("heldout_a"), get_style("heldout_b")
    counts_b, labels_b = [], []
    for i in range(12):
        scene = compose_scene(b, 128, np.random.default_rng([4, i]))
        counts_b.append(len(scene.labels))
        labels_b += scene.labels.tolist()
    assert min(counts_b) >= 15 and max(counts_b) <= 40
    assert sorted(set(labels_b)) == list(range(6))
    sides = []
    for i in range(40):
        scene = compose_scene(a, 256, np.random.default_rng([5, i]))
        assert len(scene.labels) <= 8 and set(scene.labels.tolist()) <= {0, 1, 2}
        wh = scene.boxes_xyxy[:, 2:] - scene.boxes_xyxy[:, :2]
        sides += wh.max(1).tolist()
    assert min(sides) < 16 and max(sides) > 100  # the wide 8-160 px range is really used


def test_painting_that_hides_too_much_of_an_object_is_rejected():
    inst = np.zeros((10, 10), np.int16)
    inst[0:4, 0:5] = 1  # object 1: 20 visible pixels
    new = np.zeros((10, 10), np.uint8)
    new[0:4, 0:3] = 255  # would hide 12 of them (60 %)
    assert not _accepts(new, inst, visible=[20], full=[20], min_visible=0.5)
    new[:, 2] = 0  # now hides 8 (40 %)
    assert _accepts(new, inst, visible=[20], full=[20], min_visible=0.5)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    args = {"style": "heldout_b", "num_train": 3, "num_val": 2, "img_size": 96}
    make_heldout(tmp_path / "a", seed=7, **args)
    make_heldout(tmp_path / "b", seed=7, **args)
    make_heldout(tmp_path / "c", seed=8, **args)
    for rel in ("train.json", "val.json", "data.yaml", "train/images/000002.jpg", "val/labels/000001.txt"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert (tmp_path / "a/train.json").read_text() != (tmp_path / "c/train.json").read_text()


@pytest.mark.parametrize("style", sorted(STYLES))
def test_coco_and_yolo_labels_describe_the_same_boxes(tmp_path, style):
    res = make_heldout(tmp_path, style, num_train=4, num_val=2, img_size=96, seed=1)
    data_yaml = yaml.safe_load((tmp_path / "data.yaml").read_text())
    names = list(STYLES[style].class_names)
    expected = {"train": "train/images", "val": "val/images", "nc": len(names), "names": dict(enumerate(names))}
    assert data_yaml == expected
    assert read_class_names(tmp_path / "data.yaml") == names
    for split in ("train", "val"):
        coco = json.loads((tmp_path / f"{split}.json").read_text())
        assert [c["id"] for c in coco["categories"]] == list(range(1, len(names) + 1))
        from_yolo, _ = yolo_to_coco_dict(tmp_path / split / "images", names)  # the project's independent reader
        assert [im["file_name"] for im in from_yolo["images"]] == [im["file_name"] for im in coco["images"]]
        assert len(from_yolo["annotations"]) == len(coco["annotations"]) == res[split]["boxes"] > 0
        for mine, theirs in zip(coco["annotations"], from_yolo["annotations"], strict=True):
            assert (mine["image_id"], mine["category_id"]) == (theirs["image_id"], theirs["category_id"])
            np.testing.assert_allclose(mine["bbox"], theirs["bbox"], atol=1e-3)
    assert res["train"]["images"] == 4 and sum(res["train"]["per_class"].values()) == res["train"]["boxes"]


def test_bad_arguments_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match=r"unknown held-out style 'heldout_c'.*heldout_a"):
        make_heldout(tmp_path, "heldout_c")
    with pytest.raises(ValueError, match=r"img_size=32.*--img-size >= 64"):
        make_heldout(tmp_path, "heldout_a", img_size=32)


def test_make_shapes_tool_writes_a_heldout_set_and_its_statistics(tmp_path, capsys):
    from detector.cli.make_shapes import main

    out = tmp_path / "ha"
    argv = ["--style", "heldout_a", "--out", str(out), "--num-train", "3", "--num-val", "2", "--img-size", "64"]
    assert main(argv + ["--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert "train: 3 images" in printed and "val: 2 images" in printed and "objects/image mean" in printed
    meta = json.loads((out / "heldout_meta.json").read_text())
    assert meta["style"] == "heldout_a" and meta["img_size"] == 64 and meta["stats"]["val"]["images"] == 2
    assert len(list((out / "train" / "labels").glob("*.txt"))) == 3
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--video"])
    assert exc.value.code == 2 and "drop them for --style heldout_a" in capsys.readouterr().err
