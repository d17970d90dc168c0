import pytest
import torch

from detector.model.heads.yolov4.anchors import (
    anchors_to_config,
    best_possible_recall,
    check_anchors,
    kmeans_anchors,
    letterboxed_wh,
)

YOLOV4 = [[12, 16, 19, 36, 40, 28], [36, 75, 76, 55, 72, 146], [142, 110, 192, 243, 459, 401]]


def _skewed_wh(n=400):
    g = torch.Generator().manual_seed(0)
    thin = torch.stack([torch.rand(n, generator=g) * 4 + 4, torch.rand(n, generator=g) * 200 + 300], 1)  # ~6 x 400
    wide = torch.stack([torch.rand(n, generator=g) * 200 + 400, torch.rand(n, generator=g) * 3 + 3], 1)  # ~500 x 4
    return torch.cat([thin, wide])


def test_best_possible_recall_hand_values():
    anchors = [[10, 10]]
    wh = torch.tensor([[10.0, 10.0], [39.0, 10.0], [41.0, 10.0], [10.0, 2.0]])
    assert best_possible_recall(wh, anchors, anchor_t=4.0) == pytest.approx(0.5)  # 41/10 and 10/2 fail
    assert best_possible_recall(wh, anchors, anchor_t=6.0) == pytest.approx(1.0)
    assert best_possible_recall(torch.zeros(0, 2), anchors) == 1.0


def test_kmeans_improves_recall_on_skewed_boxes():
    wh = _skewed_wh()
    before = best_possible_recall(wh, YOLOV4)
    anchors = kmeans_anchors(wh, n=9, img_size=640, gens=200, seed=0)
    assert anchors.shape == (9, 2)
    assert (anchors.prod(1).diff() >= 0).all()  # sorted by area
    after = best_possible_recall(wh, anchors)
    assert before < 0.5 and after > 0.98
    assert torch.equal(anchors, kmeans_anchors(wh, n=9, img_size=640, gens=200, seed=0))  # seeded


def test_check_anchors_reports_and_returns_config_rows():
    wh = _skewed_wh()
    new, report = check_anchors(wh, YOLOV4, gens=100)
    assert report["changed"] and report["bpr_after"] > report["bpr_before"]
    assert len(new) == 3 and all(len(row) == 6 for row in new)
    assert best_possible_recall(wh, new) == pytest.approx(report["bpr_after"], abs=1e-3)
    fitting = torch.tensor(YOLOV4, dtype=torch.float32).view(-1, 2).repeat(10, 1)
    same, report2 = check_anchors(fitting, YOLOV4)
    assert same is None and not report2["changed"] and report2["bpr_before"] == 1.0


def test_helpers_and_errors():
    wh = letterboxed_wh([[100, 50]], [[1000, 500]], 640)  # long side 1000 -> 640
    assert torch.allclose(wh, torch.tensor([[64.0, 32.0]], dtype=torch.float64))
    assert anchors_to_config(torch.arange(1, 13).view(6, 2).float(), 3) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    with pytest.raises(ValueError, match="at least"):
        kmeans_anchors(torch.ones(3, 2) * 10, n=9)
