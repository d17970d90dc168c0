import pytest
import torch

import backbones
from detector import build_model
from detector.config import PredictConfig, config_from_dict
from detector.model.summary import count_parameters, model_flops, model_summary
from tests.helpers import tiny_detector

NARROW = {"cspresnext50", "cspdarknet53"}  # builders that accept width_mult / depth_mult != 1


def _cfg(name: str = "cspresnext50", num_classes=3, **model):
    """A small config of the yolov4 family (named, not the default) with ``model`` keys added."""
    model["head"] = {"type": "yolov4", **model.get("head", {})}
    scale = {"width_mult": 0.25, "depth_mult": 0.34} if name in NARROW else {}
    data = {
        "model": {
            "backbone": {"name": name, "pretrained": False, **scale},
            "neck": {"widths": [16, 32, 64], "depth": 1},
            "num_classes": num_classes,
            **model,
        }
    }
    return config_from_dict(data)


@pytest.mark.parametrize(
    "name",
    [
        n if n in NARROW else pytest.param(n, marks=pytest.mark.slow)  # full-size builds
        for n in backbones.list_backbones()
        if not n.startswith("timm:")
    ],
)
def test_build_model_for_every_registered_backbone(name):
    torch.manual_seed(0)
    model = build_model(_cfg(name)).eval()
    assert model.neck.strides == [8, 16, 32] and model.neck.channels == [16, 32, 64]
    with torch.no_grad():
        raw = model(torch.rand(1, 3, 64, 96))
    assert [tuple(r.shape) for r in raw] == [(1, 3, 64 // s, 96 // s, 8) for s in (8, 16, 32)]


def test_num_classes_argument_overrides_and_missing_is_an_error():
    model = build_model(_cfg(num_classes=None), num_classes=5, class_names=list("abcde"))
    assert model.num_classes == 5 and model.head.num_outputs == 10 and model.class_names == list("abcde")
    assert build_model(_cfg(num_classes=4)).num_classes == 4
    with pytest.raises(ValueError, match="model.num_classes"):
        build_model(_cfg(num_classes=None))


def test_anchors_and_scale_from_config():
    anchors = [[5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    model = build_model(_cfg(head={"anchors": anchors, "scale_x_y": [2.0, 2.0, 2.0]}))
    assert model.head.anchors.shape == (3, 2, 2) and model.head.anchors[2, 1].tolist() == [15.0, 16.0]
    assert model.head.scale_x_y == [2.0, 2.0, 2.0]


def test_predict_restores_mode_and_maps_to_original_pixels():
    torch.manual_seed(0)
    model = tiny_detector()
    model.train()
    images = torch.rand(2, 3, 64, 64)
    dets = model.predict(images, PredictConfig(conf=0.0, max_det=7))
    assert model.training and not model.head.decode_in_forward
    assert len(dets) == 2 and all(d["boxes_xyxy"].shape == (7, 4) for d in dets)
    assert all(((d["boxes_xyxy"] >= 0) & (d["boxes_xyxy"] <= 64)).all() for d in dets)  # clipped to input
    lb = torch.tensor([[0.5, 0.0, 0.0], [0.25, 0.0, 16.0]])
    orig = torch.tensor([[128, 128], [128, 256]])
    mapped = model.predict(images, PredictConfig(conf=0.0, max_det=7), lb_params=lb, orig_sizes=orig)
    assert not model.head.decode_in_forward
    expected = ((dets[1]["boxes_xyxy"] - torch.tensor([0.0, 16.0, 0.0, 16.0])) / 0.25).clamp(min=0)
    expected[:, 1::2] = expected[:, 1::2].clamp(max=128)
    assert torch.allclose(mapped[1]["boxes_xyxy"], expected, atol=1e-3)
    assert torch.allclose(mapped[0]["boxes_xyxy"], dets[0]["boxes_xyxy"] * 2, atol=1e-3)


def test_input_normalisation_inside_model():
    torch.manual_seed(0)
    model = tiny_detector().eval()
    seen = {}
    model.backbone.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    model(torch.full((1, 3, 32, 32), 0.485))
    assert torch.allclose(seen["x"][0, 0], torch.zeros(32, 32), atol=1e-6)
    assert torch.allclose(seen["x"][0, 1], torch.full((32, 32), (0.485 - 0.456) / 0.224), atol=1e-5)


def test_summary_counts_and_flops():
    torch.manual_seed(0)
    model = tiny_detector()
    total = count_parameters(model)
    assert total == sum(count_parameters(getattr(model, p)) for p in ("backbone", "neck", "head"))
    model.backbone.stages[0].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) < total
    flops64, flops128 = model_flops(model, 64), model_flops(model, 128)
    assert flops128["total"] == 4 * flops64["total"] > 0  # convolutions scale with the pixel count
    assert flops64["total"] == flops64["backbone"] + flops64["neck"] + flops64["head"]
    text = model_summary(model, 64)
    assert "backbone" in text and "neck" in text and "head" in text and f"{total:,}" in text
    assert model.training  # mode restored
