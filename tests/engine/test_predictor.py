"""Predictor (letterbox, batching, box mapping), conv+BN fusion, input sources and detection drawing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from detector.config import PredictConfig
from detector.data.letterbox import letterbox
from detector.engine.prediction.draw import class_color, draw_detections
from detector.engine.prediction.predictor import Predictor
from detector.engine.prediction.sources import Source, SourceError
from detector.model.fuse import fuse_conv_bn
from tests.helpers import tiny_detector, tiny_model


def randomise_bn(model: nn.Module) -> None:
    """Non-trivial running statistics and affine parameters, so fusion is really tested."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


def test_fuse_conv_bn_keeps_outputs_and_removes_bn():
    model = tiny_model()
    randomise_bn(model)
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = [r.clone() for r in model(x)]
        n_bn = sum(type(m) is nn.BatchNorm2d for m in model.modules())
        fuse_conv_bn(model)
        after = model(x)
    assert n_bn > 10
    assert sum(type(m) is nn.BatchNorm2d for m in model.modules()) == 0
    for a, b in zip(before, after, strict=True):
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-4, rtol=0), (a - b).abs().max()


def test_fuse_conv_bn_sequential_and_skips_non_following_bn():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.BatchNorm2d(4))
    randomise_bn(seq)
    x = torch.rand(1, 3, 8, 8)
    ref = seq.eval()(x)
    fuse_conv_bn(seq)
    assert isinstance(seq[1], nn.Identity) and isinstance(seq[3], nn.BatchNorm2d)  # BN after ReLU is kept
    assert torch.allclose(seq(x), ref, atol=1e-5)


def test_predictor_matches_model_predict_in_original_pixels():
    model = tiny_model()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (90, 150, 3), dtype=np.uint8)
    settings = PredictConfig(conf=0.05, iou=0.5, max_det=50, img_size=64)
    pred = Predictor(model, settings, device="cpu", class_names="abc")
    out = pred([img])
    assert len(out) == 1 and set(out[0]) == {"boxes_xyxy", "scores", "labels", "names"}
    boxed, p = letterbox(img, 64, auto=True)
    assert boxed.shape == (64, 64, 3)  # 90x150 -> 38x64, rows padded up to 64
    x = torch.from_numpy(boxed).permute(2, 0, 1)[None].float() / 255
    ref = model.predict(
        x, settings, lb_params=torch.tensor([[p.scale, p.pad_x, p.pad_y]]), orig_sizes=torch.tensor([[90, 150]])
    )[0]
    got = out[0]
    assert len(ref["boxes_xyxy"]) > 0
    assert torch.allclose(got["boxes_xyxy"], ref["boxes_xyxy"], atol=1e-3)
    assert torch.allclose(got["scores"], ref["scores"], atol=1e-5)
    assert torch.equal(got["labels"], ref["labels"])
    assert got["names"] == ["abc"[i] for i in got["labels"].tolist()]
    b = got["boxes_xyxy"]
    assert (b[:, 0] >= 0).all() and (b[:, 2] <= 150).all() and (b[:, 1] >= 0).all() and (b[:, 3] <= 90).all()
    assert set(pred.timing) == {"pre", "infer", "post"} and all(v >= 0 for v in pred.timing.values())


def test_preprocess_rect_batch_pads_bottom_right_and_keeps_params():
    model = tiny_model()
    imgs = [np.full((40, 100, 3), 7, np.uint8), np.full((100, 50, 3), 9, np.uint8)]
    pred = Predictor(model, PredictConfig(img_size=64), device="cpu")
    x, lb, sizes = pred.preprocess(imgs)
    assert x.dtype == torch.uint8 and tuple(x.shape) == (2, 3, 64, 64)
    for i, img in enumerate(imgs):
        _, p = letterbox(img, 64, auto=True)
        assert lb[i].tolist() == pytest.approx([p.scale, p.pad_x, p.pad_y])
    assert sizes.tolist() == [[40, 100], [100, 50]]
    assert int(x[0, 0, 63, 0]) == 114  # padding below the first (wide) image's 32-row letterbox
    square = Predictor(model, PredictConfig(img_size=96, letterbox="square"), device="cpu").preprocess(imgs[:1])[0]
    assert tuple(square.shape) == (1, 3, 96, 96)


def test_predictor_rejects_bad_inputs():
    model = tiny_model()
    with pytest.raises(ValueError, match="multiple of 32"):
        Predictor(model, PredictConfig(img_size=100), device="cpu")
    pred = Predictor(model, PredictConfig(img_size=64), device="cpu")
    with pytest.raises(ValueError, match="image 0: expected an RGB uint8"):
        pred([np.zeros((10, 10), np.uint8)])


def _write_video(path: Path, n: int, size=(64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), i * 20, np.uint8))
    writer.release()


def test_source_folder_skips_unreadable_and_glob(tmp_path: Path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "c.png"), np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("x")
    frames = list(Source(str(tmp_path)))
    assert [Path(f.path).name for f in frames] == ["a.jpg", "b.jpg", "c.png"]
    assert frames[0].image.shape == (20, 30, 3) and frames[1].image is None and "b.jpg" in frames[1].error
    assert len(Source(str(tmp_path / "*.png"))) == 1


def test_source_errors_name_the_source(tmp_path: Path):
    with pytest.raises(SourceError, match="missing.jpg.*no such file"):
        Source(str(tmp_path / "missing.jpg"))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xffgarbage")
    with pytest.raises(SourceError, match="bad.jpg"):
        Source(str(bad))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="broken.mp4"):
        Source(str(broken))
    with pytest.raises(SourceError, match="no image files"):
        Source(str(tmp_path / "*.bmp"))


def test_source_video_frames_in_rgb(tmp_path: Path):
    path = tmp_path / "v.mp4"
    _write_video(path, 5)
    src = Source(str(path))
    assert src.kind == "video" and len(src) == 5 and src.fps == pytest.approx(10)
    frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    with pytest.raises(SourceError, match=r"v\.mp4' was already read to its end"):
        next(iter(src))  # the capture was released at the end of the first pass


def test_draw_detections_colours_are_stable_and_input_untouched():
    img = np.zeros((60, 80, 3), np.uint8)
    out = draw_detections(img, torch.tensor([[10.0, 20.0, 50.0, 55.0]]), torch.tensor([3]), None, ["a", "b", "c", "d"])
    assert img.max() == 0 and out.shape == img.shape and out.dtype == np.uint8
    assert tuple(out[40, 10]) == class_color(3)  # left edge of the box, RGB
    out_bgr = draw_detections(img, [[10, 20, 50, 55]], [3], [0.9], bgr=True)
    assert tuple(out_bgr[40, 10]) == class_color(3, bgr=True) == class_color(3)[::-1]
    assert class_color(3) != class_color(4) and class_color(3) == class_color(23)
    with pytest.raises(ValueError, match="1 boxes but 2 labels"):
        draw_detections(img, [[0, 0, 5, 5]], [0, 1])


def test_predictor_runs_channels_last_on_the_cpu_too():
    predictor = Predictor(tiny_detector(), PredictConfig(img_size=64), device="cpu", fuse=True)
    weight = predictor.model.backbone.stages[0][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and weight.shape[1] == 3
    assert not Predictor(tiny_detector(), PredictConfig(img_size=64), device="cpu", channels_last=False).channels_last
