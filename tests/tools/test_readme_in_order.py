"""The README's commands in the order a new user runs them, with other ``data.shapes`` settings in between: nothing
an earlier command wrote is lost (the synthetic set the checkpoint was trained on, the checkpoint, earlier outputs),
eval says which set it uses and warns that it evaluates at another size than the model was trained at."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from tests.tools.test_bad_inputs import run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "configs" / "shapes_tiny.yaml")
SMALL = ["data.shapes.num_train=8", "data.shapes.num_val=4", "data.shapes.img_size=64", "data.img_size=64"]
QUICK = ["train.epochs=1", "train.workers=0", "train.batch_size=4", "train.nominal_batch_size=4", "train.amp=false"]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "video" not in p.parts and not p.name.endswith(".doctor-cache.json")  # caches may change
    }


@pytest.mark.slow  # trains a model for one epoch (~10 s on 2 cores)
def test_the_readme_in_order_with_other_shapes_settings_in_between(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # the README's relative paths: data/shapes, runs/...
    best = Path("runs/shapes_tiny/weights/best.pt")
    assert run("train", [CONFIG, *SMALL, *QUICK]) == 0  # the quickstart, smaller
    shapes, weights = _digests(Path("data/shapes")), best.read_bytes()
    assert len(shapes) == 8 + 4 + 3  # images, the two JSONs and the manifest

    # another data.shapes setting: the set the checkpoint was trained on is never regenerated over
    capsys.readouterr()
    assert run("train", [CONFIG, "data.shapes.num_train=6", *SMALL[1:], *QUICK, "train.out_dir=runs/other"]) in (1, 2)
    assert "holds another shapes set (num_train 8 (asked 6))" in capsys.readouterr().err
    assert run("make_shapes", ["--out", "data/shapes", "--num-train", "5", "--size", "64"]) == 2  # nor by the tool
    assert _digests(Path("data/shapes")) == shapes

    # README, Evaluation: the config asks for the default set (800 images, 256 px)
    capsys.readouterr()
    assert run("eval", [CONFIG, "--weights", str(best), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "holds the set runs/shapes_tiny/weights/best.pt was trained on" in err
    assert "evaluating at data.img_size=256 px, but runs/shapes_tiny/weights/best.pt was trained at 64 px" in err
    assert _digests(Path("data/shapes")) == shapes and best.read_bytes() == weights

    # README, Detection demo and Export
    assert run("make_shapes", ["--out", "data/shapes", "--video-only", "--frames", "3", "--size", "64"]) == 0
    assert run("detect", ["--weights", str(best), "--source", "data/shapes/video/shapes.mp4"]) == 0
    assert run("detect", ["--weights", str(best), "--source", "data/shapes/val/images", "--save-json",
                          "predict.conf=0.4"]) == 0  # fmt: skip
    assert Path("runs/detect/exp/shapes.mp4").is_file() and Path("runs/detect/exp2/detections.json").is_file()
    if importlib.util.find_spec("onnxruntime") is not None:
        export = ["--weights", str(best), "--img-size", "256", "--out", "runs/shapes_tiny/best.onnx"]
        assert run("export", export) == 0
    assert _digests(Path("data/shapes")) == shapes and best.read_bytes() == weights
    assert len(list(Path("data/shapes/train/images").iterdir())) == 8
