"""Image decoding that always yields 3-channel uint8 RGB, whatever the file holds."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# file suffixes read as images wherever images are listed (data folders, detection sources), lower case
IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".mpo", ".pgm", ".ppm"})


class ImageReadError(OSError):
    """An image file is missing, unreadable, truncated or not an image."""


def to_rgb_uint8(img: np.ndarray, path: str | Path = "<array>") -> np.ndarray:
    """Convert a decoded array (gray, gray+alpha, BGR, BGRA; uint8/uint16/float) to RGB uint8 ``[H, W, 3]``.

    The input is in OpenCV channel order (BGR/BGRA). 16-bit images are scaled by 1/257; alpha is dropped.
    """
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0).round().clip(0, 255).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        scale = 255.0 if float(img.max(initial=0.0)) <= 1.0 else 1.0
        img = (img * scale).round().clip(0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ImageReadError(f"{path}: unsupported pixel type {img.dtype}; convert the image to 8-bit RGB")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.ndim != 3:
        raise ImageReadError(f"{path}: unsupported image shape {img.shape}")
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # gray + alpha
        return cv2.cvtColor(np.ascontiguousarray(img[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    raise ImageReadError(f"{path}: unsupported channel count {channels}")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 ``[H, W, 3]``.

    Grayscale, RGBA, palette and 16-bit images are converted. Raises :class:`ImageReadError` when the file is
    missing, cannot be decoded, or is a truncated JPEG/PNG (OpenCV would otherwise return a partly grey image).
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f"{path}: cannot read file ({e})") from e
    if data.size == 0:
        raise ImageReadError(f"{path}: empty file")
    if is_truncated(data):
        raise ImageReadError(f"{path}: truncated image file (missing end marker); re-download or re-export it")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageReadError(f"{path}: not a decodable image (corrupt or unsupported format)")
    return to_rgb_uint8(img, path)


def is_truncated(data: bytes | np.ndarray) -> bool:
    """True when JPEG/PNG bytes lack their end marker (a cut-off download). Other formats: False."""
    buf = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    if buf[:3] == b"\xff\xd8\xff":  # JPEG: must end with EOI (allow trailing padding)
        return b"\xff\xd9" not in buf[-64:]
    if buf[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in buf[-16:]
    return False
