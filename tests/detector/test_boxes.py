import math

import pytest
import torch
from torchvision.ops import box_iou

from detector.boxes import bbox_iou, cxcywh_to_xyxy, unletterbox_boxes, xyxy_to_cxcywh


def test_conversions_round_trip_and_values():
    b = torch.tensor([[10.0, 20.0, 50.0, 80.0]])
    assert torch.equal(xyxy_to_cxcywh(b), torch.tensor([[30.0, 50.0, 40.0, 60.0]]))
    assert torch.equal(cxcywh_to_xyxy(torch.tensor([[30.0, 50.0, 40.0, 60.0]])), b)
    assert torch.equal(cxcywh_to_xyxy(xyxy_to_cxcywh(b)), b)


def test_elementwise_iou_equals_torchvision_pairwise_diagonal():
    torch.manual_seed(0)
    xy = torch.rand(50, 2) * 100
    a = torch.cat([xy, xy + torch.rand(50, 2) * 60 + 1], dim=1)
    b = a + torch.randn(50, 4) * 10
    b[:, 2:] = torch.maximum(b[:, 2:], b[:, :2] + 1)  # keep x2 > x1, y2 > y1
    assert torch.allclose(bbox_iou(a, b, "iou"), box_iou(a, b).diagonal(), atol=1e-5)


def test_giou_diou_ciou_hand_values():
    a = torch.tensor([0.0, 0, 2, 2])
    b = torch.tensor([1.0, 1, 3, 3])
    assert bbox_iou(a, b, "iou").item() == pytest.approx(1 / 7, abs=1e-6)
    assert bbox_iou(a, b, "giou").item() == pytest.approx(1 / 7 - 2 / 9, abs=1e-6)
    assert bbox_iou(a, b, "diou").item() == pytest.approx(1 / 7 - 2 / 18, abs=1e-6)
    assert bbox_iou(a, b, "ciou").item() == pytest.approx(1 / 7 - 2 / 18, abs=1e-6)  # same aspect: v = 0
    c = torch.tensor([0.0, 0, 4, 2])  # different aspect ratio
    v = 4 / math.pi**2 * (math.atan(2) - math.atan(1)) ** 2
    alpha = v / (1 - 0.5 + v)
    assert bbox_iou(a, c, "ciou").item() == pytest.approx(0.5 - 1 / 20 - alpha * v, abs=1e-6)
    # identical boxes: all metrics 1; disjoint far boxes: giou/diou/ciou negative
    for kind in ("iou", "giou", "diou", "ciou"):
        assert bbox_iou(a, a, kind).item() == pytest.approx(1.0, abs=1e-6)
    far = torch.tensor([10.0, 10, 12, 12])
    assert bbox_iou(a, far, "giou").item() < 0 and bbox_iou(a, far, "ciou").item() < 0
    with pytest.raises(ValueError, match="kind"):
        bbox_iou(a, b, "eiou")


def test_ciou_gradient_is_finite_for_degenerate_boxes():
    p = torch.tensor([[5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 1e4, 1e4]], requires_grad=True)
    t = torch.tensor([[4.0, 4.0, 6.0, 6.0], [1.0, 1.0, 2.0, 2.0]])
    bbox_iou(p, t, "ciou").sum().backward()
    assert torch.isfinite(p.grad).all()


def test_unletterbox_is_exact_inverse_and_clips():
    torch.manual_seed(0)
    scale, pad_x, pad_y, orig_h, orig_w = 0.4, 0.0, 80.0, 1200, 1600
    boxes_orig = torch.tensor([[100.0, 50.0, 700.0, 900.0], [0.0, 0.0, 1600.0, 1200.0]])
    boxes_in = boxes_orig * scale + torch.tensor([pad_x, pad_y, pad_x, pad_y])
    back = unletterbox_boxes(boxes_in, (scale, pad_x, pad_y), (orig_h, orig_w))
    assert torch.allclose(back, boxes_orig, atol=1e-4)
    back_t = unletterbox_boxes(boxes_in, torch.tensor([scale, pad_x, pad_y]))
    assert torch.allclose(back_t, boxes_orig, atol=1e-4)
    outside = torch.tensor([[-10.0, 60.0, 700.0, 600.0]])  # beyond the padded area
    clipped = unletterbox_boxes(outside, (scale, pad_x, pad_y), (orig_h, orig_w))
    assert clipped[0, 0] == 0 and clipped[0, 1] == 0 and clipped[0, 2] == 1600 and clipped[0, 3] == 1200
    with pytest.raises(ValueError, match="scale"):
        unletterbox_boxes(boxes_in, (0.0, 0.0, 0.0))
