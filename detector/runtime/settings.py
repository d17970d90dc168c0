"""The ``predict`` settings of an exported file: its stored NMS settings, then the user's ``predict.*`` overrides."""

from __future__ import annotations

from collections.abc import Sequence

from detector.config import PredictConfig, config_from_dict
from detector.runtime.base import ModelInfo


def exported_predict_settings(info: ModelInfo, overrides: Sequence[str], source: str) -> PredictConfig:
    """``PredictConfig`` from ``info.nms`` and the file's input side, with ``predict.key=value`` ``overrides``
    applied (validated like a config). Any other key is a ValueError: an exported file has no config to apply it to."""
    other = [o for o in overrides if not o.strip().startswith("predict.")]
    if other:
        raise ValueError(
            f"{source} is an exported file: only predict.* settings apply to it, not {', '.join(other)} "
            "(the model and its training settings are fixed at export)"
        )
    nms = info.nms
    predict: dict[str, object] = {
        "conf": nms.conf,
        "iou": nms.iou,
        "max_det": nms.max_det,
        "multi_label": nms.multi_label,
    }
    if info.input_hw is not None:
        predict["img_size"] = max(info.input_hw)
    cfg = config_from_dict({"predict": predict}, f"{source} (metadata)", list(overrides))
    return cfg.predict
