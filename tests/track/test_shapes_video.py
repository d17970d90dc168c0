"""The tracking ground-truth video: its properties at the defaults, and the agreement of its JSON and gt.txt."""

import json

import cv2
import numpy as np
import pytest

from detector.data.synthetic.shapes_video import make_shapes_video
from detector.track.mot_files import read_mot


def test_json_and_gt_txt_agree_and_ids_persist(tmp_path) -> None:
    res = make_shapes_video(tmp_path / "v.mp4", num_frames=12, size=64, seed=1, num_objects=3)
    doc = json.loads((tmp_path / "v.json").read_text())
    gt = read_mot(tmp_path / "gt.txt", "gt")
    assert res["mot_gt"] == str(tmp_path / "gt.txt") and len(doc["frames"]) == 12
    assert doc["frames"][0]["track_ids"] == [1, 2, 3]  # every object starts inside the frame
    for rec in doc["frames"]:
        ids, boxes = gt.frame(rec["frame"] + 1)
        assert ids.tolist() == rec["track_ids"] and boxes.tolist() == rec["boxes_xyxy"]
        assert all(0 < v <= 1 for v in rec["visibility"])
    labels = {i: lab for rec in doc["frames"] for i, lab in zip(rec["track_ids"], rec["labels"], strict=True)}
    assert all(
        labels[i] == lab for rec in doc["frames"] for i, lab in zip(rec["track_ids"], rec["labels"], strict=True)
    )
    assert (
        make_shapes_video(tmp_path / "w.mp4", num_frames=12, size=64, seed=1, num_objects=3, exist_ok=True)["stats"]
        == res["stats"]
    )


@pytest.mark.slow  # renders the 300-frame default video (~10 s)
def test_default_video_makes_tracking_hard(tmp_path) -> None:
    res = make_shapes_video(tmp_path / "shapes.mp4")
    s = res["stats"]
    assert s["frames"] >= 240 and s["max_at_once"] >= 8 and s["crossings"] >= 10 and s["reentries"] >= 4
    assert s["speed_changes"] >= 20
    cap = cv2.VideoCapture(str(tmp_path / "shapes.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == s["frames"] and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 256
    gt = read_mot(tmp_path / "gt.txt")
    per_frame = np.bincount(gt.frames)
    assert per_frame.max() == s["max_at_once"] and (per_frame[1:] >= 8).mean() > 0.5  # crowded most of the time
    assert (gt.visibility < 0.9).sum() > 50  # many partly hidden boxes
