"""Bad data inputs, one row per case (issue "Trust III", items 2, 6 and 7): each row builds its inputs in a fresh
folder, runs the tool's ``main(argv)`` in-process and checks the exit status, a fragment of the output, and that every
file the row protects keeps its bytes (and the paths it says must not appear do not)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detector.data.synthetic.shapes import make_shapes
from tests.helpers import tiny_config, write_coco, write_tiny_checkpoint
from tests.tools.test_bad_inputs import run

Built = tuple[list[str], list[Path]]  # argv (the tool's arguments), files whose bytes must not change


@dataclass
class Row:
    tool: str
    build: Callable[[Path], Built]
    code: int | tuple[int, ...]  # the exit status (a tuple: any of them)
    fragment: str
    absent: tuple[str, ...] = field(default=())  # paths (relative to the row's folder) that must not exist after


# a dataset or checkpoint rejected before training: 2 in the exit-code table (detector/cli/exit_codes.py)
TRAIN_REJECTED = 2


def _earlier_set_and_user_image(tmp: Path, num_train: int) -> Built:
    """An earlier shapes set of 8 + 2 images in ``d`` and a user's own ``train/images/000010.jpg`` in it."""
    make_shapes(tmp / "d", num_train=num_train, num_val=2, img_size=64, seed=0)
    user = tmp / "d" / "train" / "images" / "000010.jpg"
    cv2.imwrite(str(user), np.full((40, 40, 3), 200, np.uint8))
    argv = ["--out", f"{tmp}/d/./", "--num-train", "12", "--num-val", "2", "--size", "64"]
    return argv, [user, tmp / "d" / "train.json", tmp / "d" / "shapes_meta.json"]


def _nan_checkpoint(tmp: Path, name: str = "nan.pt") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tiny_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    name = next(k for k, v in ckpt["model"].items() if v.is_floating_point())
    ckpt["model"][name] = torch.full_like(ckpt["model"][name], float("nan"))
    torch.save(ckpt, path)
    return path


def _yolo(tmp: Path, labels: str, names: str = "cat\ndog\n", names_file: str = "names.txt") -> tuple[Path, Path]:
    (tmp / "images").mkdir()
    (tmp / "labels").mkdir()
    cv2.imwrite(str(tmp / "images" / "a.png"), np.zeros((32, 48, 3), np.uint8))
    (tmp / "labels" / "a.txt").write_text(labels)
    (tmp / names_file).write_text(names)
    return tmp / "images", tmp / names_file


def _coco_set(tmp: Path, *, boxes: bool = True, images_in_folder: bool = True) -> tuple[Path, Path]:
    img_dir = tmp / "imgs"
    img_dir.mkdir()
    images = [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 64} for i in (1, 2)]
    for im in images if images_in_folder else []:
        cv2.imwrite(str(img_dir / im["file_name"]), np.full((64, 64, 3), 90, np.uint8))
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [8, 8, 20, 20], "area": 400, "iscrowd": 0}]
    return write_coco(tmp, images, anns if boxes else [], [{"id": 1, "name": "thing"}]), img_dir


def _split(ann: Path, images: Path) -> dict[str, str]:
    return {"ann": str(ann), "images": str(images)}


def _train(tmp: Path, data: dict | None) -> Built:
    """A tiny 1-epoch run's config reading ``data`` (None: the generated shapes set)."""
    cfg = tiny_config(
        tmp / "c.yaml", tmp / "run", tmp / "shapes", data=None if data is None else {"shapes": None, **data}
    )
    return [str(cfg), "train.epochs=1"], [cfg]


NAMES_YAML_SYNTAX_ERROR = "names:\n  - cat\n  - [dog\n"

ROWS = {
    # item 2: generated data never replaces data
    "make_shapes over another set and a user's image": Row(
        "make_shapes",
        lambda t: _earlier_set_and_user_image(t, 8),
        2,
        "holds another generated shapes set (num_train 8 (asked 12))",
    ),
    "make_shapes over its own set with a user's image of a generated name": Row(
        "make_shapes",
        lambda t: _earlier_set_and_user_image(t, 12),
        2,
        "train/images/000010.jpg would be overwritten but is not a file of the earlier shapes set",
    ),
    # item 7: sizes whose images do not fit in memory
    "make_shapes --size 300000": Row(
        "make_shapes",
        lambda t: (["--out", f"{t}/big", "--size", "300000"], []),
        2,
        "--size 300000: one image",
        ("big",),
    ),
    "make_shapes --video-only --size 300000": Row(
        "make_shapes",
        lambda t: (["--out", f"{t}/big", "--video-only", "--size", "300000"], []),
        2,
        "--size 300000 (video): one image needs about",
        ("big",),
    ),
    "make_shapes heldout --size 300000": Row(
        "make_shapes",
        lambda t: (["--style", "heldout_a", "--out", f"{t}/big", "--size", "300000"], []),
        2,
        "--img-size 300000: one image needs about",
        ("big",),
    ),
    "train, data.shapes.img_size=300000": Row(
        "train",
        lambda t: ([*_train(t, None)[0], "data.shapes.img_size=300000"], []),
        TRAIN_REJECTED,
        "data.shapes.img_size 300000: one image needs about",
        ("shapes", "run/weights"),
    ),
    # item 6: one label check, check_dataset's inputs
    "check_dataset --images a file": Row(
        "check_dataset",
        lambda t: (lambda a, i: (["--ann", str(a), "--images", str(a)], [a]))(*_coco_set(t)),
        2,
        "is a file: give a folder",
    ),
    "check_dataset --images the wrong folder": Row(
        "check_dataset",
        lambda t: (lambda a, i: (["--ann", str(a), "--images", str(t), "--no-cache"], [a]))(*_coco_set(t)),
        1,
        "[FATAL] no_images_found: 1",
    ),
    "check_dataset --yolo an empty folder": Row(
        "check_dataset",
        lambda t: (lambda i, n: (["--yolo", str(t / "labels"), "--names", str(n)], [n]))(*_yolo(t, "")),
        1,
        "[FATAL] no_images_found: 1",
    ),
    "check_dataset --yolo a file": Row(
        "check_dataset",
        lambda t: (lambda i, n: (["--yolo", str(i / "a.png"), "--names", str(n)], [n]))(*_yolo(t, "")),
        2,
        "is a file but not a .txt list of images",
    ),
    "check_dataset --ann a folder": Row(
        "check_dataset",
        lambda t: (lambda a, i: (["--ann", str(t), "--images", str(i)], [a]))(*_coco_set(t)),
        2,
        "is a folder: give a file",
    ),
    "check_dataset --yolo, names yaml with a syntax error": Row(
        "check_dataset",
        lambda t: (lambda i, n: (["--yolo", str(i), "--names", str(n)], [n]))(
            *_yolo(t, "0 0.5 0.5 0.2 0.2\n", NAMES_YAML_SYNTAX_ERROR, "data.yaml")
        ),
        2,
        "data.yaml: not valid YAML at line 4, column 1",
    ),
    "yolo2coco, names yaml with a syntax error": Row(
        "yolo2coco",
        lambda t: (lambda i, n: (["--images", str(i), "--names", str(n), "--out", f"{t}/o.json"], [n]))(
            *_yolo(t, "0 0.5 0.5 0.2 0.2\n", NAMES_YAML_SYNTAX_ERROR, "data.yaml")
        ),
        2,
        "data.yaml: not valid YAML at line 4, column 1",
        ("o.json",),
    ),
    "yolo2coco, NaN, negative width, centre outside": Row(
        "yolo2coco",
        lambda t: (lambda i, n: (["--images", str(i), "--names", str(n), "--out", f"{t}/o.json"], [n]))(
            *_yolo(t, "0 0.5 0.5 0.2 0.2\n1 nan 0.5 0.2 0.2\n1 0.5 0.5 -0.2 0.2\n0 1.4 0.5 0.2 0.2\n")
        ),
        0,
        "skipped 3 label line(s) (label_not_finite: 1, label_degenerate: 1, label_centre_outside: 1)",
    ),
    # item 6: the train split
    "train, an empty data.train.images folder": Row(
        "train",
        lambda t: _train(t, {"train": _split(*_coco_set(t, images_in_folder=False))}),
        TRAIN_REJECTED,
        "no_images_found",
        ("run/weights",),
    ),
    "train, 0 boxes": Row(
        "train",
        lambda t: _train(t, {"train": _split(*_coco_set(t, boxes=False))}),
        TRAIN_REJECTED,
        "has 0 boxes in its 2 images: nothing to learn",
        ("run/weights",),
    ),
    "train, data.format=yolo with a COCO JSON": Row(
        "train",
        lambda t: _train(t, {"format": "yolo", "train": _split(*_coco_set(t))}),
        TRAIN_REJECTED,
        "is a COCO JSON but data.format is yolo; set data.format=coco",
        ("run/weights",),
    ),
    # item 6: NaN/inf weights refused at load by every tool
    "detect, NaN weights": Row(
        "detect",
        lambda t: (["--weights", str(_nan_checkpoint(t)), "--source", str(_coco_set(t)[1]), "--out", f"{t}/det"], []),
        2,
        "the weights hold NaN or inf ('model' tensor backbone.",
        ("det",),
    ),
    "export, NaN weights": Row(
        "export",
        lambda t: (["--weights", str(_nan_checkpoint(t)), "--out", f"{t}/m.onnx"], []),
        2,
        "the weights hold NaN or inf",
        ("m.onnx",),
    ),
    "eval, NaN weights": Row(
        "eval",
        lambda t: (
            lambda a, i: (
                [
                    str(_train(t, {})[0][0]),
                    f"data.val.ann={a}",
                    f"data.val.images={i}",
                    "--weights",
                    str(_nan_checkpoint(t)),
                    "--out",
                    f"{t}/ev",
                ],
                [],
            )
        )(*_coco_set(t)),
        2,
        "the weights hold NaN or inf",
    ),  # fmt: skip
    "train --resume, NaN weights": Row(
        "train",
        lambda t: ([*_train(t, None)[0], "--resume", str(_nan_checkpoint(t, "old/weights/last.pt"))], []),
        TRAIN_REJECTED,
        "the weights hold NaN or inf",
    ),
    "train train.weights= (fine-tune), NaN weights": Row(
        "train",
        lambda t: ([*_train(t, None)[0], f"train.weights={_nan_checkpoint(t)}"], []),
        TRAIN_REJECTED,
        "the weights hold NaN or inf",
        ("run/weights/last.pt",),
    ),
    # item 7: output suffixes match what is written
    "convert_darknet, a checkpoint under a .weights name": Row(
        "convert_darknet",
        lambda t: (["--cfg", f"{t}/x.cfg", "--weights", f"{t}/x.weights", "--out", f"{t}/ck.weights"], []),
        2,
        "a detector checkpoint (torch) would be written under a .weights name; name it .pt",
        ("ck.weights",),
    ),
    "convert_darknet, darknet weights under a .pt name": Row(
        "convert_darknet",
        lambda t: (["--checkpoint", f"{t}/ck.pt", "--out", f"{t}/dk.pt"], []),
        2,
        "darknet weights would be written under a .pt name; name it .weights",
        ("dk.pt", "dk.cfg"),
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_bad_data_input(name: str, tmp_path: Path, capsys) -> None:
    row = ROWS[name]
    argv, protected = row.build(tmp_path)
    before = {p: p.read_bytes() for p in protected}
    capsys.readouterr()
    code = run(row.tool, argv)
    assert code in (row.code if isinstance(row.code, tuple) else (row.code,))
    out = capsys.readouterr()
    text = out.out + out.err
    assert row.fragment in text, text[-2000:]
    assert "Traceback" not in text
    assert {p: p.read_bytes() for p in protected} == before  # nothing the user had is changed
    assert [a for a in row.absent if (tmp_path / a).exists()] == []


def test_yolo2coco_writes_strict_json_without_negative_areas(tmp_path: Path) -> None:
    argv, _ = ROWS["yolo2coco, NaN, negative width, centre outside"].build(tmp_path)
    assert run("yolo2coco", argv) == 0
    data = json.loads((tmp_path / "o.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert [a["bbox"] for a in data["annotations"]] == [[19.2, 12.8, 9.6, 6.4]]
    assert all(a["area"] > 0 for a in data["annotations"])
