"""Training plots: a mosaic of an augmented batch with its boxes, and loss / mAP curves from ``results.csv``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from detector.engine.prediction.draw import class_color
from detector.engine.training.run_log import read_results
from detector.output_files import atomic_path


def plot_train_batch(
    images: torch.Tensor,
    targets: torch.Tensor,
    path: str | Path,
    class_names: Sequence[str] | None = None,
    max_images: int = 16,
) -> Path:
    """Draw a grid of up to ``max_images`` batch images with their target boxes and save it as JPEG.

    ``images``: ``uint8 [B, 3, S, S]`` RGB as the loader yields them; ``targets``: ``float32 [M, 6]`` rows
    ``(batch_index, label, x1, y1, x2, y2)`` in input pixels.
    """
    images = images.detach().cpu()
    targets = targets.detach().cpu().float()
    n = min(int(images.shape[0]), max_images)
    h, w = int(images.shape[2]), int(images.shape[3])
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * h, cols * w, 3), 114, dtype=np.uint8)
    for i in range(n):
        tile = np.ascontiguousarray(images[i].permute(1, 2, 0).numpy()[:, :, ::-1])  # RGB -> BGR
        for row in targets[targets[:, 0] == i].tolist():
            label = int(row[1])
            x1, y1, x2, y2 = (int(round(v)) for v in row[2:6])
            color = class_color(label, bgr=True)
            cv2.rectangle(tile, (x1, y1), (x2, y2), color, 1)
            name = class_names[label] if class_names is not None and 0 <= label < len(class_names) else str(label)
            cv2.putText(
                tile, name, (x1, max(y1 - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.3, class_color(label, bgr=True), 1
            )
        r, c = divmod(i, cols)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    path = Path(path)
    with atomic_path(path, fsync=False) as tmp:  # the temporary file keeps the suffix (OpenCV's format)
        if not cv2.imwrite(str(tmp), grid):
            raise OSError(f"could not write {path} (is the directory writable?)")
    return path


def plot_results(csv_path: str | Path, png_path: str | Path | None = None) -> Path | None:
    """Plot the loss curves and mAP / AP50 from ``results.csv`` into ``results.png`` (matplotlib's object API with
    an Agg canvas: no global backend is switched). Returns the written path, or ``None`` when the CSV has no rows yet.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = read_results(csv_path)
    if not rows:
        return None
    png_path = Path(png_path) if png_path is not None else Path(csv_path).with_name("results.png")
    epochs = [r["epoch"] + 1 for r in rows]
    titles = {"box_loss": "box loss", "obj_loss": "objectness loss", "cls_loss": "class loss", "dfl_loss": "DFL loss"}
    losses = [(k, t) for k, t in titles.items() if any(math.isfinite(r.get(k, math.nan)) for r in rows)]
    panels: list[tuple[str | None, str]] = [
        *losses[:3],
        ("total_loss", "total loss"),
        ("mAP", "mAP@[.5:.95]"),
        ("AP50", "mAP@0.5"),
    ]
    panels += [(None, "")] * (6 - len(panels))
    fig = Figure(figsize=(12, 6), tight_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    for ax, (key, title) in zip(axes.ravel(), panels, strict=True):
        if key is None:
            ax.axis("off")
            continue
        pts = [(e, r[key]) for e, r in zip(epochs, rows, strict=True) if math.isfinite(r.get(key, math.nan))]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker=".", linewidth=1.5)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    with atomic_path(png_path, fsync=False) as tmp:
        fig.savefig(tmp, dpi=100)
    return png_path
