"""ByteTrack and the IoU baseline on hand-built sequences with known IDs."""

import dataclasses

import numpy as np
import pytest

from detector.config import TrackConfig
from detector.track import ByteTracker, IouTracker, build_tracker
from detector.track.association import assign, iou_matrix


def box(cx: float, cy: float, s: float = 20.0) -> list[float]:
    return [cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2]


def crossing(frames: int = 30) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Two objects on one horizontal line move towards each other, overlap (the left one in front, the right one's
    score drops while hidden) and part; detection 0 is always the object starting on the left."""
    seq = []
    for f in range(frames):
        a, b = box(20 + 4 * f, 50), box(140 - 4 * f, 52)
        hidden = abs((20 + 4 * f) - (140 - 4 * f)) < 12
        scores = np.array([0.9, 0.3 if hidden else 0.85], np.float32)
        seq.append((np.array([a, b], np.float32), scores, np.array([0, 1])))
    return seq


def test_iou_matrix_and_assign_by_hand() -> None:
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [100, 100, 110, 110]], np.float32)
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(50 / 150) and iou[0, 1] == 1.0 and iou[1].max() == 0.0
    pairs, rows, cols = assign(iou, 0.3)
    assert pairs == [(0, 1)] and rows == [1] and cols == [0, 2]


def _ids_of(tracker, seq) -> list[dict[int, int]]:
    """Per frame: detection index -> track ID (matched on the box)."""
    out = []
    for f, (boxes, scores, labels) in enumerate(seq):
        t = tracker.update(boxes, scores, labels, f)
        iou = iou_matrix(boxes, t.boxes_xyxy)
        out.append({int(d): int(t.ids[k]) for d, k in zip(*np.nonzero(iou > 0.99), strict=True)})
    return out


def test_bytetrack_keeps_both_ids_through_a_crossing() -> None:
    ids = _ids_of(ByteTracker(), crossing())
    assert ids[0] == {0: 1, 1: 2}
    assert all(frame.get(0, 1) == 1 and frame.get(1, 2) == 2 for frame in ids)  # never swapped
    assert ids[-1] == {0: 1, 1: 2}
    # the hidden object's weak boxes (0.3 < high_thresh) were used: it stayed shown while overlapped
    hidden = [f for f in range(30) if abs((20 + 4 * f) - (140 - 4 * f)) < 12]
    assert hidden and all(1 in ids[f] for f in hidden)


def test_iou_baseline_drops_the_weak_box_and_gives_a_new_id() -> None:
    ids = _ids_of(IouTracker(high_thresh=0.5, match_iou=0.3, class_aware=True), crossing())
    assert ids[0] == {0: 1, 1: 2}
    assert ids[-1][1] != 2  # the right object lost its ID behind the left one


def test_a_gap_up_to_the_buffer_keeps_the_id_a_longer_one_does_not() -> None:
    cfg = dataclasses.replace(TrackConfig(), buffer=5, reid_buffer=0)  # re-identification off: the IoU buffer alone

    def run(gap: int) -> list[int]:
        tracker, seen = ByteTracker(cfg), []
        for f in [*range(5), *range(5 + gap, 12 + gap)]:  # frames 5 .. 5+gap-1 dropped
            t = tracker.update(np.array([box(10 + 3 * f, 40)]), [0.9], [0], frame_index=f)
            seen += t.ids.tolist()
        return sorted(set(seen))

    assert run(5) == [1]  # the track moved on with its velocity over the gap and took its box back
    assert run(7) == [1, 2]  # lost for longer than the buffer: a new ID


def test_new_tracks_wait_for_a_second_frame_and_frames_must_come_in_order() -> None:
    tracker = ByteTracker()
    assert tracker.update(np.zeros((0, 4)), [], [], 0).ids.tolist() == []
    assert tracker.update(np.array([box(50, 50)]), [0.9], [0], 1).ids.tolist() == []  # tentative
    assert tracker.update(np.array([box(52, 50)]), [0.9], [0], 2).ids.tolist() == [1]
    with pytest.raises(ValueError, match="frames must come in order"):
        tracker.update(np.zeros((0, 4)), [], [], 2)


def test_a_duplicate_box_of_another_class_starts_no_track() -> None:
    tracker = ByteTracker()
    for f in range(4):
        b = np.array([box(50 + 2 * f, 50), box(50 + 2 * f, 51)], np.float32)
        t = tracker.update(b, [0.9, 0.7], [0, 3], f)
    assert t.ids.tolist() == [1] and t.labels.tolist() == [0]


def test_contradictory_thresholds_are_named() -> None:
    with pytest.raises(ValueError, match="track.low_thresh=0.6 is above track.high_thresh=0.5"):
        ByteTracker(dataclasses.replace(TrackConfig(), low_thresh=0.6))
    assert isinstance(build_tracker(dataclasses.replace(TrackConfig(), tracker="iou")), IouTracker)
