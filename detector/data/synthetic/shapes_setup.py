"""``data.shapes``: generate the built-in synthetic set on first use, never redirect the config's split paths, never
regenerate over another set (docs/DATA.md, "Generated data never replaces data").

The split paths (``data.train`` / ``data.val``) alone decide where data is read from. ``data.shapes`` only says
"generate the synthetic set into ``shapes.root`` when a split reads from there and it is missing". A split that
points elsewhere is read from where it points, with one warning (when that split is built) saying so.
Called from one place: :func:`detector.data.loader.build_dataset`.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from detector.data.coco import DatasetError, DatasetWarning
from detector.data.synthetic.manifest import manifest_params, param_difference, read_manifest
from detector.data.synthetic.shapes import META_FILE, make_shapes, shapes_params
from detector.output_files import OutputFileError

if TYPE_CHECKING:
    from detector.config import DataConfig, ShapesConfig, SplitConfig

SPLITS = ("train", "val")
ROOT_ADVICE = (
    "the synthetic set is never written over other data: set data.shapes.root (and data.train/data.val) to an empty "
    "or new folder, or remove data.shapes to read data.train/data.val as they are"
)
log = logging.getLogger(__name__)


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
    return shapes_params(shapes.num_train, shapes.num_val, shapes.img_size, shapes.seed)


def _as_overrides(params: dict) -> str:
    return " ".join(f"data.shapes.{k}={v}" for k, v in params.items() if k != "version")


def _set_in_root(root: Path) -> dict | None:
    """The parameters of the complete shapes set in ``root`` (``version`` included), None when there is none."""
    meta = read_manifest(root, META_FILE)
    if meta is None or not meta.get("complete", True):  # manifests before file lists had no "complete"
        return None
    if not all(Path(p["ann"]).is_file() for p in shapes_split_paths(root).values()):
        return None
    return manifest_params(meta)


def ensure_shapes(data: DataConfig, split: str) -> dict[str, str] | None:
    """Before reading ``split`` ("train" | "val"): when ``data.shapes`` is set and the split's ann/images point into
    ``data.shapes.root``, generate the synthetic set there (one log line says so) unless it is already there with
    the same parameters. ``data`` is read, never modified.

    Returns the split's generated paths ``{"ann", "images"}``, or None when ``data.shapes`` is not set or the split
    points elsewhere; then it gets one :class:`DatasetWarning` and is read from where it points. Raises
    :class:`DatasetError` when ``shapes.root`` holds another shapes set (other parameters: it is never regenerated
    over, a checkpoint may have been trained on it; the message names the difference) or data the generator did not
    write (:func:`detector.data.synthetic.manifest.prepare_folder`).
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
    root, wanted = Path(shapes.root), _params(shapes)
    found = _set_in_root(root)
    if found == wanted:
        return generated
    meta = read_manifest(root, META_FILE)
    if meta is not None and manifest_params(meta) != wanted:
        found_params = manifest_params(meta)
        raise DatasetError(
            f"data.shapes.root={root} holds another shapes set ({param_difference(found_params, wanted)}); a "
            "generated set is never regenerated over (a model may have been trained on it): add "
            f"{_as_overrides(found_params)} to use it, set data.shapes.root (and data.train/data.val) to a new "
            "folder, or remove the folder to generate it anew"
        )
    log.info("generating the synthetic shapes set into %s (%s)", root, _as_overrides(wanted))
    try:
        make_shapes(
            root, shapes.num_train, shapes.num_val, shapes.img_size, shapes.seed, option="data.shapes.root",
            size_option="data.shapes.img_size", advice=ROOT_ADVICE,
        )  # fmt: skip
    except OutputFileError as e:
        raise DatasetError(str(e)) from None
    return generated


def trained_set(data: DataConfig, trained: ShapesConfig | None, checkpoint: str) -> ShapesConfig | None:
    """The ``data.shapes`` an evaluation of ``checkpoint`` should use: ``data.shapes`` itself, except when
    ``data.shapes.root`` holds, instead of the set ``data.shapes`` asks for, the set the checkpoint was trained on
    (``trained``, its config's ``data.shapes``): then that set (at ``data.shapes.root``), with one
    :class:`DatasetWarning` naming the difference. It is never regenerated over."""
    shapes = data.shapes
    if shapes is None or trained is None:
        return shapes
    found = _set_in_root(Path(shapes.root))
    if found is None or found == _params(shapes) or found != _params(trained):
        return shapes
    warnings.warn(
        f"data.shapes.root={shapes.root} holds the set {checkpoint} was trained on, not the one data.shapes asks for "
        f"({param_difference(found, _params(shapes))}): evaluating on it (it is never regenerated over; set "
        "data.shapes.root to another folder for the other set)",
        DatasetWarning,
        stacklevel=2,
    )
    return replace(trained, root=shapes.root)
