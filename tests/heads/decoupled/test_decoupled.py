"""Anchor-free decoupled head: DFL encode/decode, the task-aligned assigner on hand-made cases, its loss."""

from __future__ import annotations

import math

import pytest
import torch

from detector.config import ConfigError, PredictConfig, load_config
from detector.config.head_families import DecoupledLossConfig, YoloV4HeadConfig
from detector.model import build_model
from detector.model.heads.decoupled.assigner import points_in_boxes, task_aligned_assign
from detector.model.heads.decoupled.head import (
    DecoupledHead,
    cell_centres,
    dfl_expectation,
    distances_to_xyxy,
    xyxy_to_distances,
)
from detector.model.heads.decoupled.loss import DecoupledLoss, distribution_focal_loss, pad_targets
from detector.model.registry import build_loss
from tests.helpers import make_overfit_batch, tiny_detector


def _two_bin_logits(d: torch.Tensor, reg_max: int) -> torch.Tensor:
    """Logits whose softmax puts ``i + 1 - d`` on bin ``i = floor(d)`` and ``d - i`` on bin ``i + 1``."""
    probs = torch.zeros(*d.shape, reg_max)
    i = d.floor().long()
    probs.scatter_(-1, i[..., None], (i + 1 - d)[..., None])
    probs.scatter_add_(-1, (i + 1)[..., None], (d - i)[..., None])
    return probs.clamp(min=1e-12).log()


def test_dfl_encode_decode_round_trip():
    reg_max = 8
    d = torch.tensor([[0.0, 0.3, 3.5, 6.98], [1.0, 2.25, 5.5, 0.01]])  # [2, 4] distances in bins
    logits = _two_bin_logits(d, reg_max).flatten(-2)  # [2, 4 * reg_max]
    assert torch.allclose(dfl_expectation(logits, reg_max), d, atol=1e-5)
    points = torch.tensor([[20.0, 12.0], [100.0, 60.0]])
    boxes = distances_to_xyxy(points, d * 8)
    assert torch.allclose(boxes[0], torch.tensor([20.0, 9.6, 48.0, 67.84]), atol=1e-4)
    assert torch.allclose(xyxy_to_distances(points, boxes) / 8, d, atol=1e-5)
    # the two-bin distribution is the minimum of DFL: shifting it by half a bin costs more
    target = d.clamp(max=reg_max - 1 - 0.01)
    at_target = distribution_focal_loss(_two_bin_logits(target, reg_max), target)
    shifted = distribution_focal_loss(_two_bin_logits((target + 0.5).clamp(max=6.9), reg_max), target)
    assert (at_target < shifted).all()


def test_head_raw_shapes_decode_and_bias_init():
    head = DecoupledHead([16, 24, 32], [8, 16, 32], num_classes=3, reg_max=8).eval()
    feats = [torch.rand(2, c, 64 // s, 96 // s) for c, s in zip([16, 24, 32], [8, 16, 32], strict=True)]
    raw = head(feats)
    assert [tuple(r.shape) for r in raw] == [(2, 35, 8, 12), (2, 35, 4, 6), (2, 35, 2, 3)]
    dec = head.decode(raw)
    assert dec.shape == (2, 8 * 12 + 4 * 6 + 2 * 3, 7) and dec.dtype == torch.float32
    # bias init: uniform bins (distance 3.5 strides with reg_max 8), class prior 5 / C / (640 / s)^2
    zero = [torch.zeros_like(r) for r in raw]
    for r, box, cls in zip(zero, head.box_branches, head.cls_branches, strict=True):
        r[:, :32] = box[-1].bias[:, None, None]
        r[:, 32:] = cls[-1].bias[:, None, None]
    dec = head.decode(zero)
    assert torch.allclose(dec[0, 0], torch.tensor([4.0, 4.0, 56.0, 56.0, *[5 / 3 / 80**2] * 3]), atol=1e-6)
    # cell order: level-major, row-major; centre of level 1, row 2, col 5 = (5.5 * 16, 2.5 * 16)
    points, stride = cell_centres([(8, 12), (4, 6)], [8, 16], torch.device("cpu"))
    assert points[96 + 2 * 6 + 5].tolist() == [88.0, 40.0] and stride[96].item() == 16.0


def test_points_in_boxes_is_strict():
    points = torch.tensor([[4.0, 4.0], [8.0, 8.0], [12.0, 4.0]])
    boxes = torch.tensor([[[0.0, 0.0, 8.0, 8.0]]])
    assert points_in_boxes(points, boxes).tolist() == [[[True, False, False]]]


def _grid_points() -> torch.Tensor:
    return cell_centres([(8, 8)], [8], torch.device("cpu"))[0]  # [64, 2], centres 4, 12, ..., 60


def _index(points: torch.Tensor, x: float, y: float) -> int:
    return int(((points - torch.tensor([x, y])).abs().sum(1) < 1e-6).nonzero()[0])


def test_task_aligned_assigner_two_overlapping_boxes():
    points = _grid_points()
    gt_a, gt_b = [0.0, 0.0, 32.0, 32.0], [16.0, 16.0, 48.0, 48.0]
    pred = torch.tensor([100.0, 100.0, 101.0, 101.0]).repeat(64, 1)  # overlaps nothing
    p1, p2, shared = _index(points, 12, 12), _index(points, 36, 36), _index(points, 20, 20)
    pred[p1] = torch.tensor(gt_a)  # IoU 1 with A (inside A only)
    pred[p2] = torch.tensor(gt_b)  # IoU 1 with B (inside B only)
    pred[shared] = torch.tensor([8.0, 8.0, 32.0, 32.0])  # inside both: IoU 0.5625 with A, 256 / 1344 with B
    scores = torch.full((1, 64, 2), 0.5)
    out = task_aligned_assign(
        scores,
        pred[None],
        points,
        torch.tensor([[0, 1]]),
        torch.tensor([[gt_a, gt_b]]),
        torch.tensor([[True, True]]),
        topk=2,
    )
    assert sorted(out.fg[0].nonzero().flatten().tolist()) == sorted([p1, p2, shared])
    assert out.gt_index[0, p1] == 0 and out.gt_index[0, p2] == 1
    assert out.gt_index[0, shared] == 0  # claimed by both GTs: goes to the one its box overlaps most (A)
    assert out.boxes_xyxy[0, shared].tolist() == gt_a
    # soft targets: alignment / best alignment of the GT * best IoU of the GT (1.0 here); other entries 0
    assert out.scores[0, p1].tolist() == [pytest.approx(1.0), 0.0]
    assert out.scores[0, p2].tolist() == [0.0, pytest.approx(1.0)]
    assert out.scores[0, shared].tolist() == [pytest.approx(0.5625**6, rel=1e-4), 0.0]
    assert out.scores[0, ~out.fg[0]].abs().sum() == 0


def test_task_aligned_assigner_ignores_padding_and_empty_batches():
    points = _grid_points()
    pred = torch.tensor([0.0, 0.0, 32.0, 32.0]).repeat(1, 64, 1)
    out = task_aligned_assign(
        torch.full((1, 64, 2), 0.5),
        pred,
        points,
        torch.tensor([[1]]),
        torch.tensor([[[0.0, 0.0, 32.0, 32.0]]]),
        torch.tensor([[False]]),
    )
    assert not out.fg.any() and out.scores.sum() == 0
    empty = task_aligned_assign(
        torch.full((2, 64, 2), 0.5), pred.expand(2, -1, -1), points, *pad_targets(torch.zeros(0, 6), 2)
    )
    assert empty.fg.shape == (2, 64) and not empty.fg.any()


def test_pad_targets_groups_rows_by_image():
    t = torch.tensor([[1, 2, 0, 0, 4, 4], [0, 1, 1, 1, 3, 3], [1, 0, 5, 5, 5, 9]], dtype=torch.float32)
    labels, boxes, valid = pad_targets(t, 3)
    assert labels.tolist() == [[1, 0], [2, 0], [0, 0]]
    assert boxes[1, 0].tolist() == [0, 0, 4, 4] and valid.tolist() == [[True, False], [True, False], [False, False]]


def test_loss_parts_errors_and_background_only():
    model = tiny_detector(num_classes=2, head="decoupled")
    criterion = DecoupledLoss(model.head, DecoupledLossConfig())
    images, targets = make_overfit_batch()
    loss, parts = criterion(model(images), targets)
    assert set(parts) == {"box", "cls", "dfl"} and math.isfinite(loss.item())
    assert loss.item() == pytest.approx(sum(parts.values()), rel=1e-5)
    loss.backward()
    assert model.head.box_branches[0][-1].bias.grad.abs().sum() > 0
    bg, bg_parts = criterion(model(images), torch.zeros(0, 6))
    assert bg_parts["box"] == 0 and bg_parts["dfl"] == 0 and bg.item() > 0
    with pytest.raises(ValueError, match="label 5 but the model has 2 classes"):
        criterion(model(images), torch.tensor([[0, 5, 1, 1, 20, 20]], dtype=torch.float32))
    with pytest.raises(ValueError, match="model.head.loss.topk"):
        DecoupledLoss(model.head, DecoupledLossConfig(topk=0))


@pytest.mark.slow  # hundreds of optimiser steps
def test_overfit_small_batch_with_decoupled_head():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        images, targets = make_overfit_batch()
        model = tiny_detector(num_classes=2, depth=0, head="decoupled")
        criterion = DecoupledLoss(model.head, DecoupledLossConfig())
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        losses = []
        for _ in range(120):
            loss, _ = criterion(model(images), targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 / 4, (losses[:5], losses[-5:])
    dets = model.predict(images, PredictConfig(conf=0.3, iou=0.45))
    for i, det in enumerate(dets):
        gt = targets[targets[:, 0] == i]
        assert len(det["scores"]) == len(gt), f"image {i}: {len(det['scores'])} detections for {len(gt)} objects"


def test_build_model_with_decoupled_head_from_config():
    cfg = load_config(
        None,
        [
            "model.backbone.pretrained=false",
            "model.backbone.width_mult=0.125",
            "model.backbone.depth_mult=0.34",
            "model.neck.widths=[16,24,32]",
            "model.head.type=decoupled",
            "model.head.reg_max=8",
            "model.num_classes=4",
        ],
    )
    model = build_model(cfg).eval()
    assert model.head.family == "decoupled" and model.head.reg_max == 8
    dets = model.predict(torch.rand(1, 3, 64, 64), PredictConfig(conf=0.0, max_det=5))
    assert dets[0]["boxes_xyxy"].shape == (5, 4)


def test_old_layout_override_of_another_family_is_an_error():
    with pytest.raises(ConfigError, match="model.head.type is 'decoupled', not 'yolov4'; set model.head.type=yolov4"):
        load_config(None, ["model.head.type=decoupled", "loss.yolov4.box=0.1"])


def test_build_loss_refuses_a_head_that_is_not_of_its_family():
    class NotAYoloHead(DecoupledHead):
        family = "yolov4"

    head = NotAYoloHead([16, 24, 32], [8, 16, 32], num_classes=2, reg_max=8)
    with pytest.raises(TypeError, match="NotAYoloHead declares head family 'yolov4', which needs a YoloHead"):
        build_loss(YoloV4HeadConfig(), head)
