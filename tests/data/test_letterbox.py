import numpy as np
import pytest

from detector.data.letterbox import LetterboxParams, letterbox, letterbox_boxes


def _inverse(boxes_xyxy: np.ndarray, p: LetterboxParams) -> np.ndarray:
    out = boxes_xyxy.copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - p.pad_x) / p.scale
    out[:, [1, 3]] = (out[:, [1, 3]] - p.pad_y) / p.scale
    return out


@pytest.mark.parametrize("hw", [(48, 64), (64, 48), (100, 100), (30, 200)])
def test_letterbox_square_round_trip(hw):
    h, w = hw
    img = np.zeros((h, w, 3), np.uint8)
    img[10:20, 5:25] = 255  # a white block at x 5..25, y 10..20 (edge coordinates)
    out, p = letterbox(img, 128)
    assert out.shape == (128, 128, 3)
    assert (p.orig_h, p.orig_w) == (h, w)
    assert p.scale == pytest.approx(min(128 / h, 128 / w), rel=0.02)
    boxes = np.array([[5, 10, 25, 20]], np.float32)
    fwd = letterbox_boxes(boxes, p)
    np.testing.assert_allclose(_inverse(fwd, p), boxes, atol=1e-4)
    x1, y1, x2, y2 = fwd[0].round().astype(int)
    assert out[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1].min() > 200  # the block is where the mapped box says
    assert (out[: int(p.pad_y)] == 114).all() and (out[:, : int(p.pad_x)] == 114).all()


@pytest.mark.parametrize(
    "hw, stride, out_hw, pad_xy",
    [
        ((100, 200), 32, (128, 256), (0, 0)),  # 128 rows: already a multiple of 32
        ((90, 200), 32, (128, 256), (0, 6)),  # 115 rows -> 128: 6 above, 7 below
        ((200, 90), 32, (256, 128), (6, 0)),  # the same, transposed
        ((50, 210), 32, (64, 256), (0, 1)),  # 61 rows -> 64: 1 above, 2 below
        ((50, 210), 128, (128, 256), (0, 33)),  # 61 rows -> 128 with stride 128
    ],
)
def test_letterbox_auto_pads_each_side_to_a_multiple_of_stride(hw, stride, out_hw, pad_xy):
    h, w = hw
    out, p = letterbox(np.zeros((h, w, 3), np.uint8), 256, auto=True, stride=stride)
    assert out.shape == (*out_hw, 3)
    assert (p.pad_x, p.pad_y) == pad_xy
    new_h, new_w = round(h * p.scale), round(w * p.scale)
    assert max(new_h, new_w) == 256  # the long side fills the requested size
    image = np.zeros(out_hw, bool)
    image[pad_xy[1] : pad_xy[1] + new_h, pad_xy[0] : pad_xy[0] + new_w] = True
    assert (out[image] == 0).all() and (out[~image] == 114).all()  # the image where the params say, padding around


def test_letterbox_no_scaleup_keeps_small_images():
    out, p = letterbox(np.zeros((20, 10, 3), np.uint8), 64, scaleup=False)
    assert out.shape == (64, 64, 3) and p.scale == 1.0 and (p.pad_x, p.pad_y) == (27.0, 22.0)
