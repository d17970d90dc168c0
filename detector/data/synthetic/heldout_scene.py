"""Scene composer for the held-out synthetic sets: places shapes, occluders and colours on a background.

Two styles, both away from the ``data/shapes`` distribution:

- ``heldout_a``: 3 classes (hexagon, crescent, arrow), 1-8 objects, extents 8-160 px (log-uniform), partial
  occlusion by other objects and by sticks (flat bars, no class), a few empty images.
- ``heldout_b``: 6 classes (hexagon, crescent, arrow, ellipse, triangle_outline, chevron), dense scenes of 15-40
  objects, most of them small (8-20 px), overlapping.

Objects are painted back to front; a candidate that would leave an earlier object with less than
``min_visible`` of its pixels is rejected and drawn again. Boxes are the tight bounds of each object's *visible*
pixels (those it still owns in the instance map after everything is painted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from detector.data.synthetic.heldout import draw_heldout_shape
from detector.data.synthetic.heldout_textures import contrasting_colour, fill_pixels, make_background


@dataclass(frozen=True)
class HeldoutStyle:
    """Parameters of one held-out style. Sizes are object extents in pixels (before clipping to the image)."""

    name: str
    stream: int  # mixed into every image's seed so styles never share random streams
    class_names: tuple[str, ...]
    objects: tuple[int, int]  # objects per non-empty image, inclusive
    empty_p: float  # probability of an image without objects
    size_px: tuple[float, float]  # log-uniform extent range
    small_p: float  # probability that an object's extent comes from small_px instead
    small_px: tuple[float, float]
    min_visible: float  # fraction of an object's own pixels that must stay visible
    occluders: tuple[int, int]  # sticks (flat bars, no class) painted over the objects, inclusive
    min_pixels: int  # smallest object, in visible pixels
    backgrounds: tuple[str, ...]
    palettes: tuple[str, ...]
    fills: tuple[str, ...]
    min_contrast: float  # L1 RGB distance between an object's colour and what it is painted over
    noise_std: float  # background pixel noise, grey levels
    blur_sigma: tuple[float, float]  # final Gaussian blur, pixels (0 = none)


STYLES: dict[str, HeldoutStyle] = {
    "heldout_a": HeldoutStyle(
        name="heldout_a",
        stream=1001,
        class_names=("hexagon", "crescent", "arrow"),
        objects=(1, 8),
        empty_p=0.03,
        size_px=(8.0, 160.0),
        small_p=0.0,
        small_px=(8.0, 8.0),
        min_visible=0.5,
        occluders=(0, 3),
        min_pixels=12,
        backgrounds=("plasma", "stripes", "checker", "radial", "blobs"),
        palettes=("pastel", "neon", "earth", "mono"),
        fills=("flat", "gradient", "speckle"),
        min_contrast=110.0,
        noise_std=6.0,
        blur_sigma=(0.0, 0.9),
    ),
    "heldout_b": HeldoutStyle(
        name="heldout_b",
        stream=1002,
        class_names=("hexagon", "crescent", "arrow", "ellipse", "triangle_outline", "chevron"),
        objects=(15, 40),
        empty_p=0.0,
        size_px=(20.0, 72.0),
        small_p=0.6,
        small_px=(8.0, 20.0),
        min_visible=0.4,
        occluders=(0, 0),
        min_pixels=12,
        backgrounds=("plasma", "stripes", "checker", "radial", "blobs"),
        palettes=("pastel", "neon", "earth", "mono"),
        fills=("flat", "gradient", "speckle"),
        min_contrast=130.0,
        noise_std=5.0,
        blur_sigma=(0.3, 0.6),
    ),
}


def get_style(name: str) -> HeldoutStyle:
    """The style called ``name``; an unknown name is a ValueError listing the known ones."""
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown held-out style '{name}'; known styles: {sorted(STYLES)}") from None


@dataclass
class Scene:
    """One composed image and its ground truth.

    image: RGB uint8 [H, W, 3]; background: the same scene before any object (RGB uint8 [H, W, 3]);
    instance_map: int16 [H, W], 0 = background or occluder, k + 1 = object k (the one visible there);
    boxes_xyxy: float32 [N, 4] pixels, tight around each object's visible pixels (x2, y2 exclusive);
    labels: int64 [N], 0-based indices into the style's class_names; areas: float64 [N] visible pixel counts.
    """

    image: np.ndarray
    background: np.ndarray
    instance_map: np.ndarray
    boxes_xyxy: np.ndarray
    labels: np.ndarray
    areas: np.ndarray


def _log_uniform(lo: float, hi: float, rng: np.random.Generator) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _extent(style: HeldoutStyle, size: int, rng: np.random.Generator, small_only: bool) -> float:
    lo, hi = style.small_px if small_only or rng.random() < style.small_p else style.size_px
    return min(_log_uniform(lo, hi, rng), 0.7 * size)


def _accepts(mask: np.ndarray, inst: np.ndarray, visible: list[int], full: list[int], min_visible: float) -> bool:
    """True when painting ``mask`` over ``inst`` leaves every earlier object with >= min_visible of its pixels."""
    if not visible:
        return True
    lost = np.bincount(inst[mask > 0].ravel(), minlength=len(visible) + 1)[1:]
    return all(v - lo >= min_visible * f for v, lo, f in zip(visible, lost, full, strict=True))


def _paint_over(inst: np.ndarray, mask: np.ndarray, visible: list[int], value: int) -> None:
    """Give the pixels of ``mask`` to instance ``value`` (0 = occluder), updating the visible counts."""
    lost = np.bincount(inst[mask > 0].ravel(), minlength=len(visible) + 1)[1:]
    for j, lo in enumerate(lost):
        visible[j] -= int(lo)
    inst[mask > 0] = value


def _occluder_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A stick: a rotated bar 3-12 px thick and 25-45 % of the image long: uint8 [size, size] (255 inside)."""
    mask = np.zeros((size, size), np.uint8)
    cx, cy = rng.uniform(0, size, 2)
    half, theta = rng.uniform(0.125, 0.225) * size, rng.uniform(0, np.pi)
    p1 = (round(cx - half * math.cos(theta)), round(cy - half * math.sin(theta)))
    p2 = (round(cx + half * math.cos(theta)), round(cy + half * math.sin(theta)))
    cv2.line(mask, p1, p2, 255, int(rng.integers(3, 13)), cv2.LINE_8)
    return mask


def compose_scene(style: HeldoutStyle, size: int, rng: np.random.Generator) -> Scene:
    """Compose one ``size`` x ``size`` image of ``style`` from ``rng`` (the same generator state, the same scene)."""
    background = make_background(str(rng.choice(style.backgrounds)), size, size, rng, style.noise_std)
    palette, img = str(rng.choice(style.palettes)), background.copy()
    inst = np.zeros((size, size), np.int16)
    visible: list[int] = []
    full: list[int] = []
    labels: list[int] = []
    n = 0 if rng.random() < style.empty_p else int(rng.integers(style.objects[0], style.objects[1] + 1))
    attempts = 0
    while len(labels) < n and attempts < 30 * n:
        attempts += 1
        side = _extent(style, size, rng, small_only=attempts > 10 * n)  # dense scene nearly full: go small
        margin = side * 0.35  # the centre may sit near the border: objects can be cut by it
        cx, cy = rng.uniform(margin, size - margin, 2)
        cls = int(rng.integers(len(style.class_names)))
        mask = np.zeros((size, size), np.uint8)
        draw_heldout_shape(mask, style.class_names[cls], cx, cy, side, rng.uniform(0, 2 * math.pi), rng)
        ys, xs = np.nonzero(mask)
        if len(xs) < style.min_pixels or not _accepts(mask, inst, visible, full, style.min_visible):
            continue
        colour = contrasting_colour(palette, img[ys, xs].reshape(-1, 3).mean(0), style.min_contrast, rng)
        img[ys, xs] = fill_pixels(str(rng.choice(style.fills)), colour, ys, xs, rng)
        _paint_over(inst, mask, visible, len(labels) + 1)
        visible.append(len(xs))
        full.append(len(xs))
        labels.append(cls)
    for _ in range(int(rng.integers(style.occluders[0], style.occluders[1] + 1)) if labels else 0):
        mask = _occluder_mask(size, rng)
        if _accepts(mask, inst, visible, full, style.min_visible):
            ys, xs = np.nonzero(mask)
            colour = contrasting_colour(palette, img[ys, xs].reshape(-1, 3).mean(0), style.min_contrast, rng)
            img[ys, xs] = fill_pixels("flat", colour, ys, xs, rng)  # a stick in front: it hides, it is no object
            _paint_over(inst, mask, visible, 0)
    sigma = float(rng.uniform(*style.blur_sigma))
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    boxes_xyxy, areas = _visible_boxes(inst, len(labels))
    return Scene(img, background, inst, boxes_xyxy, np.array(labels, np.int64), areas)


def _visible_boxes(inst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tight boxes_xyxy float32 [n, 4] (x2, y2 exclusive) and pixel counts [n] of instances 1..n in ``inst``."""
    boxes, areas = np.zeros((n, 4), np.float32), np.zeros(n, np.float64)
    for k in range(n):
        ys, xs = np.nonzero(inst == k + 1)
        boxes[k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        areas[k] = len(xs)
    return boxes, areas
