"""``detector.train(config, *overrides) -> Run``: what ``tools/train.py`` does, from Python."""

from __future__ import annotations

from pathlib import Path

from detector.api.results import Run
from detector.config import Config, config_from_dict, config_to_dict, load_config


def train(config: str | Path | Config, *overrides: str, resume: str | Path | None = None) -> Run:
    """Train a detector as ``config`` says (a YAML path such as ``configs/shapes_tiny.yaml``, or a
    :class:`~detector.config.Config`) with ``key=value`` ``overrides`` (``"train.epochs=10"``), the same run as
    ``tools/train.py CONFIG [overrides] [--resume PATH]``: a new run folder (``train.out_dir``, else ``out_dir2``,
    ...), the inputs never written. ``resume``: a run's ``weights/last.pt`` to continue.

    Returns the :class:`Run` (its folder, best and last checkpoints, last metrics). Raises ValueError for a bad
    config, override or data (before any work); Ctrl-C raises KeyboardInterrupt after logging how to resume.
    Progress is logged to the ``detector`` logger (``logging.basicConfig(level=logging.INFO)`` shows it).
    """
    from detector.engine.jobs.train import run_training

    if isinstance(config, Config):
        path, cfg = None, config_from_dict(config_to_dict(config), "config", list(overrides))
    else:
        path, cfg = str(config), load_config(config, list(overrides))
    return Run.from_trainer(run_training(cfg, path, resume))
