"""Boxes are decoded in float32 even under bf16 autocast (validation during mixed-precision training)."""

import pytest
import torch

from detector.config import PredictConfig
from detector.model.postprocess import postprocess
from tests.helpers import tiny_detector


def _bf16_raw_maps(model, size: int) -> list[torch.Tensor]:
    """Raw maps of the model's shapes at ``size`` px, random logits (std 3, as a trained head gives) in bf16."""
    with torch.no_grad():
        shapes = [r.shape for r in model.forward_raw(torch.zeros(2, 3, size, size))]
    return [(torch.randn(s) * 3).to(torch.bfloat16) for s in shapes]


@pytest.mark.parametrize("head", ["yolov4", "decoupled"])
def test_decode_under_bf16_autocast_equals_fp32_decode(head):
    torch.manual_seed(0)
    model = tiny_detector(num_classes=3, head=head).eval()
    raw = _bf16_raw_maps(model, 640)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        decoded = model.head.decode(raw)
    with torch.no_grad():
        reference = model.head.decode([r.float() for r in raw])  # the same logits, decoded without autocast
    assert decoded.dtype == torch.float32
    torch.testing.assert_close(decoded, reference, rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("head", ["yolov4", "decoupled"])
def test_predict_under_bf16_autocast_gives_the_fp32_boxes(head, monkeypatch):
    torch.manual_seed(0)
    model = tiny_detector(num_classes=3, head=head).eval()
    raw = _bf16_raw_maps(model, 512)
    monkeypatch.setattr(model, "forward_raw", lambda images: raw)
    images = torch.zeros(2, 3, 512, 512)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        dets = model.predict(images, PredictConfig(conf=0.05, iou=0.6, max_det=100))
    with torch.no_grad():
        ref = postprocess(
            model.head.decode([r.float() for r in raw]),
            PredictConfig(conf=0.05, iou=0.6, max_det=100),
            input_hw=(512, 512),
        )
    for got, want in zip(dets, ref, strict=True):
        assert got["boxes_xyxy"].dtype == torch.float32 and len(got["scores"]) == len(want["scores"]) > 0
        torch.testing.assert_close(got["boxes_xyxy"], want["boxes_xyxy"], rtol=0, atol=0)
        torch.testing.assert_close(got["scores"], want["scores"], rtol=0, atol=0)
