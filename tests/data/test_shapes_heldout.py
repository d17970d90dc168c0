"""Held-out shape masks and textures: new classes, sizes, palettes, errors."""

import numpy as np
import pytest

from detector.data.synthetic.heldout import SHAPE_DRAWERS, draw_heldout_shape
from detector.data.synthetic.heldout_textures import BACKGROUNDS, contrasting_colour, fill_pixels, make_background
from detector.data.synthetic.shapes import CLASS_NAMES as SHAPES_CLASS_NAMES


def _mask(name: str, side: float, angle: float = 0.3, size: int = 96) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    draw_heldout_shape(mask, name, size / 2, size / 2, side, angle, np.random.default_rng(0))
    return mask


def test_heldout_classes_are_not_shapes_classes():
    assert set(SHAPE_DRAWERS).isdisjoint(SHAPES_CLASS_NAMES)
    assert len(SHAPE_DRAWERS) == 6


@pytest.mark.parametrize("name", sorted(SHAPE_DRAWERS))
def test_shape_fits_its_extent_and_fills_part_of_it(name):
    for side in (8.0, 40.0, 80.0):
        ys, xs = np.nonzero(_mask(name, side))
        extent = max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert side * 0.5 <= extent <= side + 2, (name, side, extent)
        assert 0.1 * side**2 < len(xs) < 0.8 * (side + 2) ** 2, (name, side, len(xs))  # a disc: 0.785 side²


def test_shapes_are_distinct_masks():
    masks = {n: _mask(n, 60.0, angle=0.0) > 0 for n in SHAPE_DRAWERS}
    names = sorted(masks)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            iou = (masks[a] & masks[b]).sum() / (masks[a] | masks[b]).sum()
            assert iou < 0.8, (a, b, iou)


def test_outline_shapes_are_hollow():
    mask = _mask("triangle_outline", 60.0, angle=0.0)
    assert mask[48, 48] == 0 and mask.any()  # the centre of the triangle is not painted


def test_unknown_names_are_errors_that_list_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown held-out shape 'star'.*hexagon"):
        _mask("star", 20.0)
    with pytest.raises(ValueError, match=r"unknown background 'wood'.*plasma"):
        make_background("wood", 8, 8, np.random.default_rng(0), 1.0)
    with pytest.raises(ValueError, match=r"unknown fill 'dots'"):
        fill_pixels("dots", np.zeros(3), np.zeros(1), np.zeros(1), np.random.default_rng(0))


@pytest.mark.parametrize("kind", sorted(BACKGROUNDS))
def test_backgrounds_are_rgb_images_with_texture(kind):
    bg = make_background(kind, 48, 64, np.random.default_rng(1), 4.0)
    assert bg.shape == (48, 64, 3) and bg.dtype == np.uint8
    assert bg.std() > 2.0  # never flat


def test_contrasting_colour_keeps_its_distance():
    rng = np.random.default_rng(0)
    for under in (np.array([20.0, 20.0, 20.0]), np.array([240.0, 240.0, 240.0])):
        for palette in ("pastel", "neon", "mono"):
            col = contrasting_colour(palette, under, 110.0, rng)
            assert np.abs(col - under).sum() >= 110.0, (palette, under, col)
