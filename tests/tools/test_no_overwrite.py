"""No tool overwrites a file the user gave or already has without --exist-ok (detector/output_files.py).

One row per case: the tool, a builder that lays out the inputs under ``tmp_path`` and returns the arguments and the
files that must survive byte for byte, the exit status and the fragments of the one-line error.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import make_gt, make_predictions, write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]
Build = Callable[[Path], tuple[list[str], list[Path]]]  # tmp_path -> (argv, protected files)


def run(tool: str, argv: list[str]) -> int:
    return importlib.import_module(f"detector.cli.{tool}").main(argv)


def _file(path: Path, data: bytes = b"user data, must survive") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((48, 64, 3), 90, np.uint8))
    return path


def _ckpt(path: Path) -> Path:
    write_tiny_checkpoint(path)
    return path


def _user_dataset(root: Path) -> list[Path]:
    """A user's COCO split and image where a generator would write its own."""
    return [_file(root / "train.json", b'{"images": []}'), _image(root / "train" / "images" / "000000.jpg")]


def _yolo_set(root: Path) -> tuple[Path, Path]:
    """One image with one YOLO label and a data.yaml: (images folder, data.yaml)."""
    _image(root / "images" / "a.jpg")
    _file(root / "labels" / "a.txt", b"0 0.5 0.5 0.2 0.2\n")
    return root / "images", _file(root / "data.yaml", b"names: [thing]\n")


def _gt_pred(tmp: Path) -> tuple[Path, Path]:
    gt = make_gt(3, num_images=4)
    return _file(tmp / "gt.json", json.dumps(gt).encode()), _file(
        tmp / "pred.json", json.dumps(make_predictions(gt, 3, crowded_image=False)).encode()
    )


# The checks come before the checkpoint is read: a placeholder file stands for the weights where nothing is exported.
def export_same_as_weights(t: Path):
    w = _file(t / "v.pt", b"a checkpoint")
    return ["--weights", str(w), "--img-size", "64", "--out", str(w)], [w]


def export_torchscript_over_a_file(t: Path):
    w, other = _file(t / "v.pt", b"a checkpoint"), _file(t / "other.pt")
    return ["--weights", str(w), "--format", "torchscript", "--img-size", "64", "--out", str(other)], [other, w]


def export_default_path_taken(t: Path, checkpoint: bool = False):
    w = _ckpt(t / "v.pt") if checkpoint else _file(t / "v.pt", b"a checkpoint")
    first = _file(t / "v.onnx", b"first export")
    return ["--weights", str(w), "--img-size", "64"], [first, w]


def export_raw_after_a_normal_export(t: Path):
    w, first = _file(t / "best.pt", b"a checkpoint"), _file(t / "best.onnx", b"decoded export")
    return ["--weights", str(w), "--img-size", "64", "--raw", "--out", str(first)], [first]


def shapes_over_user_data(t: Path):
    return ["--out", str(t / "d"), "--num-train", "1", "--num-val", "1", "--size", "64"], _user_dataset(t / "d")


def heldout_over_user_data(t: Path):
    argv = ["--style", "heldout_a", "--out", str(t / "d"), "--num-train", "1", "--num-val", "1", "--img-size", "64"]
    return argv, _user_dataset(t / "d")


def video_over_a_user_video(t: Path):
    return ["--out", str(t / "d"), "--video-only", "--frames", "2", "--size", "64"], [_file(t / "d/video/shapes.mp4")]


def video_with_a_set_over_a_user_video(t: Path):
    """The video is checked before the set is written: nothing is generated."""
    argv = ["--out", str(t / "d"), "--video", "--num-train", "1", "--num-val", "1", "--size", "64"]
    return argv, [_file(t / "d/video/shapes.json", b'{"mine": 1}')]


def darknet_out_is_the_weights(t: Path):
    cfg, weights = _file(t / "a.cfg", b"[net]\n"), _file(t / "a.weights", b"\0" * 20)
    return ["--cfg", str(cfg), "--weights", str(weights), "--out", str(weights)], [weights, cfg]


def darknet_out_exists(t: Path):
    cfg, weights, out = _file(t / "a.cfg", b"[net]\n"), _file(t / "a.weights", b"\0" * 20), _file(t / "a.pt")
    return ["--cfg", str(cfg), "--weights", str(weights), "--out", str(out)], [out]


def darknet_reverse_cfg_exists(t: Path):
    ckpt, cfg = _file(t / "x.pt", b"a checkpoint"), _file(t / "y.cfg", b"[net]\n# an unrelated cfg\n")
    return ["--checkpoint", str(ckpt), "--out", str(t / "y.weights")], [cfg]


def darknet_reverse_out_cfg_exists(t: Path):
    ckpt, cfg = _file(t / "x.pt", b"a checkpoint"), _file(t / "other.cfg", b"[net]\n")
    return ["--checkpoint", str(ckpt), "--out", str(t / "y.weights"), "--out-cfg", str(cfg)], [cfg]


def yolo2coco_out_is_the_names(t: Path):
    images, names = _yolo_set(t / "set")
    return ["--images", str(images), "--names", str(names), "--out", str(names)], [names]


def yolo2coco_out_exists(t: Path):
    images, names = _yolo_set(t / "set")
    out = _file(t / "val.json", b'{"earlier": true}')
    return ["--images", str(images), "--names", str(names), "--out", str(out)], [out]


def eval_json_exists(t: Path):
    gt, pred = _gt_pred(t)
    out = _file(t / "metrics.json", b'{"AP": 0.5}')
    return ["--gt", str(gt), "--pred", str(pred), "--json", str(out), "--out", str(t / "run")], [out]


def eval_json_is_the_predictions(t: Path):
    gt, pred = _gt_pred(t)
    return ["--gt", str(gt), "--pred", str(pred), "--json", str(pred), "--out", str(t / "run"), "--exist-ok"], [pred]


def benchmark_json_exists(t: Path):
    out = _file(t / "bench.json", b'{"earlier": true}')
    return ["eval", "--images", "5", "--json", str(out)], [out]


def benchmark_formats_work_holds_an_earlier_export(t: Path):
    earlier = _file(t / "work" / "onnx.onnx", b"an earlier export")
    config, w = str(ROOT / "configs" / "shapes_tiny.yaml"), _file(t / "w.pt", b"a checkpoint")
    return ["formats", config, "--weights", str(w), "--work", str(t / "work"), "--formats", "onnx"], [earlier]


def benchmark_suite_out_taken(t: Path):
    earlier = _file(t / "bench" / "suite.json", b'{"steps": {}}')
    config = str(ROOT / "configs" / "shapes_tiny.yaml")
    return ["suite", config, "--device", "cpu", "--out", str(t / "bench"), "--steps", "backbone"], [earlier]


def detect_out_is_the_source_images_folder(t: Path):
    """A single image as --source, its folder as --out: the annotated image would replace it."""
    w, img = _file(t / "w.pt", b"a checkpoint"), _image(t / "imgs" / "a.jpg")  # refused before the model loads
    argv = ["--weights", str(w), "--source", str(img), "--out", str(t / "imgs"), "--exist-ok", "--img-size", "64"]
    return argv, [img]


@dataclass
class Case:
    tool: str
    build: Build
    fragments: tuple[str, ...]  # in the one error line (besides the protected file's name)
    code: int = 2
    absent: tuple[str, ...] = ()  # paths under tmp_path that the refused run must not have written
    slow: bool = False  # builds and loads a model first


EXISTS = ("already exists", "--exist-ok")
SAME = ("same file", "never replaces an input")
CASES = {
    "export: --out is --weights": Case("export", export_same_as_weights, ("--out", "--weights", *SAME)),
    "export: torchscript over a file": Case("export", export_torchscript_over_a_file, ("--out", *EXISTS)),
    "export: default path taken": Case("export", export_default_path_taken, ("--out (default", *EXISTS)),
    "export: --raw after a normal export": Case("export", export_raw_after_a_normal_export, ("--out", *EXISTS)),
    "make_shapes: user data": Case("make_shapes", shapes_over_user_data, ("not a generated shapes set", "--exist-ok")),
    "make_shapes: heldout over user data": Case(
        "make_shapes", heldout_over_user_data, ("not a generated held-out set", "heldout_meta.json", "--exist-ok")
    ),
    "make_shapes: --video-only over a video": Case("make_shapes", video_over_a_user_video, ("video file", *EXISTS)),
    "make_shapes: --video over a foreign json": Case(
        "make_shapes", video_with_a_set_over_a_user_video, ("video file", *EXISTS), absent=("d/train.json",)
    ),
    "convert_darknet: --out is --weights": Case(
        "convert_darknet", darknet_out_is_the_weights, ("--out", "--weights", *SAME)
    ),
    "convert_darknet: --out exists": Case("convert_darknet", darknet_out_exists, ("--out", *EXISTS)),
    "convert_darknet: the .cfg beside --out exists": Case(
        "convert_darknet", darknet_reverse_cfg_exists, ("the .cfg beside --out", "--out-cfg", *EXISTS)
    ),
    "convert_darknet: --out-cfg exists": Case(
        "convert_darknet", darknet_reverse_out_cfg_exists, ("--out-cfg", *EXISTS)
    ),
    "yolo2coco: --out is --names": Case("yolo2coco", yolo2coco_out_is_the_names, ("--out", "--names", *SAME)),
    "yolo2coco: --out exists": Case("yolo2coco", yolo2coco_out_exists, ("--out", *EXISTS)),
    "eval: --json exists": Case("eval", eval_json_exists, ("--json", *EXISTS)),
    "eval: --json is --pred": Case("eval", eval_json_is_the_predictions, ("--json", "--pred", *SAME)),
    "benchmark: --json exists": Case("benchmark", benchmark_json_exists, ("--json", *EXISTS)),
    "benchmark: formats --work holds an earlier export": Case(
        "benchmark", benchmark_formats_work_holds_an_earlier_export, ("--work", *EXISTS)
    ),
    "benchmark: suite --out taken": Case("benchmark", benchmark_suite_out_taken, ("earlier suite", *EXISTS)),
    "detect: --out is the --source image's folder": Case(
        "detect", detect_out_is_the_source_images_folder, ("--out", "--source", *SAME)
    ),
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.slow) if c.slow else c for c in CASES.values()], ids=CASES.keys()
)
def test_refuses_with_one_line_and_leaves_the_file_alone(case: Case, tmp_path: Path, capsys):
    argv, protected = case.build(tmp_path)
    before = {p: p.read_bytes() for p in protected}
    assert run(case.tool, argv) == case.code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    for fragment in (*case.fragments, protected[0].name):
        assert fragment in lines[0], (fragment, lines[0])
    assert {p: p.read_bytes() for p in protected} == before
    assert not [p for p in tmp_path.rglob(".*tmp-*")]  # no temporary file left behind
    assert not [a for a in case.absent if (tmp_path / a).exists()]


# --exist-ok replaces (where that is cheap): case -> how the replacement shows
REPLACED: dict[str, Callable[[Path], bool]] = {
    "yolo2coco: --out exists": lambda out: len(json.loads(out.read_text())["images"]) == 1,
    "make_shapes: user data": lambda ann: len(json.loads(ann.read_text())["images"]) == 1,
    "make_shapes: --video-only over a video": lambda mp4: mp4.stat().st_size > 1000,
    "eval: --json exists": lambda out: "AP" in json.loads(out.read_text()) and "per_class" in out.read_text(),
    "export: default path taken": lambda onnx: onnx.read_bytes() != b"first export" and onnx.stat().st_size > 1000,
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n.startswith("export") else n for n in REPLACED]
)
def test_exist_ok_replaces_the_file(name: str, tmp_path: Path):
    case = CASES[name]
    exporting = case.tool == "export"
    argv, protected = export_default_path_taken(tmp_path, checkpoint=True) if exporting else case.build(tmp_path)
    extra = ["--no-check"] if exporting else []
    assert run(case.tool, [*argv, "--exist-ok", *extra]) == 0
    assert REPLACED[name](protected[0])
    assert not [p for p in tmp_path.rglob(".*tmp-*")]


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("style", ["shapes", "heldout_a"])
def test_regenerating_over_our_own_set_leaves_no_stale_file(style: str, tmp_path: Path):
    out = tmp_path / "d"
    base = ["--style", style, "--out", str(out), "--size", "64"]
    assert run("make_shapes", [*base, "--num-train", "3", "--num-val", "2"]) == 0
    (out / "notes.txt").write_text("the user's own notes")  # not a generator file: kept
    assert run("make_shapes", [*base, "--num-train", "1", "--num-val", "1"]) == 2  # another set: --exist-ok only
    assert len(list((out / "train" / "images").iterdir())) == 3
    assert run("make_shapes", [*base, "--num-train", "1", "--num-val", "1", "--exist-ok"]) == 0
    expected = ["train/images/000000.jpg", "train.json", "val/images/000000.jpg", "val.json", "notes.txt"]
    if style == "shapes":
        expected.append("shapes_meta.json")
    else:
        expected += ["train/labels/000000.txt", "val/labels/000000.txt", "data.yaml", "heldout_meta.json"]
    assert _listing(out) == sorted(expected)
    assert (out / "notes.txt").read_text() == "the user's own notes"


def test_the_demo_video_is_regenerated_beside_our_set_and_over_itself(tmp_path: Path):
    out = tmp_path / "d"
    video = ["--out", str(out), "--video-only", "--frames", "2", "--size", "64"]
    assert run("make_shapes", video) == 0  # an own video alone does not make the folder foreign
    assert run("make_shapes", ["--out", str(out), "--num-train", "1", "--num-val", "1", "--size", "64"]) == 0
    assert run("make_shapes", [*video[:-4], "--frames", "3", "--size", "64"]) == 0  # over its own earlier video
    assert len(json.loads((out / "video" / "shapes.json").read_text())["frames"]) == 3
