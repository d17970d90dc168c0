"""MOTChallenge files: writer/reader round trip and the reader's errors."""

import numpy as np
import pytest

from detector.track.mot_files import mot_lines, read_mot, write_mot


def test_round_trip(tmp_path) -> None:
    lines = mot_lines(
        0, np.array([3, 7]), np.array([[10, 20, 40, 60], [0.5, 1, 2.5, 3]]), np.array([0.9, 0.25]), np.array([2, 0])
    )
    lines += mot_lines(4, np.array([3]), np.array([[12, 22, 42, 62]]), np.array([0.8]), np.array([2]))
    assert lines[0] == "1,3,10.00,20.00,30.00,40.00,0.9000,2"
    write_mot(tmp_path / "t.txt", lines)
    rows = read_mot(tmp_path / "t.txt")
    assert rows.frames.tolist() == [1, 1, 5] and rows.ids.tolist() == [3, 7, 3] and rows.labels.tolist() == [2, 0, 2]
    np.testing.assert_allclose(rows.boxes_xywh[1], [0.5, 1, 2, 2])
    np.testing.assert_allclose(rows.scores, [0.9, 0.25, 0.8])
    ids, boxes = rows.frame(5)
    assert ids.tolist() == [3] and boxes.tolist() == [[12, 22, 42, 62]]
    assert rows.visibility.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1,1,0,0,10,10\n", "at least 7"),
        ("0,1,0,0,10,10,1\n", "frame must be an integer >= 1"),
        ("1,1,0,0,-1,10,1\n", "negative box width"),
        ("1,a,0,0,1,10,1\n", "not numbers"),
        ("2,4,0,0,1,1,1\n2,4,5,5,1,1,1\n", "id 4 appears twice in frame 2"),
    ],
)
def test_bad_rows_are_named(tmp_path, text: str, fragment: str) -> None:
    (tmp_path / "t.txt").write_text(text)
    with pytest.raises(ValueError, match=fragment) as e:
        read_mot(tmp_path / "t.txt", "--mot-pred")
    assert "--mot-pred" in str(e.value)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="--mot-gt"):
        read_mot(tmp_path / "nope.txt", "--mot-gt")
