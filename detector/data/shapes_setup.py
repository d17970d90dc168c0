"""``data.shapes``: generate the built-in synthetic set on first use, never redirect the config's split paths.

The split paths (``data.train`` / ``data.val``) alone decide where data is read from. ``data.shapes`` only says
"generate the synthetic set into ``shapes.root`` when a split reads from there and it is missing". A split that
points elsewhere is read from where it points, with one warning (when that split is built) saying so.
Called from one place: :func:`detector.data.loader.build_dataset`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from detector.data.coco import DatasetError, DatasetWarning
from detector.data.shapes import VERSION, make_shapes, shapes_folder_meta
from detector.output_files import OutputFileError

if TYPE_CHECKING:
    from detector.config import DataConfig, ShapesConfig, SplitConfig

SPLITS = ("train", "val")


def shapes_split_paths(root: str | Path) -> dict[str, dict[str, str]]:
    """Where :func:`make_shapes` writes each split under ``root``: ``{"train": {"ann", "images"}, "val": {...}}``."""
    root = Path(root)
    return {s: {"ann": str(root / f"{s}.json"), "images": str(root / s / "images")} for s in SPLITS}


def split_config(data: DataConfig, split: str) -> SplitConfig:
    """``data.train`` or ``data.val``; any other ``split`` is a ValueError."""
    if split == "train":
        return data.train
    if split == "val":
        return data.val
    raise ValueError(f"split must be 'train' or 'val', got {split!r}")


def _same(a: str, b: str) -> bool:
    return bool(a) and Path(a).resolve() == Path(b).resolve()


def _params(shapes: ShapesConfig) -> dict[str, int]:
    return {"num_train": shapes.num_train, "num_val": shapes.num_val, "img_size": shapes.img_size, "seed": shapes.seed}


def _read_meta(root: Path) -> dict | None:
    """The generator's metadata in ``root``, None when absent; foreign data in ``root`` raises DatasetError (the same
    rule as ``tools/make_shapes.py --out``, without an ``--exist-ok`` here)."""
    try:
        return shapes_folder_meta(
            root,
            label=f"data.shapes.root={root}",
            name="data.shapes.root",
            advice="the synthetic set is never written over other data: set data.shapes.root (and data.train/"
            "data.val) to an empty or new folder, or remove data.shapes to read data.train/data.val as they are",
        )
    except OutputFileError as e:
        raise DatasetError(str(e)) from None


def ensure_shapes(data: DataConfig, split: str) -> dict[str, str] | None:
    """Before reading ``split`` ("train" | "val"): when ``data.shapes`` is set and the split's ann/images point into
    ``data.shapes.root``, generate the synthetic set there (unless it is already there with the same parameters).
    ``data`` is read, never modified.

    Returns the split's generated paths ``{"ann", "images"}``, or None when ``data.shapes`` is not set or the split
    points elsewhere; then it gets one :class:`DatasetWarning` and is read from where it points. Raises
    :class:`DatasetError` when ``shapes.root`` holds data that the generator did not write.
    """
    shapes = data.shapes
    if shapes is None:
        return None
    cfg, generated = split_config(data, split), shapes_split_paths(shapes.root)[split]
    same = [_same(cfg.ann, generated["ann"]), _same(cfg.images, generated["images"])]
    if not all(same):
        warnings.warn(
            f"data.shapes is set (root {shapes.root}) but data.{split} points elsewhere (ann={cfg.ann or '<empty>'}, "
            f"images={cfg.images or '<empty>'}): data.{split} is read from there, not from the synthetic set "
            "(remove data.shapes if no split uses it)",
            DatasetWarning,
            stacklevel=2,
        )
    if not any(same):
        return None
    root = Path(shapes.root)
    meta = _read_meta(root)
    complete = all(Path(p["ann"]).is_file() for p in shapes_split_paths(root).values())
    if meta != {**_params(shapes), "version": VERSION} or not complete:
        make_shapes(root, shapes.num_train, shapes.num_val, shapes.img_size, shapes.seed)
    return generated
