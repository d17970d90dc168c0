"""tools/detect.py end to end: image folders and videos, saved files, detections equal to model.predict, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detector.cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from detector.config import PredictConfig
from detector.data.letterbox import letterbox
from tests.helpers import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]
DETECT = ROOT / "tools" / "detect.py"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    return path, write_tiny_checkpoint(path)


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, str(DETECT), *args], capture_output=True, text=True, timeout=240, env=env, cwd=ROOT
    )


def _reference(model: torch.nn.Module, img_rgb: np.ndarray, conf: float) -> dict:
    boxed, p = letterbox(img_rgb, 64, auto=True)
    x = torch.from_numpy(boxed).permute(2, 0, 1)[None].float() / 255
    lb = torch.tensor([[p.scale, p.pad_x, p.pad_y]])
    sizes = torch.tensor([img_rgb.shape[:2]])
    return model.predict(x, PredictConfig(conf=conf), lb_params=lb, orig_sizes=sizes)[0]


def _assert_same(record: dict, ref: dict) -> None:
    got_boxes = np.array(record["boxes_xyxy"], dtype=np.float32).reshape(-1, 4)
    got_scores, got_labels = np.array(record["scores"]), np.array(record["labels"])
    assert len(got_boxes) == len(ref["boxes_xyxy"])
    for box, score, label in zip(ref["boxes_xyxy"].numpy(), ref["scores"].numpy(), ref["labels"].numpy(), strict=True):
        close = (np.abs(got_boxes - box).max(1) < 0.02) & (np.abs(got_scores - score) < 1e-3) & (got_labels == label)
        assert close.any(), f"no saved detection matches {box} {score} {label}"
    assert record["class_names"] == [f"cls{i}" for i in record["labels"]]


@pytest.mark.slow  # subprocesses
def test_detect_folder_saves_images_json_txt_and_matches_predict(tmp_path: Path, ckpt):
    weights, model = ckpt
    src = tmp_path / "imgs"
    src.mkdir()
    rng = np.random.default_rng(0)
    imgs = {"a.jpg": rng.integers(0, 255, (50, 80, 3), np.uint8), "c.png": rng.integers(0, 255, (90, 40, 3), np.uint8)}
    for name, img in imgs.items():
        cv2.imwrite(str(src / name), img[:, :, ::-1])
    (src / "b.jpg").write_bytes(b"corrupt")
    out = tmp_path / "out"
    proc = _run("--weights", str(weights), "--source", str(src), "--img-size", "64", "--conf", "0.2", "--out", str(out),
                "--save-json", "--save-txt", "--show", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "b.jpg" in proc.stderr and "skipped 1 unreadable image(s) of 3" in proc.stderr
    assert "no display" in proc.stderr
    assert "infer" in proc.stdout and "FPS" in proc.stdout
    records = json.loads((out / "detections.json").read_text())
    assert [r["image"] for r in records] == ["a.jpg", "c.png"]
    assert sum(len(r["labels"]) for r in records) > 5
    for r in records:
        saved = cv2.imread(str(out / r["image"]))
        assert saved.shape == imgs[r["image"]].shape
        img = cv2.cvtColor(cv2.imread(str(src / r["image"])), cv2.COLOR_BGR2RGB)  # decoded as the tool does
        _assert_same(r, _reference(model, img, 0.2))
        rows = (out / "labels" / (Path(r["image"]).stem + ".txt")).read_text().splitlines()
        assert len(rows) == len(r["labels"]) and all(len(row.split()) == 6 for row in rows)
    # a second run into the same --out goes to out2
    proc = _run("--weights", str(weights), "--source", str(src / "a.jpg"), "--img-size", "64", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out2" / "a.jpg").exists()


@pytest.mark.slow  # a subprocess
def test_detect_video_frame_count_and_detections(tmp_path: Path, ckpt):
    weights, model = ckpt
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (96, 64))
    rng = np.random.default_rng(1)
    for _ in range(6):
        writer.write(rng.integers(0, 255, (64, 96, 3), np.uint8))
    writer.release()
    out = tmp_path / "vout"
    proc = _run("--weights", str(weights), "--source", str(video), "--img-size", "64", "--conf", "0.2",
                "--out", str(out), "--save-json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cap = cv2.VideoCapture(str(out / "clip.mp4"))
    n_out, frames_in = 0, []
    while cap.read()[0]:
        n_out += 1
    cap.release()
    assert n_out == 6
    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    while ok:
        frames_in.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        ok, frame = cap.read()
    cap.release()
    records = json.loads((out / "detections.json").read_text())
    assert [r["frame"] for r in records] == list(range(6))
    assert sum(len(r["labels"]) for r in records) > 5
    for r, img in zip(records, frames_in, strict=True):
        _assert_same(r, _reference(model, img, 0.2))


def _detect_main():
    from detector.cli.detect import main

    return main


def test_detect_bad_sources_exit_with_clear_errors(tmp_path: Path, ckpt, capsys):
    weights, _ = ckpt
    main = _detect_main()
    base = ["--weights", str(weights), "--img-size", "64", "--out", str(tmp_path / "o")]
    assert main([*base, "--source", str(tmp_path / "nope.jpg")]) == EXIT_USAGE
    assert "nope.jpg" in capsys.readouterr().err
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 64)
    assert main([*base, "--source", str(tmp_path / "broken.mp4")]) == EXIT_USAGE
    assert "broken.mp4" in capsys.readouterr().err
    bad_dir = tmp_path / "only_bad"
    bad_dir.mkdir()
    (bad_dir / "x.jpg").write_bytes(b"corrupt")
    assert main([*base, "--source", str(bad_dir)]) == EXIT_FAILED  # started, found nothing to detect on
    assert "no readable image" in capsys.readouterr().err
    assert main(["--weights", str(tmp_path / "missing.pt"), "--source", str(bad_dir)]) == EXIT_USAGE
    assert "missing.pt" in capsys.readouterr().err


def test_unreadable_weights_are_one_line_not_a_traceback(tmp_path: Path, ckpt, capsys):
    weights, _ = ckpt
    main = _detect_main()
    random_bytes = tmp_path / "random.pt"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    (tmp_path / "a.jpg").write_bytes(cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes())
    for bad, reason in ((random_bytes, "not a PyTorch checkpoint"), (truncated, "truncated or damaged")):
        assert main(["--weights", str(bad), "--source", str(tmp_path / "a.jpg"), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and reason in err and str(bad) in err
