"""Darknet ``.weights`` files: header, float32 body, and the mapping of the body onto our state dict.

File format (little-endian): int32 ``major``, ``minor``, ``revision``; ``seen`` (images seen in training) as int64
when ``major * 10 + minor >= 2``, else int32; then float32 values, for every ``[convolutional]`` in cfg order: with
``batch_normalize=1`` the BatchNorm beta (bias), gamma (scale), running mean and running variance (``filters`` each),
otherwise the conv bias (``filters``); then the kernel ``[filters, in_chs / groups, size, size]`` in C order (the
layout of ``nn.Conv2d.weight``).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detector.darknet.layout import ConvBinding, Layer, num_floats
from detector.output_files import atomic_path


class DarknetWeightsError(ValueError):
    """A ``.weights`` file does not fit its cfg (size, header); the message gives the expected and actual sizes."""


@dataclass(frozen=True)
class WeightsHeader:
    """``major.minor.revision`` of the darknet that wrote the file, and ``seen`` (training images)."""

    major: int = 0
    minor: int = 2
    revision: int = 5
    seen: int = 0

    @property
    def seen_is_64bit(self) -> bool:
        return self.major * 10 + self.minor >= 2


def read_weights(path: str | Path) -> tuple[WeightsHeader, np.ndarray]:
    """Read a ``.weights`` file: its header and the float32 body ``[N]``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"darknet weights not found: {path}")
    data = path.read_bytes()
    if len(data) < 16:
        raise DarknetWeightsError(f"{path}: {len(data)} bytes is too short for a darknet .weights header")
    major, minor, revision = struct.unpack("<3i", data[:12])
    if major > 1000 or minor > 1000 or major < 0 or minor < 0:
        raise DarknetWeightsError(
            f"{path}: header version {major}.{minor}.{revision} is not that of a darknet .weights file "
            "(transposed-weights files, major or minor > 1000, are not supported)"
        )
    wide = major * 10 + minor >= 2
    if wide and len(data) < 20:
        raise DarknetWeightsError(f"{path}: {len(data)} bytes is too short for a version {major}.{minor} header")
    (seen,) = struct.unpack("<q" if wide else "<i", data[12 : 20 if wide else 16])
    body = data[20 if wide else 16 :]
    if len(body) % 4:
        raise DarknetWeightsError(
            f"{path}: {len(body)} bytes after the header is not a whole number of float32 values; the file is "
            "truncated or damaged"
        )
    return WeightsHeader(major, minor, revision, int(seen)), np.frombuffer(body, dtype="<f4").copy()


def write_weights(path: str | Path, floats: np.ndarray, header: WeightsHeader = WeightsHeader()) -> Path:
    """Write ``floats`` (float32 ``[N]``) with ``header`` (written to a temp file, then renamed into place by
    :func:`detector.output_files.atomic_path`; an existing ``path`` is replaced: callers check first)."""
    seen = struct.pack("<q" if header.seen_is_64bit else "<i", header.seen)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(struct.pack("<3i", header.major, header.minor, header.revision) + seen)
        f.write(np.ascontiguousarray(floats, dtype="<f4").tobytes())
    return Path(path)


def _conv_keys(layer: Layer, b: ConvBinding) -> list[tuple[str, int]]:
    """``(state-dict key, floats per output channel)`` in file order for one convolution (``b = layer.conv``)."""
    kernel = (layer.in_chs // layer.int_option("groups", 1)) * layer.int_option("size") ** 2
    if b.bn:
        p = b.prefix
        return [(f"{p}.bn.bias", 1), (f"{p}.bn.weight", 1), (f"{p}.bn.running_mean", 1), (f"{p}.bn.running_var", 1)] + [
            (f"{p}.conv.weight", kernel)
        ]
    return [(f"{b.prefix}.bias", 1), (f"{b.prefix}.weight", kernel)]


def check_float_count(layers: Sequence[Layer], floats: np.ndarray, source: str) -> None:
    """Raise :class:`DarknetWeightsError` unless ``floats`` has exactly the values ``layers`` need, stating both."""
    expected = num_floats(layers)
    if len(floats) != expected:
        what = "is short by" if len(floats) < expected else "has extra"
        raise DarknetWeightsError(
            f"{source}: the cfg needs {expected:,} floats after the header, the file holds {len(floats):,} "
            f"({what} {abs(len(floats) - expected):,}); these weights belong to another cfg (other classes, "
            "widths or layers) or the file is truncated"
        )


def floats_to_state(
    layers: Sequence[Layer], floats: np.ndarray, own: Mapping[str, torch.Tensor], source: str
) -> dict[str, torch.Tensor]:
    """Map a ``.weights`` body onto a copy of ``own`` (our model's state dict).

    The body must have exactly the floats the layers need, and they must cover every parameter and BatchNorm
    statistic of ``own`` (buffers such as the anchors keep ``own``'s values). ``own`` itself is not modified: the
    caller loads the result in one step, so a bad file leaves the model untouched."""
    check_float_count(layers, floats, source)
    state = {k: v.clone() for k, v in own.items()}
    filled: set[str] = set()
    pos = 0
    for layer in layers:
        if layer.conv is None:
            continue
        b, n = layer.conv, layer.conv.stop - layer.conv.start
        for key, per_row in _conv_keys(layer, b):
            chunk = torch.from_numpy(floats[pos : pos + n * per_row].copy())
            pos += n * per_row
            target = state[key]
            target[b.start : b.stop] = chunk.view(n, *target.shape[1:]).to(target.dtype)
            filled.add(key)
    learned = ("weight", "bias", "running_mean", "running_var")  # not num_batches_tracked, not config buffers
    missing = [k for k in own if k not in filled and k.rsplit(".", 1)[-1] in learned]
    if missing:
        raise RuntimeError(f"darknet layout does not cover {missing[:5]} of the model (a bug in the layout)")
    return state


def state_to_floats(layers: Sequence[Layer], state: Mapping[str, torch.Tensor]) -> np.ndarray:
    """The ``.weights`` body (float32 ``[N]``) of our state dict, in the order of ``layers``."""
    parts = []
    for layer in layers:
        if layer.conv is None:
            continue
        b = layer.conv
        for key, _ in _conv_keys(layer, b):
            parts.append(state[key][b.start : b.stop].detach().float().cpu().reshape(-1).numpy())
    return np.concatenate(parts).astype("<f4") if parts else np.zeros(0, dtype="<f4")
