"""``detector.load(...).predict(...)``: the same detections as the engine's Predictor, every kind of source, BGR
arrays, per-call settings checked like the config, results that draw themselves."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import detector
from detector.config import predict_settings
from detector.engine.prediction.predictor import Predictor
from detector.model.checkpoint_io import load_detector
from tests.helpers import write_tiny_checkpoint


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("w") / "best.pt"
    write_tiny_checkpoint(path, num_classes=3)
    return path


@pytest.fixture(scope="module")
def model(weights: Path) -> detector.Model:
    return detector.load(weights, "predict.img_size=128", "predict.conf=0.3", device="cpu")


def _image(seed: int, h: int = 96, w: int = 120) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_load_reads_the_checkpoint_and_its_overrides(model: detector.Model, weights: Path) -> None:
    assert model.format == "pytorch" and model.path == weights and model.device == "cpu"
    assert model.names == ["cls0", "cls1", "cls2"]
    assert (model.settings.conf, model.settings.img_size, model.settings.iou) == (0.3, 128, 0.45)
    assert "classes=3" in repr(model)


def test_predict_matches_the_engine_predictor_on_the_same_image(model: detector.Model, weights: Path) -> None:
    img_bgr = _image(0)
    ref_model, cfg, _ = load_detector(weights, ["predict.img_size=128", "predict.conf=0.3"])
    ref = Predictor(ref_model, predict_settings(cfg), device="cpu", fuse=True)([img_bgr[..., ::-1].copy()])[0]
    (r,) = model.predict(img_bgr)
    assert len(r) == len(ref["scores"]) > 0
    np.testing.assert_allclose(r.boxes_xyxy, ref["boxes_xyxy"].numpy(), atol=1e-3)
    np.testing.assert_allclose(r.scores, ref["scores"].numpy(), atol=1e-5)
    np.testing.assert_array_equal(r.class_ids, ref["labels"].numpy())
    assert r.boxes_xyxy.shape == (len(r), 4) and r.boxes_xyxy.dtype == np.float32 and r.class_ids.dtype == np.int64
    assert (r.boxes_xyxy[:, [0, 2]] <= 120).all() and (r.boxes_xyxy[:, [1, 3]] <= 96).all()  # image pixels
    assert r.labels == [model.names[c] for c in r.class_ids] and r.path is None
    np.testing.assert_array_equal(r.image, img_bgr)


def test_bgr_false_reads_rgb_arrays(model: detector.Model) -> None:
    img_bgr = _image(1)
    a = model.predict(img_bgr)[0]
    b = model.predict(np.ascontiguousarray(img_bgr[..., ::-1]), bgr=False)[0]
    np.testing.assert_allclose(a.boxes_xyxy, b.boxes_xyxy)
    np.testing.assert_array_equal(a.image, b.image)  # kept in BGR either way


def test_paths_folders_globs_and_lists(model: detector.Model, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), _image(i))
    (folder / "notes.txt").write_text("not an image")
    from_folder = model.predict(folder)
    assert [Path(r.path).name for r in from_folder] == ["0.png", "1.png", "2.png"]
    assert [r.index for r in from_folder] == [0, 1, 2]
    assert len(model.predict(str(folder / "*.png"))) == 3
    mixed = model.predict([folder / "1.png", _image(1)])
    np.testing.assert_allclose(mixed[0].boxes_xyxy, mixed[1].boxes_xyxy)  # PNG is lossless: the same pixels
    np.testing.assert_allclose(mixed[0].boxes_xyxy, from_folder[1].boxes_xyxy)
    assert next(model.predict_iter(folder)).path == from_folder[0].path


def test_a_video_gives_one_result_per_frame(model: detector.Model, tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (120, 96))
    for i in range(3):
        writer.write(_image(i))
    writer.release()
    frames = list(model.predict_iter(path))
    assert [r.index for r in frames] == [0, 1, 2] and all(r.path == str(path) for r in frames)
    assert frames[0].image.shape == (96, 120, 3)


def test_settings_apply_to_one_call_and_are_checked(model: detector.Model) -> None:
    img = _image(2)
    default = model.predict(img)[0]
    strict = model.predict(img, conf=0.9)[0]
    assert len(strict) < len(default) and (strict.scores >= 0.9).all()
    assert len(model.predict(img, max_det=2)[0]) == 2
    assert model.settings.conf == 0.3 and len(model.predict(img)[0]) == len(default)  # nothing stuck
    with pytest.raises(ValueError, match=r"unknown key 'predict.cnf'; did you mean 'predict.conf'"):
        model.predict(img, cnf=0.5)
    with pytest.raises(ValueError, match=r"'predict.conf' must be in \[0, 1\], got 2"):
        model.predict(img, conf=2)
    with pytest.raises(ValueError, match="predict.img_size"):
        model.predict(img, img_size=100)  # not a multiple of 32
    with pytest.raises(ValueError, match="precision is set when the model is loaded"):
        model.predict(img, half=True)


def test_img_size_changes_the_letterbox(model: detector.Model) -> None:
    img = _image(3)
    assert not np.array_equal(model.predict(img, img_size=64)[0].scores, model.predict(img)[0].scores)


def test_bad_sources_are_named(model: detector.Model, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"expected a BGR uint8 \[H, W, 3\] array, got float64"):
        model.predict(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match=r"expected a RGB uint8 \[H, W, 3\] array, got uint8 \[8, 8\]"):
        model.predict(np.zeros((8, 8), np.uint8), bgr=False)
    with pytest.raises(ValueError, match="no such file or folder"):
        model.predict(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="expected a path, a numpy image or a list of them, got int"):
        model.predict(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source item 1: expected a path or a numpy image, got dict"):
        model.predict([_image(0), {}])  # type: ignore[list-item]


def test_plot_draws_the_boxes_on_a_copy(model: detector.Model) -> None:
    img = np.full((96, 120, 3), 127, np.uint8)
    r = model.predict(img, max_det=3)[0]
    drawn = r.plot()
    assert drawn.shape == img.shape and drawn.dtype == np.uint8
    assert (drawn != img).any(axis=2).sum() > 50 and (r.image == 127).all()
    rows = r.to_list()
    assert len(rows) == 3 and set(rows[0]) == {"box_xyxy", "score", "class_id", "name"}
    assert rows[0]["name"] == model.names[rows[0]["class_id"]]


def test_missing_weights_and_bad_overrides(tmp_path: Path, weights: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        detector.load(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="did you mean 'predict.conf'"):
        detector.load(weights, "predict.cnf=0.3")


def test_torch_state_is_left_alone(model: detector.Model) -> None:
    """Predicting does not switch torch's grad mode or thread settings behind the caller's back."""
    threads = torch.get_num_threads()
    model.predict(_image(4))
    assert torch.is_grad_enabled() and torch.get_num_threads() == threads
