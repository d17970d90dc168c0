"""Learning test: a tiny detector overfits 4 synthetic images; fails if the assigner, loss or decoding is wrong."""

import math

import torch

from detector.boxes import box_iou
from detector.loss import YoloLoss
from tests.detector.stubs import loss_cfg, tiny_detector

SIZE = 128
# per image: (label, x1, y1, x2, y2); label 0 = filled rectangle, 1 = filled circle
OBJECTS = [
    [(0, 10, 12, 50, 40), (1, 70, 60, 110, 100)],
    [(1, 20, 70, 56, 106), (0, 64, 16, 120, 44)],
    [(0, 40, 40, 72, 100)],
    [(1, 8, 8, 40, 40), (0, 80, 84, 116, 112), (1, 84, 12, 116, 44)],
]


def _make_batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(len(OBJECTS), 3, SIZE, SIZE, generator=g) * 0.2 + 0.4
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    rows = []
    for i, objs in enumerate(OBJECTS):
        for label, x1, y1, x2, y2 in objs:
            if label == 0:
                mask = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
                color = torch.tensor([0.9, 0.2, 0.1])
            else:
                cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
                mask = (xs - cx) ** 2 + (ys - cy) ** 2 < r**2
                color = torch.tensor([0.1, 0.3, 0.9])
            images[i][:, mask] = color[:, None]
            rows.append([i, label, x1, y1, x2, y2])
    return images, torch.tensor(rows, dtype=torch.float32)


def test_overfit_small_batch_recovers_boxes():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: one thread is faster than two on a busy machine
    try:
        _overfit_and_check()
    finally:
        torch.set_num_threads(threads)


def _overfit_and_check():
    torch.manual_seed(0)
    images, targets = _make_batch()
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

    dets = model.predict(images, conf_thres=0.3, iou_thres=0.45)
    assert model.training  # mode restored
    for i, det in enumerate(dets):
        gt = targets[targets[:, 0] == i]
        assert len(det["scores"]) == len(gt), f"image {i}: {len(det['scores'])} detections for {len(gt)} objects"
        iou = box_iou(gt[:, 2:], det["boxes_xyxy"])  # [n_gt, n_det]
        for j in range(len(gt)):
            best = int(iou[j].argmax())
            assert iou[j, best] > 0.7, f"image {i} object {j}: best IoU {iou[j, best]:.2f}"
            assert int(det["labels"][best]) == int(gt[j, 1]), f"image {i} object {j}: wrong class"
