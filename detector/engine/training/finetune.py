"""Fine-tuning (``train.weights``): start a run from another detector checkpoint's weights."""

from __future__ import annotations

from detector.engine.training.checkpoint import transfer_weights
from detector.model import Detector
from detector.model.checkpoint_io import load_checkpoint


def load_finetune_weights(model: Detector, path: str) -> list[str]:
    """Load the tensors of checkpoint ``path`` whose names and shapes match ``model`` (the rest keep their fresh
    init, e.g. the prediction convs of another class count), but keep the buffers the head takes from the config
    (``head.config_buffers``, e.g. anchors): the run uses what its config says. Resume restores all.

    Returns the report lines for the log: loaded / skipped counts, each skipped tensor, each kept buffer and
    whether it equals the checkpoint's. Raises ValueError naming ``train.weights`` when no tensor matches.
    """
    state = load_checkpoint(path)["model"]
    keep = [f"head.{name}" for name in model.head.config_buffers]
    report = transfer_weights(model, state, keep=keep)
    lines = [f"weights: loaded {len(report['loaded'])} tensors from {path}; {len(report['skipped'])} skipped"]
    lines += [f"  skipped (re-initialised) {line}" for line in report["skipped"]]
    for name in report["kept"]:
        key = f"model.head.{name.rsplit('.', 1)[-1]}"
        relation = "differs from" if name in report["kept_differ"] else "equals"
        lines.append(f"  kept {name} from the config ({key}; it {relation} the checkpoint's)")
    if not report["loaded"]:
        raise ValueError(f"train.weights={path}: no tensor matches this model (another backbone or neck?)")
    return lines
