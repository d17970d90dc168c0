"""Config keys holding a path that cannot be empty (``EMPTY_MEANS_NOTHING``), checked when a config is loaded.

``train.out_dir=`` would otherwise write the run into the current folder, or fail deep inside with
``PosixPath('.') has an empty name``; an empty value is a :class:`detector.config.ConfigError` that names the key
and what to put there. Path keys where empty means "unset" stay allowed: ``train.weights`` (no fine-tuning, as
null) and ``data.{train,val}.{ann,images}`` (their default; building the dataset names the key to set).
"""

from __future__ import annotations

from typing import Any

EMPTY_MEANS_NOTHING: dict[str, str] = {  # key -> what to set instead
    "train.out_dir": "set it to the run folder, e.g. train.out_dir=runs/train/exp",
    "data.shapes.root": "set it to the synthetic set's folder, e.g. data.shapes.root=data/shapes "
    "(or data.shapes=null not to generate it)",
    "model.backbone.pretrained": "use true (official weights), false (random init) or a weights file path",
}


def empty_path_problem(key: str, value: Any) -> str | None:
    """None unless ``key`` is in :data:`EMPTY_MEANS_NOTHING` and ``value`` is an empty (or blank) string; then
    ``"'<key>' is empty: <what to set>"``."""
    if key in EMPTY_MEANS_NOTHING and isinstance(value, str) and not value.strip():
        return f"'{key}' is empty: {EMPTY_MEANS_NOTHING[key]}"
    return None
