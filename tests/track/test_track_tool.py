"""tools/detect.py --track end to end on a small generated video, the Tracker API, and the bad inputs of item 6."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.cli.detect import main as detect_main
from detector.cli.exit_codes import EXIT_OK, EXIT_USAGE
from detector.config import TrackConfig
from detector.data.synthetic.shapes_video import make_shapes_video
from detector.engine.jobs.detect import DetectOptions, build_predictor
from detector.engine.prediction.sources import Source
from detector.engine.prediction.tracking import Tracker
from detector.track.mot_files import read_mot
from tests.helpers import write_tiny_checkpoint


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    write_tiny_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "shapes.mp4"
    make_shapes_video(path, num_frames=10, size=64, seed=0, num_objects=3)
    return path


@pytest.mark.slow  # runs a video through the detector twice
def test_track_writes_ids_mot_rows_counts_and_matches_the_tracker_api(tmp_path, weights, video, capsys) -> None:
    out = tmp_path / "run"
    args = ["--weights", str(weights), "--source", str(video), "--img-size", "64", "--out", str(out), "--track",
            "--count-line", "0,32,64,32", "track.high_thresh=0.3", "track.new_track_thresh=0.3"]  # fmt: skip
    assert detect_main(args) == EXIT_OK
    doc = json.loads((out / "tracks.json").read_text())
    assert [f["frame"] for f in doc["frames"]] == list(range(10))
    assert doc["tracker"]["high_thresh"] == 0.3 and doc["counts"]["line"] == [0.0, 32.0, 64.0, 32.0]
    rows = read_mot(out / "tracks.txt")
    assert len(rows) == sum(len(f["ids"]) for f in doc["frames"]) > 0
    for f in doc["frames"]:
        ids, boxes = rows.frame(f["frame"] + 1)
        assert ids.tolist() == f["ids"]
        np.testing.assert_allclose(boxes, np.array(f["boxes_xyxy"]).reshape(-1, 4), atol=0.02)
    cap = cv2.VideoCapture(str(out / "shapes.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    # the Python API: the same IDs from Tracker fed by the Predictor
    predictor = build_predictor(
        DetectOptions(weights=str(weights), source=str(video), overrides=["predict.img_size=64"])
    )
    cfg = TrackConfig(high_thresh=0.3, new_track_thresh=0.3)
    tracker = Tracker(predictor, cfg)
    assert predictor.settings.conf == cfg.low_thresh  # the low-score boxes reach the tracker
    for frame, rec in zip(Source(str(video)), doc["frames"], strict=True):
        assert tracker(frame.image, frame.index).ids.tolist() == rec["ids"]


@pytest.mark.parametrize(
    ("kind", "extra", "fragment"),
    [
        ("image", [], "is a single image"),
        ("glob", [], "is a glob"),
        ("video", ["--count-line", "0,10,90,10"], "(90,10) is outside the 64x64 frame"),
        ("video", ["--count-line", "5,5,5,5"], "zero length; give two different end points inside the 64x64 frame"),
        ("video", ["track.low_thresh=0.7"], "track.low_thresh=0.7 is above track.high_thresh=0.5"),
        ("video", ["track.buffer=-1"], "track.buffer"),
    ],
)
def test_bad_tracking_inputs_exit_2_with_one_line(tmp_path, weights, video, capsys, kind, extra, fragment) -> None:
    if kind == "video":
        source = str(video)
    else:
        folder = tmp_path / "frames"
        folder.mkdir()
        for i in range(2):
            cv2.imwrite(str(folder / f"{i:03d}.jpg"), np.zeros((32, 32, 3), np.uint8))
        source = str(folder / "000.jpg") if kind == "image" else str(folder / "*.jpg")
    args = ["--weights", str(weights), "--source", source, "--out", str(tmp_path / "o"), "--track", *extra]
    assert detect_main(args) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "o").exists()


def test_frames_out_of_numeric_order_are_rejected(tmp_path, weights, capsys) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(folder / f"frame_{i}.jpg"), np.zeros((32, 32, 3), np.uint8))
    args = ["--weights", str(weights), "--source", str(folder), "--out", str(tmp_path / "o"), "--track"]
    assert detect_main(args) == EXIT_USAGE
    assert "frame_10.jpg comes before a lower number" in capsys.readouterr().err


@pytest.mark.slow  # runs a video through the detector
def test_benchmark_track_reports_both_timings(tmp_path, weights, video, capsys) -> None:
    from detector.cli.benchmark import main as bench_main

    args = ["track", "--weights", str(weights), "--source", str(video), "--frames", "4", "--repeats", "1",
            "predict.img_size=64", "--json", str(tmp_path / "t.json")]  # fmt: skip
    assert bench_main(args) == EXIT_OK
    r = json.loads((tmp_path / "t.json").read_text())
    assert r["frames"] == 4 and r["img_size"] == 64 and r["detect_ms"] > 0 and r["tracker_ms"] > 0
    assert r["detect_track_ms"] >= r["tracker_ms"] and "detect --track" in capsys.readouterr().out


def test_a_conf_given_with_track_is_named_as_unused(weights, video, tmp_path, caplog) -> None:
    from detector.engine.jobs.track_run import track_config

    with caplog.at_level("WARNING", logger="detector"):
        cfg = track_config(str(weights), ["predict.conf=0.4", "track.low_thresh=0.2"])
    assert cfg.low_thresh == 0.2
    assert "predict.conf=0.4 is not used with --track" in caplog.text and "track.low_thresh=0.2" in caplog.text


def test_detect_track_reads_the_checkpoint_once(weights, video, tmp_path, monkeypatch) -> None:
    import detector.engine.jobs.track_run as track_run
    import detector.model.checkpoint_io as checkpoint_io

    reads: list[str] = []

    def counted(path, *args, **kwargs):
        reads.append(str(path))
        return real(path, *args, **kwargs)

    real = checkpoint_io.load_checkpoint
    monkeypatch.setattr(checkpoint_io, "load_checkpoint", counted)
    monkeypatch.setattr(track_run, "load_checkpoint", counted)
    args = ["--weights", str(weights), "--source", str(video), "--img-size", "64", "--out", str(tmp_path / "run"),
            "--track", "--no-save", "track.buffer=7"]  # fmt: skip
    assert detect_main(args) == EXIT_OK
    assert reads == [str(weights)]  # the model and its track section come from one read
    assert json.loads((tmp_path / "run" / "tracks.json").read_text())["tracker"]["buffer"] == 7
