"""Backgrounds, colour palettes and object fills for the held-out synthetic sets.

They differ on purpose from ``data/shapes`` (a two-colour linear gradient with blurred noise and faint lines, object
colours uniform in RGB): backgrounds are multi-octave plasma, stripes, checkerboards, radial gradients or blurred
blobs; object colours come from named HSV palettes (pastel, neon, earth, mono); objects are filled flat, with a
gradient or with speckle. All images are RGB uint8 [H, W, 3]; every function draws only from the ``rng`` it gets.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import cv2
import numpy as np

# palette -> (hue range in turns, saturation range, value range)
PALETTES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "pastel": ((0.0, 1.0), (0.15, 0.4), (0.85, 1.0)),
    "neon": ((0.0, 1.0), (0.85, 1.0), (0.85, 1.0)),
    "earth": ((0.03, 0.17), (0.3, 0.75), (0.25, 0.75)),
    "mono": ((0.0, 1.0), (0.0, 0.0), (0.0, 1.0)),
}


def palette_colour(palette: str, rng: np.random.Generator) -> np.ndarray:
    """One RGB colour (float [3], 0..255) from the named palette."""
    try:
        (h0, h1), (s0, s1), (v0, v1) = PALETTES[palette]
    except KeyError:
        raise ValueError(f"unknown palette '{palette}'; known palettes: {sorted(PALETTES)}") from None
    rgb = colorsys.hsv_to_rgb(float(rng.uniform(h0, h1)), float(rng.uniform(s0, s1)), float(rng.uniform(v0, v1)))
    return np.array(rgb) * 255.0


def contrasting_colour(
    palette: str, under_mean: np.ndarray, min_contrast: float, rng: np.random.Generator, tries: int = 40
) -> np.ndarray:
    """A palette colour whose L1 distance (sum over RGB, 0..765) to ``under_mean`` is at least ``min_contrast``;
    after ``tries`` misses, the best candidate seen (so a palette that cannot contrast still gives a colour)."""
    best, best_d = palette_colour(palette, rng), -1.0
    for _ in range(tries):
        col = palette_colour(palette, rng)
        d = float(np.abs(col - under_mean).sum())
        if d >= min_contrast:
            return col
        if d > best_d:
            best, best_d = col, d
    return best


def _two_tone(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Map a field ``t`` [H, W] in [0, 1] between two random colours: float [H, W, 3]."""
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    return c0 * (1.0 - t[..., None]) + c1 * t[..., None]


def _plasma(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    field = np.zeros((h, w), np.float32)
    for octave in range(4):  # value noise: random grids of 3, 6, 12, 24 cells, upsampled, halving amplitude
        g = 3 * 2**octave
        field += cv2.resize(rng.random((g, g)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC) / 2**octave
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-6)
    return _two_tone(field, rng)


def _stripes(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    theta, period = rng.uniform(0, np.pi), rng.uniform(6, 40)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = (x * np.cos(theta) + y * np.sin(theta)) * (2 * np.pi / period)
    return _two_tone(0.5 + 0.5 * np.sin(phase) * rng.uniform(0.3, 1.0), rng)


def _checker(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    cell = int(rng.integers(8, 48))
    y, x = np.mgrid[0:h, 0:w]
    t = ((x // cell + y // cell) % 2).astype(np.float32) * rng.uniform(0.2, 0.7)
    return cv2.GaussianBlur(_two_tone(t, rng).astype(np.float32), (0, 0), 0.8)


def _radial(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    cx, cy = rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot(x - cx, y - cy)
    return _two_tone(d / max(float(d.max()), 1e-6), rng)


def _blobs(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    bg = np.zeros((h, w, 3), np.float32) + rng.uniform(30, 220, 3)
    for _ in range(int(rng.integers(6, 16))):  # soft out-of-focus ellipses (never sharp enough to look like objects)
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(w // 16, w // 3)), int(rng.integers(h // 16, h // 3)))
        col = tuple(float(v) for v in rng.uniform(30, 220, 3))
        cv2.ellipse(bg, centre, axes, float(rng.uniform(0, 180)), 0, 360, col, -1)
    return cv2.GaussianBlur(bg, (0, 0), max(h, w) / 20)


BACKGROUNDS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "plasma": _plasma,
    "stripes": _stripes,
    "checker": _checker,
    "radial": _radial,
    "blobs": _blobs,
}


def make_background(kind: str, h: int, w: int, rng: np.random.Generator, noise_std: float) -> np.ndarray:
    """Background ``kind`` (a key of BACKGROUNDS) plus Gaussian pixel noise of ``noise_std`` grey levels:
    RGB uint8 [h, w, 3]."""
    try:
        make = BACKGROUNDS[kind]
    except KeyError:
        raise ValueError(f"unknown background '{kind}'; known backgrounds: {sorted(BACKGROUNDS)}") from None
    bg = make(h, w, rng) + rng.normal(0.0, noise_std, (h, w, 3))
    return np.clip(bg, 0, 255).astype(np.uint8)


def fill_pixels(kind: str, colour: np.ndarray, ys: np.ndarray, xs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colours for an object's pixels at (ys, xs) [K]: ``flat`` (slight shading), ``gradient`` (colour to a darker
    shade along a random direction) or ``speckle`` (per-pixel noise). Returns uint8 [K, 3]."""
    k = len(xs)
    if kind == "flat":
        out = colour * rng.uniform(0.92, 1.08) + np.zeros((k, 1))
    elif kind == "gradient":
        theta = rng.uniform(0, 2 * np.pi)
        proj = xs * np.cos(theta) + ys * np.sin(theta)
        t = (proj - proj.min()) / max(float(np.ptp(proj)), 1.0) if k else proj
        out = colour * (1.0 - 0.45 * t[:, None])
    elif kind == "speckle":
        out = colour + rng.normal(0.0, 18.0, (k, 3))
    else:
        raise ValueError(f"unknown fill '{kind}'; known fills: ['flat', 'gradient', 'speckle']")
    return np.clip(out, 0, 255).astype(np.uint8)
