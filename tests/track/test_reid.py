"""Re-identification and the colour feature on hand-built sequences: frames drawn here, boxes given as detections."""

import dataclasses

import numpy as np
import pytest

from detector.config import TrackConfig
from detector.track import ByteTracker
from detector.track.appearance import FEATURE_SIZE, appearance_distance, colour_features
from detector.track.association import iou_matrix
from detector.track.reid import LostTracks, reid_cost

RED, BLUE, GREEN = (220, 30, 30), (30, 60, 220), (40, 200, 60)


def box(cx: float, cy: float, s: float = 24.0) -> list[float]:
    return [cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2]


def frame(objects: list[tuple[list[float], tuple[int, int, int]]], size: int = 160) -> np.ndarray:
    """A grey, slightly noisy RGB frame with each (box xyxy, colour) filled in, later ones on top."""
    rng = np.random.default_rng(0)
    img = (110 + rng.integers(-20, 20, (size, size, 3))).astype(np.uint8)
    for (x1, y1, x2, y2), col in objects:
        img[max(int(y1), 0) : max(int(y2), 0), max(int(x1), 0) : max(int(x2), 0)] = col
    return img


def run(tracker: ByteTracker, seq: list[list[tuple[list[float], tuple[int, int, int]]]], label: int = 0):
    """Feed each frame (its objects detected with score 0.9, class ``label``; an empty list: nothing detected) with
    its image; returns per frame {colour: ID}."""
    out = []
    for f, objects in enumerate(seq):
        boxes = np.array([b for b, _ in objects], np.float32).reshape(-1, 4)
        t = tracker.update(boxes, [0.9] * len(objects), [label] * len(objects), f, image=frame(objects))
        iou = iou_matrix(boxes, t.boxes_xyxy)
        out.append({objects[d][1]: int(t.ids[k]) for d, k in zip(*np.nonzero(iou > 0.99), strict=True)})
    return out


def test_colour_features_tell_colours_apart_and_ignore_position() -> None:
    img = frame([(box(40, 40), RED), (box(120, 40), RED), (box(40, 120), BLUE)])
    f = colour_features(img, np.array([box(40, 40), box(120, 40), box(40, 120), [5, 5, 5, 5]]))
    assert f.shape == (4, FEATURE_SIZE) and f.dtype == np.float32
    assert np.allclose((f[:3] ** 2).sum(1), 1.0)  # square roots of L1-normalised histograms
    assert not f[3].any()  # an empty box: no feature
    d = appearance_distance(f[:3], f[:3])
    assert d[0, 1] < 0.05 and d[0, 2] > 0.9 and d[1, 2] > 0.9
    assert appearance_distance(f[:1], f[3:]).item() == 1.0


def _exit_and_return(gap: int) -> list[list[tuple[list[float], tuple[int, int, int]]]]:
    """A red square moves right out of the 160-px frame, stays out for ``gap`` frames (turning round) and comes back
    near where it left; a blue one stays in the middle."""
    seq = []
    for f in range(10):
        seq.append([(box(100 + 6 * f, 80), RED), (box(60, 40), BLUE)])  # the red one leaves at f ~ 9
    seq += [[(box(60, 40), BLUE)] for _ in range(gap)]
    for f in range(8):
        seq.append([(box(150 - 5 * f, 90), RED), (box(60, 40), BLUE)])
    return seq


def test_a_reentry_after_more_frames_than_the_buffer_keeps_its_id() -> None:
    cfg = dataclasses.replace(TrackConfig(), buffer=10)
    ids = run(ByteTracker(cfg), _exit_and_return(gap=40))
    assert ids[0] == {RED: 1, BLUE: 2}
    assert ids[-1] == {RED: 1, BLUE: 2}  # 40 frames away (> buffer 10): re-identified, not a new ID
    off = run(ByteTracker(dataclasses.replace(cfg, reid_buffer=0)), _exit_and_return(gap=40))
    assert off[-1][RED] == 3  # without re-identification the same sequence gives a new ID
    late = run(ByteTracker(dataclasses.replace(cfg, reid_buffer=30)), _exit_and_return(gap=40))
    assert late[-1][RED] == 3  # lost for longer than track.reid_buffer


def _bounce() -> list[list[tuple[list[float], tuple[int, int, int]]]]:
    """A red and a blue square of one class meet (the blue one in front, the red one hidden: not detected) and turn
    back where they came from: a constant-velocity prediction sends each track on to the other's box."""
    seq = []
    for f in range(12):
        xr, xb = 40 + 4 * f, 120 - 4 * f  # meet at f = 10 (x = 80)
        seq.append([(box(xr, 80), RED), (box(xb, 82), BLUE)] if abs(xr - xb) > 20 else [(box(xb, 82), BLUE)])
    for f in range(1, 14):
        xr, xb = 84 - 4 * f, 76 + 4 * f  # both turned round
        seq.append([(box(xr, 80), RED), (box(xb, 82), BLUE)] if abs(xr - xb) > 20 else [(box(xb, 82), BLUE)])
    return seq


def test_a_crossing_where_both_turn_back_is_resolved_by_colour() -> None:
    ids = run(ByteTracker(), _bounce())
    assert ids[0] == {RED: 1, BLUE: 2}
    assert ids[-1] == {RED: 1, BLUE: 2}
    assert all(f.get(RED, 1) == 1 and f.get(BLUE, 2) == 2 for f in ids)  # never swapped on the way
    no_colour = run(ByteTracker(dataclasses.replace(TrackConfig(), appearance=False)), _bounce())
    assert no_colour[-1] != {RED: 1, BLUE: 2}  # motion alone follows the prediction: the IDs swap or restart


def _lost(label: int = 0, feature: np.ndarray | None = None, lost: int = 5) -> LostTracks:
    return LostTracks(np.array([box(50, 50)]), np.array([lost]), np.array([label]), feature)


def test_reid_gates_reject_a_far_jump_another_class_size_or_colour() -> None:
    kw = {"reid_speed": 0.1, "appearance_thresh": 0.3, "frame_wh": (320, 320)}
    near, far = np.array([box(70, 50)]), np.array([box(150, 50)])  # 20 px and 100 px from the last centre
    # lost 5 frames: the gate is (1 + 0.1 * 5) * 24 = 36 px
    assert np.isfinite(reid_cost(_lost(), near, np.array([0]), None, **kw)).all()
    assert np.isinf(reid_cost(_lost(), far, np.array([0]), None, **kw)).all()
    assert np.isfinite(reid_cost(_lost(lost=40), far, np.array([0]), None, **kw)).all()  # 5 sizes after 40 frames
    assert np.isinf(reid_cost(_lost(), near, np.array([1]), None, **kw)).all()  # another class
    assert np.isinf(reid_cost(_lost(), np.array(box(70, 50, 40)), np.array([0]), None, **kw)).all()  # 40 vs 24 px
    at_edge = LostTracks(np.array([box(20, 50)]), np.array([5]), np.array([0]), None)
    cut, small = np.array([[0, 44, 14, 56]]), np.array([[4, 44, 18, 56]])  # 14 px vs 24: too small unless cut
    assert np.isfinite(reid_cost(at_edge, cut, np.array([0]), None, **kw)).all()  # the border cut it
    assert np.isinf(reid_cost(at_edge, small, np.array([0]), None, **kw)).all()
    img = frame([(box(50, 50), RED), (box(70, 50), RED), (box(70, 110), BLUE)])
    f = colour_features(img, np.array([box(50, 50), box(70, 50), box(70, 110)]))
    same = reid_cost(_lost(feature=f[:1]), np.array([box(70, 50)]), np.array([0]), f[1:2], **kw)
    other = reid_cost(_lost(feature=f[:1]), np.array([box(70, 50)]), np.array([0]), f[2:3], **kw)
    assert np.isfinite(same).all() and np.isinf(other).all()


def test_a_same_colour_box_far_from_a_lost_track_gets_a_new_id() -> None:
    seq = [[(box(30, 80), RED)] for _ in range(5)] + [[] for _ in range(3)]
    seq += [[(box(140, 20), RED)] for _ in range(3)]  # 110+ px away after 4 frames lost: not the same object
    ids = run(ByteTracker(), seq)
    assert ids[4] == {RED: 1} and ids[-1] == {RED: 2}


@pytest.mark.parametrize("confirm", [1, 2, 3])
def test_a_new_track_is_shown_after_confirm_frames(confirm: int) -> None:
    tracker = ByteTracker(dataclasses.replace(TrackConfig(), confirm=confirm))
    tracker.update(np.zeros((0, 4)), [], [], 0)  # not the first frame: that one shows its boxes at once
    shown = [len(tracker.update(np.array([box(50 + 2 * f, 50)]), [0.9], [0], f)) for f in range(1, 5)]
    assert shown == [0] * (confirm - 1) + [1] * (5 - confirm)
