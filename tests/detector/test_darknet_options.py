"""Model options for darknet layouts: SPP concat order, exp size decode, BatchNorm eps, input normalisation."""

import math

import pytest
import torch

from detector.config import ConfigError, load_config
from detector.model import build_model
from detector.model.heads.yolov4.head import EXP_CLAMP, YoloHead, decode_boxes
from detector.model.heads.yolov4.loss import YoloLoss
from detector.model.layers import SPP
from tests.helpers import ROOT, SMALL_ANCHORS, tiny_detector

SMALL_DARKNET = ["model.backbone.width_mult=0.25", "model.neck.widths=[32,64,128]"]


def test_spp_orders():
    x = torch.randn(1, 2, 9, 9)
    first, last = SPP((3, 5), "input_first")(x), SPP((3, 5), "input_last")(x)
    p3, p5 = torch.nn.functional.max_pool2d(x, 3, 1, 1), torch.nn.functional.max_pool2d(x, 5, 1, 2)
    torch.testing.assert_close(first, torch.cat([x, p3, p5], 1))
    torch.testing.assert_close(last, torch.cat([p5, p3, x], 1))  # darknet: route -1,-3,-5,-6
    with pytest.raises(ValueError, match="model.neck.spp_order must be one of"):
        SPP((3,), "pools_first")


def test_exp_size_decode_and_clamp():
    t = torch.tensor([[0.0, 0.0, 0.5, -1.0], [0.0, 0.0, 50.0, 0.0]])
    anchor = torch.tensor([20.0, 10.0])
    boxes = decode_boxes(t, torch.zeros(2), anchor, 8, 1.0, wh_decode="exp")
    torch.testing.assert_close(boxes[0], torch.tensor([4.0, 4.0, 20 * math.exp(0.5), 10 * math.exp(-1.0)]))
    assert boxes[1, 2] == pytest.approx(20 * math.exp(EXP_CLAMP))  # no inf from a wild logit
    sig2 = decode_boxes(t, torch.zeros(2), anchor, 8, 1.0)
    assert sig2[1, 2] == pytest.approx(80.0)  # the default stays (2 sigmoid(t))^2 * anchor
    with pytest.raises(ValueError, match="wh_decode must be one of"):
        YoloHead([8, 8, 8], [8, 16, 32], SMALL_ANCHORS, 2, wh_decode="log")


def test_exp_decode_reaches_the_loss():
    torch.manual_seed(0)
    model = tiny_detector(num_classes=2)
    model.head.wh_decode = "exp"
    cfg = load_config(None, ["model.head.type=yolov4"])
    raw = model(torch.rand(2, 3, 64, 64))
    targets = torch.tensor([[0, 1, 8.0, 8.0, 40.0, 30.0], [1, 0, 20.0, 10.0, 30.0, 50.0]])
    loss_exp, _ = YoloLoss(model.head, cfg.model.head.loss)(raw, targets)
    model.head.wh_decode = "sigmoid2"
    loss_sig, _ = YoloLoss(model.head, cfg.model.head.loss)(raw, targets)
    assert torch.isfinite(loss_exp) and not torch.isclose(loss_exp, loss_sig)
    loss_exp.backward()


def test_darknet_config_builds_the_darknet_model():
    cfg = load_config(ROOT / "configs" / "yolov4_cspx50_darknet.yaml", SMALL_DARKNET)
    model = build_model(cfg).eval()
    assert model.input_norm == "none" and model.head.wh_decode == "exp"
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert {m.eps for m in bns} == {1e-5}
    assert model.neck.spp.input_last
    seen = {}
    model.backbone.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    images = torch.rand(1, 3, 64, 64)
    model(images)
    assert torch.equal(seen["x"], images)  # no ImageNet normalisation
    with pytest.raises(ConfigError, match=r"key 'model.input_norm' must be one of \['imagenet', 'none'\]"):
        load_config(None, ["model.input_norm=bgr"])


def test_defaults_keep_todays_model():
    small = ["model.backbone.width_mult=0.25", "model.neck.widths=[32,64,128]", "model.head.type=yolov4"]
    model = build_model(load_config(None, ["model.backbone.pretrained=false", "model.num_classes=3", *small]))
    assert model.input_norm == "imagenet" and model.head.wh_decode == "sigmoid2"
    assert not model.neck.spp.input_last
    assert {m.eps for m in model.neck.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-3}


@pytest.mark.parametrize("kernels", [(5, 9, 13), (3, 5), (13, 5, 9), (5, 5), (1, 7)])
def test_spp_chained_pools_equal_the_direct_pools(kernels):
    x = torch.randn(2, 4, 11, 17, generator=torch.Generator().manual_seed(0))
    direct = torch.cat([x] + [torch.nn.functional.max_pool2d(x, k, 1, k // 2) for k in kernels], 1)
    spp = SPP(kernels, "input_first")
    assert torch.equal(spp.eval()(x), direct)  # inference: the chain
    assert torch.equal(spp.train()(x), direct)  # training: the direct pools
