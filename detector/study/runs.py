"""Training the runs of a study with :func:`detector.engine.training.trainer.train`: new runs from scratch,
unfinished ones
resumed from their ``last.pt``, finished ones left alone; each run's record (``study_run.json``) says what was done.

Training time comes from the run's ``results.csv`` (``time_s`` per epoch: training plus the validations that epoch
ran; setup not counted), so a resumed run counts each epoch once. Training images/s counts only the epochs without
a validation (their ``time_s`` is pure training); when every epoch validated, all epochs are used and the record
says so.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detector.config import Config, ConfigError, config_to_dict
from detector.config.yaml_loader import load_yaml_text
from detector.engine.training.run_log import read_results
from detector.engine.training.trainer import Trainer, train
from detector.model.registry import get_head_family
from detector.study.fairness import differing_keys, run_config
from detector.study.folder import RUN_RECORD, RunInfo, RunState, read_json, write_json

log = logging.getLogger(__name__)

#: keys a run's config.yaml may hold differently: the folder is where it is found (and the head family's
#: ``run_updated_keys``, e.g. anchors rewritten by auto-anchor)
_NOT_COMPARED = ("train.out_dir",)
TrainFn = Callable[..., dict[str, Any]]


def check_run_config(info: RunInfo, expected: Config) -> None:
    """A run folder made with another config (e.g. an edited or removed study_config.yaml) is an error."""
    path = info.folder / "config.yaml"
    if not path.is_file():
        return
    stored = load_yaml_text(path.read_text(), str(path)) or {}
    updated = get_head_family(expected.model.head.type).run_updated_keys
    skip = (*_NOT_COMPARED, *(f"model.head.{k}" for k in updated))
    keys = [k for k in differing_keys(stored, config_to_dict(expected)) if not k.startswith(skip)]
    if keys:
        raise ConfigError(
            f"{path} was trained with another config ({', '.join(keys[:8])}); move the run folder away or give "
            "the study another name"
        )


def machine_load() -> float | None:
    """The machine's 1-minute load average (runnable processes, all users; None where the OS has none): noted at
    the start and end of each training segment, since training times are measured run by run."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def training_time(folder: Path, images_per_epoch: int | None) -> dict[str, Any]:
    """``{"train_s", "epochs_logged", "images_per_s", "images_per_s_epochs"}`` from the run's results.csv.

    ``train_s``: summed epoch times; ``images_per_s``: images per epoch / time over the epochs that ran no
    validation (``images_per_s_epochs`` says which kind: "train only" or "with validation"); None when unknown.
    """
    rows = read_results(folder / "results.csv")
    total = sum(r["time_s"] for r in rows if math.isfinite(r.get("time_s", math.nan)))
    train_only = [r for r in rows if not math.isfinite(r.get("mAP", math.nan))]
    used, kind = (train_only, "train only") if train_only else (rows, "with validation")
    seconds = sum(r["time_s"] for r in used)
    speed = images_per_epoch * len(used) / seconds if images_per_epoch and seconds > 0 else None
    return {"train_s": total, "epochs_logged": len(rows), "images_per_s": speed, "images_per_s_epochs": kind}


class _Recorder:
    """Trainer callback: after every epoch, the run record notes the progress and the images per epoch."""

    def __init__(self, info: RunInfo, record: dict[str, Any]) -> None:
        self.info, self.record = info, record

    def __call__(self, trainer: Trainer, epoch: int) -> None:
        self.record.update(status="training", last_epoch=epoch, images_per_epoch=len(trainer.train_ds))
        write_json(self.info.folder / RUN_RECORD, self.record)


def train_run(
    info: RunInfo,
    cfg: Config,
    *,
    train_fn: TrainFn = train,
) -> dict[str, Any]:
    """Train (or resume) one run into ``info.folder``; a DONE run is only read. Returns the run record:
    ``{"label", "seed", "status", "epochs", "segments" [{"from_epoch", "wall_s", "loadavg": [1-min load at start,
    at end]}] (one per start, interrupted ones too), "images_per_epoch", "train_s", "images_per_s", ...}`` (also
    written to ``study_run.json``)."""
    expected = run_config(cfg, info.seed, str(info.folder))
    check_run_config(info, expected)
    path = info.folder / RUN_RECORD
    record = read_json(path) or {}
    record.update(label=info.label, seed=info.seed, epochs=expected.train.epochs)
    record.setdefault("segments", [])
    if info.state is not RunState.DONE:
        resume = info.last if info.state is RunState.RESUME else None
        verb = f"resuming at epoch {info.epoch + 2}/{expected.train.epochs}" if resume else "training"
        log.info("%s / seed %d: %s into %s", info.label, info.seed, verb, info.folder)
        segment: dict[str, Any] = {"from_epoch": info.epoch + 1, "wall_s": 0.0, "loadavg": [machine_load()]}
        record["segments"].append(segment)
        start = time.perf_counter()
        try:
            train_fn(expected, resume=resume, callbacks=[_Recorder(info, record)])
        finally:  # an interrupted segment is recorded too (its epochs count once its checkpoint exists)
            segment["wall_s"] = time.perf_counter() - start
            segment["loadavg"].append(machine_load())
            write_json(path, record)
    else:
        log.info("%s / seed %d: done, reused (%s)", info.label, info.seed, info.folder)
        if record.get("status") == "done":
            return record
    record.update(status="done", **training_time(info.folder, record.get("images_per_epoch")))
    write_json(path, record)
    return record
