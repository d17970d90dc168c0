import torch

from detector.model.heads.yolov4.assigner import assign_targets
from detector.model.heads.yolov4.head import parse_anchors
from tests.helpers import SMALL_ANCHORS

ANCHORS = parse_anchors(SMALL_ANCHORS, 3)
STRIDES = [8, 16, 32]
GRIDS = [(8, 8), (4, 4), (2, 2)]  # 64 x 64 input


def _cells(level_targets):
    return sorted(
        zip(
            level_targets.batch.tolist(),
            level_targets.anchor.tolist(),
            level_targets.gj.tolist(),
            level_targets.gi.tolist(),
            strict=True,
        )
    )


def test_box_goes_to_expected_anchor_level_and_three_cells():
    # centre (21, 43) -> stride-8 cell col 2.625, row 5.375; size 20 x 16 == anchor 1 of level 0
    targets = torch.tensor([[1, 1, 11.0, 35.0, 31.0, 51.0]])
    out = assign_targets(targets, ANCHORS, STRIDES, GRIDS, anchor_t=1.3)
    assert _cells(out[0]) == [(1, 1, 4, 2), (1, 1, 5, 2), (1, 1, 5, 3)]  # own cell, right neighbour, upper neighbour
    assert len(out[1].batch) == 0 and len(out[2].batch) == 0
    assert torch.allclose(out[0].boxes_cxcywh, torch.tensor([[21.0, 43.0, 20.0, 16.0]]).expand(3, 4))
    assert out[0].labels.tolist() == [1, 1, 1] and out[0].gt_index.tolist() == [0, 0, 0]


def test_loose_threshold_gives_several_anchors_and_levels():
    targets = torch.tensor([[0, 0, 11.0, 35.0, 31.0, 51.0]])
    out = assign_targets(targets, ANCHORS, STRIDES, GRIDS, anchor_t=4.0)
    assert sorted(set(out[0].anchor.tolist())) == [0, 1, 2]
    assert len(out[1].batch) > 0  # also matches level-1 anchors within ratio 4


def test_unmatched_huge_box_falls_back_to_best_anchor():
    targets = torch.tensor([[0, 0, -168.0, -168.0, 232.0, 232.0]])  # 400 x 400 centred at (32, 32)
    out = assign_targets(targets, ANCHORS, STRIDES, GRIDS, anchor_t=4.0)
    assert len(out[0].batch) == 0 and len(out[1].batch) == 0
    # level 2 anchor 2 (80 x 80); centre exactly on cell (1, 1) corner -> neighbours left and up
    assert _cells(out[2]) == [(0, 2, 0, 1), (0, 2, 1, 0), (0, 2, 1, 1)]


def test_degenerate_boxes_ignored_and_neighbours_can_be_disabled():
    targets = torch.tensor([[0, 0, 10.0, 10.0, 10.0, 30.0], [0, 1, 11.0, 35.0, 31.0, 51.0]])
    out = assign_targets(targets, ANCHORS, STRIDES, GRIDS, anchor_t=1.3, neighbor_margin=0.0)
    assert _cells(out[0]) == [(0, 1, 5, 2)]
    assert out[0].gt_index.tolist() == [1]
    empty = assign_targets(torch.zeros(0, 6), ANCHORS, STRIDES, GRIDS)
    assert all(len(t.batch) == 0 for t in empty)


def test_centre_on_image_border_stays_inside_grid():
    # centres (64, 64) (on the far border), (0, 0) and (54, 54)
    targets = torch.tensor([[0, 0, 60.0, 60.0, 68.0, 68.0], [0, 0, -2.0, -2.0, 2.0, 2.0], [0, 0, 44, 44, 64, 64]])
    out = assign_targets(targets, ANCHORS, STRIDES, GRIDS)
    assert sum(len(t.batch) for t in out) > 0
    for (h, w), t in zip(GRIDS, out, strict=True):
        assert (t.gi >= 0).all() and (t.gj >= 0).all()
        assert (t.gi < w).all() and (t.gj < h).all()
    assert (7, 7) in list(zip(out[0].gj.tolist(), out[0].gi.tolist(), strict=True))


def test_neighbour_margin_per_level_follows_grid_sensitivity():
    # centre (17, 43): stride-8 fraction 0.125 in x (near the left edge), 0.375 in y
    targets = torch.tensor([[0, 0, 7.0, 35.0, 27.0, 51.0]])
    narrow = assign_targets(targets, ANCHORS, STRIDES, GRIDS, anchor_t=1.3, neighbor_margin=[0.1, 0.1, 0.1])
    assert _cells(narrow[0]) == [(0, 1, 5, 2)]  # 0.125 > 0.1: own cell only
    wide = assign_targets(targets, ANCHORS, STRIDES, GRIDS, anchor_t=1.3, neighbor_margin=[0.2, 0.1, 0.1])
    assert _cells(wide[0]) == [(0, 1, 5, 1), (0, 1, 5, 2)]  # 0.125 < 0.2: the left neighbour too
