import math

import pytest
import torch

from detector.model.heads.yolov4.head import YoloHead, decode_boxes, parse_anchors
from detector.model.neck import SPPPAN, check_strides
from tests.helpers import SMALL_ANCHORS, TinyBackbone, tiny_detector


@pytest.mark.parametrize("hw", [(64, 64), (96, 160), (128, 64)])
def test_detector_raw_shapes_for_several_sizes(hw):
    torch.manual_seed(0)
    model = tiny_detector(num_classes=3).eval()
    h, w = hw
    raw = model(torch.rand(2, 3, h, w))
    assert [tuple(r.shape) for r in raw] == [(2, 3, h // s, w // s, 8) for s in (8, 16, 32)]
    decoded = model.head.decode(raw)
    assert decoded.shape == (2, 3 * sum((h // s) * (w // s) for s in (8, 16, 32)), 7)
    assert ((decoded[..., 4:] >= 0) & (decoded[..., 4:] <= 1)).all()
    # scores are objectness x class probability
    obj_cls = raw[0][..., 4:5].sigmoid() * raw[0][..., 5:].sigmoid()
    assert torch.allclose(decoded[:, : obj_cls[0].numel() // 3, 4:], obj_cls.reshape(2, -1, 3))


def test_neck_builds_from_any_channels_and_strides():
    torch.manual_seed(0)
    neck = SPPPAN([7, 11, 13], [4, 8, 16], widths=(8, 16, 24), depth=0)
    feats = [torch.rand(1, c, 64 // s, 64 // s) for c, s in zip([7, 11, 13], [4, 8, 16], strict=True)]
    outs = neck(feats)
    assert neck.channels == [8, 16, 24] and neck.strides == [4, 8, 16]
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 16), (1, 16, 8, 8), (1, 24, 4, 4)]


def test_neck_depth_controls_conv_count():
    shallow = SPPPAN([8, 8, 8], [8, 16, 32], (8, 8, 8), depth=1)
    deep = SPPPAN([8, 8, 8], [8, 16, 32], (8, 8, 8), depth=3)
    assert len(deep.td4) == 1 + 2 * 3 and len(shallow.td4) == 1 + 2 * 1


@pytest.mark.parametrize("strides", [[8, 16], [8, 16, 64], [8, 12, 24], [8, 16, 32, 64]])
def test_neck_rejects_bad_strides(strides):
    with pytest.raises(ValueError, match="strides|levels"):
        check_strides(strides)


def test_head_bias_init_from_priors():
    head = YoloHead([8, 8, 8], [8, 16, 32], SMALL_ANCHORS, num_classes=4, prior_prob=0.01)
    for pred, s in zip(head.preds, head.strides, strict=True):
        b = pred.bias.view(3, 9)
        p = 8 / (640 / s) ** 2
        assert torch.allclose(b[:, 4], torch.full((3,), math.log(p / (1 - p))))
        assert torch.allclose(b[:, 5:], torch.full((3, 4), math.log(0.01 / 0.99)))
        assert (b[:, :4] == 0).all()


def test_decode_boxes_formula():
    t = torch.tensor([[0.0, 0.0, 0.0, 0.0], [100.0, -100.0, 100.0, -100.0]])
    grid = torch.tensor([[3.0, 2.0], [3.0, 2.0]])
    anchor = torch.tensor([20.0, 10.0])
    out = decode_boxes(t, grid, anchor, stride=8, scale_x_y=1.2)
    assert torch.allclose(out[0], torch.tensor([28.0, 20.0, 20.0, 10.0]))  # cell centre, anchor size
    # saturated: x offset reaches 1 + (s-1)/2 = 1.1 cells, y -0.1; w = 4 * anchor, h -> 0
    assert torch.allclose(out[1], torch.tensor([(3 + 1.1) * 8, (2 - 0.1) * 8, 80.0, 0.0]), atol=1e-4)


def test_decode_uses_grid_anchor_and_stride_of_each_level():
    head = YoloHead([4, 4, 4], [8, 16, 32], SMALL_ANCHORS, num_classes=1, scale_x_y=[1.0, 1.0, 1.0])
    raw = [torch.zeros(1, 3, 64 // s, 96 // s, 6) for s in (8, 16, 32)]
    dec = head.decode(raw).view(-1, 5)
    # element index of level 1 (stride 16), anchor 2, row 1, col 4
    n0 = 3 * 8 * 12
    idx = n0 + (2 * 4 + 1) * 6 + 4
    assert torch.allclose(dec[idx, :4], torch.tensor([4.5 * 16, 1.5 * 16, 36.0, 48.0]))
    assert torch.allclose(dec[idx, 4:], torch.full((1,), 0.25))  # obj 0.5 x class 0.5
    assert len(head._grids) == 3  # cached per level
    head.decode(raw)
    assert len(head._grids) == 3


def test_decode_in_forward_switch():
    torch.manual_seed(0)
    model = tiny_detector().eval()
    x = torch.rand(1, 3, 64, 64)
    raw = model(x)
    model.head.decode_in_forward = True
    decoded = model(x)
    assert torch.allclose(decoded, model.head.decode(raw))


def test_anchor_config_errors():
    with pytest.raises(ValueError, match="levels"):
        parse_anchors(SMALL_ANCHORS[:2], 3)
    with pytest.raises(ValueError, match=r"anchors\[1\]"):
        parse_anchors([[1, 2, 3, 4], [1, 2], [1, 2, 3, 4]], 3)
    assert parse_anchors(SMALL_ANCHORS, 3).shape == (3, 3, 2)


def test_gradients_reach_the_backbone():
    torch.manual_seed(0)
    model = tiny_detector()
    raw = model(torch.rand(2, 3, 64, 64))
    sum(r.float().pow(2).mean() for r in raw).backward()
    first = model.backbone.stages[0][0].weight.grad
    assert first is not None and first.abs().sum() > 0
    assert isinstance(model.backbone, TinyBackbone)
