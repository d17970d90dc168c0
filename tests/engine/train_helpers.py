"""Tiny configs for the training-engine tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import yaml

from detector.data.shapes_setup import shapes_split_paths

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = ROOT / "configs" / "defaults.yaml"

# ~40k-parameter detector: CSPResNeXt at 1/16 width, one block per stage, a thin neck; anchors for 64-px images.
TINY_MODEL = {
    "backbone": {"name": "cspresnext50", "pretrained": False, "width_mult": 0.0625, "depth_mult": 0.34},
    "neck": {"widths": [16, 24, 32], "depth": 1, "spp_kernels": [3, 5, 7]},
    "head": {"yolov4": {"anchors": [[6, 6, 9, 9, 12, 12], [15, 15, 19, 19, 23, 23], [27, 27, 32, 32, 40, 40]]}},
}

# the same with the anchor-free decoupled head (8 distance bins: 64-px images)
TINY_DECOUPLED = {**TINY_MODEL, "head": {"type": "decoupled", "decoupled": {"reg_max": 8}}}
TINY_MODELS = {"yolov4": TINY_MODEL, "decoupled": TINY_DECOUPLED}


def tiny_config(
    path: Path, out_dir: Path, shapes_root: Path, *, train: dict | None = None, data: dict | None = None, **sections
) -> Path:
    """Write a YAML config (based on configs/defaults.yaml) for a tiny CPU run on the synthetic shapes set."""
    cfg = {
        "base": str(DEFAULTS),
        "model": TINY_MODEL,
        "data": {
            "shapes": {"root": str(shapes_root), "num_train": 16, "num_val": 8, "img_size": 64, "seed": 0},
            **shapes_split_paths(shapes_root),  # data.train / data.val read the generated set
            "img_size": 64,
            "augment": {"close_mosaic": 1},
            **(data or {}),
        },
        "train": {
            "epochs": 2,
            "batch_size": 8,
            "nominal_batch_size": 16,
            "workers": 0,
            "device": "cpu",
            "out_dir": str(out_dir),
            "warmup_epochs": 1.0,
            "save_batches": 1,
            **(train or {}),
        },
        "eval": {"batch_size": 8},
        **sections,
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
