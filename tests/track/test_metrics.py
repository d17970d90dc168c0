"""MOT metrics on a sequence small enough to count by hand."""

import math

import numpy as np
import pytest

from detector.track.metrics import clear_mot, hota, identity, mot_metrics
from detector.track.mot_files import MotRows

A, B, FAR = [0, 0, 10, 10], [50, 50, 10, 10], [200, 200, 10, 10]


def rows(items: list[tuple[int, int, list[int]]]) -> MotRows:
    n = len(items)
    return MotRows(
        np.array([f for f, _, _ in items]), np.array([i for _, i, _ in items]),
        np.array([b for _, _, b in items], float).reshape(-1, 4), np.ones(n), np.zeros(n, int), np.ones(n),
    )  # fmt: skip


# gt: object 1 at A and object 2 at B on frames 1-4. Predictions: object 1 is ID 10 on frames 1-2 and ID 11 on 3-4
# (one ID switch); object 2 is ID 20, missed on frame 3 (one fragmentation); ID 30 is a false positive on frame 4.
GT = rows([(f, 1, A) for f in range(1, 5)] + [(f, 2, B) for f in range(1, 5)])
PRED = rows([(1, 10, A), (2, 10, A), (3, 11, A), (4, 11, A)] + [(f, 20, B) for f in (1, 2, 4)] + [(4, 30, FAR)])


def test_clear_mot_by_hand() -> None:
    m = clear_mot(GT, PRED)
    assert (m["TP"], m["FP"], m["FN"], m["IDSW"], m["Frag"], m["GT"]) == (7, 1, 1, 1, 1, 8)
    assert m["MOTA"] == pytest.approx(1 - (1 + 1 + 1) / 8) and m["MOTP"] == pytest.approx(1.0)


def test_identity_by_hand() -> None:
    m = identity(GT, PRED)  # best pairing: 1-10 (or 1-11) for 2 frames, 2-20 for 3 frames
    assert m["IDTP"] == 5 and m["IDF1"] == pytest.approx(2 * 5 / (8 + 8))
    assert m["IDP"] == pytest.approx(5 / 8) and m["IDR"] == pytest.approx(5 / 8)


def test_hota_by_hand() -> None:
    m = hota(GT, PRED)  # exact boxes: the same matches at every IoU threshold
    det_a = 7 / (7 + 1 + 1)
    ass_a = (2 * 2 / 4 + 2 * 2 / 4 + 3 * 3 / (4 + 3 - 3)) / 7  # per match: TPA / (TPA + FNA + FPA)
    assert m["DetA"] == pytest.approx(det_a) and m["AssA"] == pytest.approx(ass_a)
    assert m["HOTA"] == pytest.approx(math.sqrt(det_a * ass_a)) and m["LocA"] == pytest.approx(1.0)


def test_perfect_tracks_and_a_shifted_box() -> None:
    perfect = mot_metrics(GT, GT)
    assert perfect["HOTA"] == pytest.approx(1.0) and perfect["MOTA"] == 1.0 and perfect["IDF1"] == 1.0
    shifted = rows([(1, 1, [4, 0, 10, 10])])  # IoU 6/14 < 0.5 with A: no CLEAR match, HOTA only below 0.43
    m = mot_metrics(rows([(1, 1, A)]), shifted)
    assert (m["TP"], m["FP"], m["FN"]) == (0, 1, 1)
    assert m["DetA"] == pytest.approx(sum(a <= 6 / 14 for a in np.arange(0.05, 0.99, 0.05)) / 19)
