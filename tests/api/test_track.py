"""``detector.load(...).track(...)``: one Result per frame in order with stable track IDs, the same tracks as the
engine's Tracker on the same frames, track.* overrides checked, sources that have no order refused."""

from pathlib import Path

import cv2
import numpy as np
import pytest

import detector
from detector.config import TrackConfig
from detector.engine.prediction.tracking import Tracker
from tests.helpers import write_tiny_checkpoint

# thresholds low enough that the random-weights model's boxes are tracked
LOW = ("track.high_thresh=0.02", "track.low_thresh=0.01", "track.new_track_thresh=0.02")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> detector.Model:
    path = tmp_path_factory.mktemp("w") / "best.pt"
    write_tiny_checkpoint(path, num_classes=3)
    return detector.load(path, "predict.img_size=64", device="cpu")


def _frames(n: int = 4) -> list[np.ndarray]:
    """``n`` BGR frames of a bright square moving right by 4 px per frame over a dark background."""
    frames = []
    for i in range(n):
        img = np.full((64, 64, 3), 30, np.uint8)
        cv2.rectangle(img, (8 + 4 * i, 20), (28 + 4 * i, 40), (240, 240, 240), -1)
        frames.append(img)
    return frames


def test_track_yields_one_result_per_frame_with_ids_like_the_engine_tracker(model: detector.Model) -> None:
    frames = _frames()
    results = list(model.track(frames, *LOW))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert sum(len(r.track_ids) for r in results if r.track_ids is not None) > 0  # something was tracked
    cfg = TrackConfig(high_thresh=0.02, low_thresh=0.01, new_track_thresh=0.02)
    engine = Tracker(model._predictor.with_settings(model.settings), cfg)
    for r, frame in zip(results, frames, strict=True):
        t = engine(np.ascontiguousarray(frame[..., ::-1]), r.index)
        assert r.track_ids is not None and r.track_ids.dtype == np.int64
        assert len(r.track_ids) == len(r.boxes_xyxy) == len(r.scores) == len(r.class_ids)
        np.testing.assert_array_equal(r.track_ids, t.ids)
        np.testing.assert_allclose(r.boxes_xyxy, t.boxes_xyxy)
        assert all(row["track_id"] >= 1 for row in r.to_list())
    assert model.settings.conf == 0.25  # tracking lowers the threshold of its own predictor only


def test_track_refuses_other_overrides_unknown_keys_and_unordered_sources(
    model: detector.Model, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"track\.\* overrides only"):
        model.track(_frames(), "predict.conf=0.3")
    with pytest.raises(ValueError, match="did you mean 'track.buffer'"):
        model.track(_frames(), "track.bufer=3")
    image = tmp_path / "one.jpg"
    cv2.imwrite(str(image), _frames(1)[0])
    with pytest.raises(ValueError, match="is a single image"):
        model.track(image)
