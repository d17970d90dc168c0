"""A training run (``tools/train.py``, ``detector.train``): check the run's files, then train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detector.config import Config
from detector.engine.jobs import job_plans


def run_training(
    cfg: Config, config_path: str | Path | None = None, resume: str | Path | None = None
) -> dict[str, Any]:
    """Train as ``cfg`` says after :func:`~detector.engine.jobs.job_plans.plan_train` checked the files before any
    work (inputs never written, the run folder writable; ``config_path``: the YAML ``cfg`` was read from, an input).
    ``resume``: a run's training checkpoint to continue. Returns :func:`detector.engine.training.trainer.train`'s
    dict (``out_dir``, ``last``, ``best``, ``best_fitness``, ``metrics``, ``epochs``, ``nonfinite_skipped``).
    Ctrl-C raises KeyboardInterrupt after the line that says how to resume."""
    from detector.engine.training.trainer import train  # torch & co. load after the files are checked

    job_plans.plan_train(
        cfg, None if config_path is None else str(config_path), None if resume is None else str(resume)
    )
    return train(cfg, resume=resume)


__all__ = ["run_training"]
