"""Shape masks for the held-out synthetic sets: classes the built-in ``data/shapes`` set does not have.

``data/shapes`` draws circle, square, triangle, star, cross and ring. The held-out styles draw other outlines:
hexagon, crescent, arrow, ellipse, triangle_outline (a hollow triangle) and chevron. Every shape is drawn filled
with 255 into a uint8 mask [H, W] from a centre (cx, cy), an extent ``side`` (pixels: the diameter of the circle the
shape fits in, before any clipping by the image border) and a rotation ``angle`` (radians). Polygons are drawn with
4 bits of sub-pixel precision so small shapes keep their form.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_SCALE = 1 << _SHIFT


def _to_fixed(pts: np.ndarray, cx: float, cy: float, angle: float) -> np.ndarray:
    """Rotate ``pts`` [K, 2] (pixels, around the origin) by ``angle`` radians, move to (cx, cy), fixed point int32."""
    c, s = math.cos(angle), math.sin(angle)
    xy = pts @ np.array([[c, s], [-s, c]]) + (cx, cy)
    return np.round(xy * _SCALE).astype(np.int32)


def _regular(n: int, r: float, phase_deg: float = -90.0) -> np.ndarray:
    a = np.deg2rad(np.arange(n) * 360.0 / n + phase_deg)
    return np.stack([np.cos(a), np.sin(a)], 1) * r


def _fill(mask: np.ndarray, polys: list[np.ndarray]) -> None:
    cv2.fillPoly(mask, polys, 255, cv2.LINE_8, _SHIFT)


def _hexagon(mask: np.ndarray, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> None:
    _fill(mask, [_to_fixed(_regular(6, r, 0.0), cx, cy, angle)])


def _crescent(mask: np.ndarray, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> None:
    # a disc minus a slightly smaller disc shifted sideways: the bite (0.35-0.55 r) varies per object
    shift = r * float(rng.uniform(0.35, 0.55))
    centre = (round(cx * _SCALE), round(cy * _SCALE))
    cv2.circle(mask, centre, round(r * _SCALE), 255, -1, cv2.LINE_8, _SHIFT)
    bx, by = cx + shift * math.cos(angle), cy + shift * math.sin(angle)
    cv2.circle(mask, (round(bx * _SCALE), round(by * _SCALE)), round(r * 0.85 * _SCALE), 0, -1, cv2.LINE_8, _SHIFT)


def _arrow(mask: np.ndarray, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> None:
    t, h = r * 0.18, r * 0.45  # shaft half-thickness, head half-width
    pts = np.array([[-r, -t], [r * 0.25, -t], [r * 0.25, -h], [r, 0.0], [r * 0.25, h], [r * 0.25, t], [-r, t]])
    _fill(mask, [_to_fixed(pts, cx, cy, angle)])


def _ellipse(mask: np.ndarray, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> None:
    minor = r * float(rng.uniform(0.35, 0.6))
    centre = (round(cx * _SCALE), round(cy * _SCALE))
    axes = (round(r * _SCALE), round(minor * _SCALE))
    cv2.ellipse(mask, centre, axes, math.degrees(angle), 0, 360, 255, -1, cv2.LINE_8, _SHIFT)


def _triangle_outline(mask: np.ndarray, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> None:
    outer = _to_fixed(_regular(3, r), cx, cy, angle)
    inner = _to_fixed(_regular(3, r * 0.5), cx, cy, angle)  # a wall of a quarter of the side
    _fill(mask, [outer])
    cv2.fillPoly(mask, [inner], 0, cv2.LINE_8, _SHIFT)


def _chevron(mask: np.ndarray, cx: float, cy: float, r: float, angle: float, rng: np.random.Generator) -> None:
    d = r * 0.4  # thickness of the V along its axis
    pts = np.array([[-r * 0.6, -r * 0.8], [-r * 0.6 + d, -r * 0.8], [r * 0.6, 0.0]])
    pts = np.concatenate([pts, [[-r * 0.6 + d, r * 0.8], [-r * 0.6, r * 0.8], [r * 0.6 - d, 0.0]]])
    _fill(mask, [_to_fixed(pts, cx, cy, angle)])


ShapeDrawer = Callable[[np.ndarray, float, float, float, float, np.random.Generator], None]

SHAPE_DRAWERS: dict[str, ShapeDrawer] = {
    "hexagon": _hexagon,
    "crescent": _crescent,
    "arrow": _arrow,
    "ellipse": _ellipse,
    "triangle_outline": _triangle_outline,
    "chevron": _chevron,
}


def draw_heldout_shape(
    mask: np.ndarray, name: str, cx: float, cy: float, side: float, angle: float, rng: np.random.Generator
) -> None:
    """Draw shape ``name`` (a key of SHAPE_DRAWERS) filled with 255 into ``mask`` (uint8 [H, W], in place).

    ``side`` is the extent in pixels (diameter of the enclosing circle), ``angle`` the rotation in radians; ``rng``
    draws the few per-object proportions (crescent bite, ellipse aspect).
    """
    try:
        drawer = SHAPE_DRAWERS[name]
    except KeyError:
        raise ValueError(f"unknown held-out shape '{name}'; known shapes: {sorted(SHAPE_DRAWERS)}") from None
    drawer(mask, cx, cy, side / 2.0, angle, rng)
