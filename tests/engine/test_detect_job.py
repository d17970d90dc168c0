"""The detection run as a library call: outputs, counts, the run-folder rule, errors; and the shared helpers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detector.device import select_device
from detector.engine.detect_job import DetectError, DetectOptions, NoImagesError, run_detection
from detector.engine.detect_outputs import summary_text, yolo_lines
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
        weights=str(weights), source=str(src), img_size=64, conf=0.0, out=str(out), save_txt=True, save_json=True
    )
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
    assert run_detection(DetectOptions(weights=str(weights), source=str(src), img_size=64, out=str(out))).out == (
        tmp_path / "out2"
    )


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
