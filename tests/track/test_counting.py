"""Counting tracks across a line."""

import numpy as np
import pytest

from detector.track.counting import LineCounter, parse_count_line


def test_crossings_in_and_out_per_class() -> None:
    counter = LineCounter(parse_count_line("0,50,100,50", 100, 100))  # horizontal, drawn left to right
    path_down = [10, 30, 45, 55, 70]  # crosses downwards once: "in"
    path_up = [80, 60, 40, 20, 20]  # crosses upwards once: "out"
    beside = [40, 45, 55, 60, 70]
    for f in range(5):
        ids = np.array([1, 2, 3])
        boxes = np.array([[20, path_down[f] - 5, 30, path_down[f] + 5], [60, path_up[f] - 5, 70, path_up[f] + 5],
                          [150, beside[f] - 5, 160, beside[f] + 5]], float)  # fmt: skip
        crossed = counter.update(ids, boxes, ["star", "ring", "star"])
        assert crossed == ([1] if f == 3 else []) + ([2] if f == 2 else []) or sorted(crossed) == sorted(
            ([1] if f == 3 else []) + ([2] if f == 2 else [])
        )
    assert counter.as_dict() == {"line": [0.0, 50.0, 100.0, 50.0], "in": {"star": 1}, "out": {"ring": 1}}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10,10,10,10", "zero length; give two different end points inside the 256x128 frame"),
        ("0,0,300,10", "(300,10) is outside the 256x128 frame"),
        ("0,-1,10,10", "outside the 256x128 frame"),
        ("1,2,3", "four numbers"),
    ],
)
def test_bad_lines_name_the_frame_size(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="--count-line") as e:
        parse_count_line(text, 256, 128)
    assert fragment in str(e.value)
