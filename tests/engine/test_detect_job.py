"""The detection run as a library call: outputs, counts, the run-folder rule, errors; and the shared helpers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detector.device import select_device
from detector.engine.jobs.detect import DetectError, DetectOptions, NoImagesError, run_detection
from detector.engine.prediction.outputs import summary_text, yolo_lines
from detector.engine.prediction.sources import Source, glob_root
from detector.engine.run_folder import next_free_folder
from tests.helpers import write_tiny_checkpoint


def test_yolo_lines_and_summary_values():
    det = {
        "boxes_xyxy": torch.tensor([[10.0, 20.0, 30.0, 60.0]]),
        "scores": torch.tensor([0.5]),
        "labels": torch.tensor([2]),
        "names": ["dog"],
    }
    # cx = 20 / 100, cy = 40 / 80, w = 20 / 100, h = 40 / 80
    assert yolo_lines(det, h=80, w=100) == ["2 0.200000 0.500000 0.200000 0.500000 0.50000"]
    assert summary_text({"names": ["cat", "dog", "cat"]}) == "2 cat, 1 dog"
    assert summary_text({"names": []}) == "no detections"


def test_next_free_folder(tmp_path: Path):
    out = tmp_path / "exp"
    assert next_free_folder(out) == out  # missing
    out.mkdir()
    assert next_free_folder(out) == out  # empty
    (out / "weights").mkdir()
    assert next_free_folder(out) == out  # only empty sub-folders (a run rejected before its first checkpoint)
    (out / "a.txt").write_text("x")
    assert next_free_folder(out) == tmp_path / "exp2"
    assert next_free_folder(out, exist_ok=True) == out
    (tmp_path / "exp2").mkdir()
    assert next_free_folder(out) == tmp_path / "exp2"  # an empty exp2 is free
    (tmp_path / "exp2" / "b.txt").write_text("x")
    assert next_free_folder(out) == tmp_path / "exp3"


def test_select_device_errors_name_the_key():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device(" CPU ") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"train\.device=tpu: unknown device"):
        select_device("tpu", "train.device")
    if not torch.cuda.is_available():
        assert select_device("auto") == torch.device("cpu")
        with pytest.raises(ValueError, match=r"--device=cuda:1 but no CUDA device"):
            select_device("cuda:1")


def test_run_detection_writes_outputs_and_counts_skips(tmp_path: Path):
    weights = tmp_path / "best.pt"
    write_tiny_checkpoint(weights)
    src = tmp_path / "imgs"
    src.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(src / "a.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    cv2.imwrite(str(src / "b.png"), rng.integers(0, 255, (64, 40, 3), np.uint8))
    (src / "c.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    opts = DetectOptions(
        weights=str(weights), source=str(src), out=str(out), save_txt=True, save_json=True,
        overrides=["predict.img_size=64", "predict.conf=0.0"],
    )  # fmt: skip
    summary = run_detection(opts)
    assert (summary.done, summary.skipped, summary.total, summary.out) == (2, 1, 3, out)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "detections.json", "labels"]
    records = json.loads((out / "detections.json").read_text())
    assert [r["image"] for r in records] == ["a.png", "b.png"]
    rows = (out / "labels" / "a.txt").read_text().splitlines()
    assert len(rows) == len(records[0]["labels"]) > 0
    values = np.array([[float(v) for v in r.split()] for r in rows])
    assert ((values[:, 1:5] >= -0.01) & (values[:, 1:5] <= 1.01)).all()  # normalised centre and size
    # a second run goes to out2: nothing is overwritten
    assert run_detection(
        DetectOptions(weights=str(weights), source=str(src), out=str(out), overrides=["predict.img_size=64"])
    ).out == (tmp_path / "out2")


def test_run_detection_errors(tmp_path: Path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.jpg").write_bytes(b"corrupt")
    with pytest.raises(DetectError, match=r"--weights .*missing\.pt"):
        run_detection(DetectOptions(weights=str(tmp_path / "missing.pt"), source=str(bad)))
    weights = tmp_path / "w.pt"
    write_tiny_checkpoint(weights)
    with pytest.raises(NoImagesError, match="no readable image"):
        run_detection(DetectOptions(weights=str(weights), source=str(bad), out=str(tmp_path / "o")))


def test_source_names_are_relative_to_the_folder_or_the_glob_prefix(tmp_path: Path):
    for sub in ("a", "b", "b/c"):
        (tmp_path / "imgs" / sub).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "imgs" / sub / "x.jpg"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "imgs" / "top.jpg"), np.zeros((8, 8, 3), np.uint8))
    glob = Source(str(tmp_path / "imgs" / "**" / "*.jpg"))
    assert glob.root == tmp_path / "imgs"
    assert sorted(f.name for f in glob) == ["a/x.jpg", "b/c/x.jpg", "b/x.jpg", "top.jpg"]
    assert [f.name for f in Source(str(tmp_path / "imgs" / "*" / "x.jpg"))] == ["a/x.jpg", "b/x.jpg"]
    assert [f.name for f in Source(str(tmp_path / "imgs" / "a"))] == ["x.jpg"]  # a folder: its direct images
    assert [f.name for f in Source(str(tmp_path / "imgs" / "b" / "c" / "x.jpg"))] == ["x.jpg"]  # a file: its name
    assert glob_root("*.jpg") == Path(".") and glob_root("d/e*/f/*.png") == Path("d")
    # a glob that climbs out of its prefix keeps the plain name instead of writing outside the output folder
    assert [f.name for f in Source(str(tmp_path / "imgs" / "*" / ".." / "top.jpg"))] == ["top.jpg", "top.jpg"]


@pytest.mark.slow  # loads a checkpoint and runs the model (~2-7 s on 2 shared cores)
def test_run_detection_keeps_same_named_images_of_a_recursive_glob_apart(tmp_path: Path):
    weights = tmp_path / "best.pt"
    write_tiny_checkpoint(weights)
    rng = np.random.default_rng(0)
    for sub in ("a", "b"):
        (tmp_path / "imgs" / sub).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "imgs" / sub / "x.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    out = tmp_path / "out"
    opts = DetectOptions(
        weights=str(weights), source=str(tmp_path / "imgs" / "**" / "*.png"), out=str(out), save_txt=True,
        save_json=True, overrides=["predict.img_size=64", "predict.conf=0.0"],
    )  # fmt: skip
    run_detection(opts)
    records = json.loads((out / "detections.json").read_text())
    assert [r["image"] for r in records] == ["a/x.png", "b/x.png"]
    assert [r["source"] for r in records] == [str(tmp_path / "imgs" / s / "x.png") for s in ("a", "b")]
    for sub, record in zip(("a", "b"), records, strict=True):
        drawn = cv2.imread(str(out / sub / "x.png"))
        assert drawn is not None and drawn.shape == (48, 64, 3)
        rows = (out / "labels" / sub / "x.txt").read_text().splitlines()
        assert len(rows) == len(record["labels"]) > 0
    assert records[0]["scores"] != records[1]["scores"]  # two images, two sets of detections
    assert not (out / "x.png").exists() and not (out / "labels" / "x.txt").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"overrides": ["predict.conf=2"]}, r"key 'predict.conf' must be in \[0, 1\], got 2"),
        ({"overrides": ["predict.iou=-1"]}, r"key 'predict.iou' must be in \[0, 1\], got -1"),
        ({"overrides": ["predict.img_size=33"]}, r"key 'predict.img_size' must be >= 32 and a multiple of 32, got 33"),
        ({"overrides": ["predict.max_det=0"]}, r"key 'predict.max_det' must be >= 1, got 0"),
        ({"overrides": ["predict.confidence=0.3"]}, r"unknown key 'predict.confidence'; did you mean 'predict.conf'"),
        ({"device": "tpu"}, r"--device=tpu: unknown device"),
        ({"device": "cuda:99"}, r"--device=cuda:99"),
    ],
)
def test_run_detection_checks_its_options_before_anything_else(tmp_path: Path, change: dict, message: str):
    opts = DetectOptions(weights=str(tmp_path / "missing.pt"), source=str(tmp_path / "missing"), **change)
    with pytest.raises(DetectError, match=message):  # before the missing source and weights are noticed
        run_detection(opts)
