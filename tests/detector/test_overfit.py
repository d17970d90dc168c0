"""Learning test: a tiny detector overfits 4 synthetic images; fails if the assigner, loss or decoding is wrong."""

import math

import pytest
import torch
from torchvision.ops import box_iou

from detector.config import PredictConfig
from detector.model.heads.yolov4.loss import YoloLoss
from tests.helpers import loss_cfg, make_overfit_batch, tiny_detector

pytestmark = pytest.mark.slow  # hundreds of optimiser steps


def test_overfit_small_batch_recovers_boxes():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: one thread is faster than two on a busy machine
    try:
        _overfit_and_check()
    finally:
        torch.set_num_threads(threads)


def _overfit_and_check():
    torch.manual_seed(0)
    images, targets = make_overfit_batch()
    anchors = [[12, 12, 20, 16, 16, 24], [32, 28, 36, 36, 28, 56], [56, 28, 44, 60, 64, 64]]
    model = tiny_detector(num_classes=2, anchors=anchors, depth=0)
    criterion = YoloLoss(model.head, loss_cfg())
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    losses = []
    for _ in range(150):
        loss, _ = criterion(model(images), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 / 5, (losses[:5], losses[-5:])

    dets = model.predict(images, PredictConfig(conf=0.3, iou=0.45))
    assert model.training  # mode restored
    for i, det in enumerate(dets):
        gt = targets[targets[:, 0] == i]
        assert len(det["scores"]) == len(gt), f"image {i}: {len(det['scores'])} detections for {len(gt)} objects"
        iou = box_iou(gt[:, 2:], det["boxes_xyxy"])  # [n_gt, n_det]
        for j in range(len(gt)):
            best = int(iou[j].argmax())
            assert iou[j, best] > 0.7, f"image {i} object {j}: best IoU {iou[j, best]:.2f}"
            assert int(det["labels"][best]) == int(gt[j, 1]), f"image {i} object {j}: wrong class"
