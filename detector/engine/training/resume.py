"""Resume continues its own run, as it was: the checks made before a resumed run writes anything.

A training checkpoint ``RUN/weights/last.pt`` (or ``best.pt``) belongs to the run folder ``RUN``; ``--resume`` (and
``train.resume=true``) writes only there. The run goes on with the config stored in the checkpoint; the config given
for the resume (file and overrides) must agree with it except for the keys of :data:`RESUME_MAY_CHANGE`. Any other
difference (``train.out_dir`` naming another folder, another dataset, another model, another recipe) is refused
before any work, naming each key ``old -> new`` and what to do instead: resume with the run's own config
(``RUN/config.yaml``), or start a new run from the checkpoint's weights with ``train.weights=``. A finished run says
so unless ``train.epochs`` is raised. ``best.pt`` is a full training checkpoint: resuming from it is allowed when it
is as far as the run's ``last.pt`` (the best epoch was the last one); an older ``best.pt`` would roll the run back
and overwrite the later epochs (``last.pt``, ``results.csv`` rows), so it is refused.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.config import Config, ConfigError, config_from_dict, config_to_dict
from detector.model.checkpoint_io import load_checkpoint

log = logging.getLogger(__name__)

#: keys a resumed run may take from the config given for the resume (they change neither the data, the model nor
#: the recipe of the epochs already trained); every other key must equal the run's own value
RESUME_MAY_CHANGE: dict[str, str] = {
    "train.epochs": "raise it to train on (the learning-rate schedule then runs to the new end)",
    "train.device": "where the run goes on (cpu, cuda, cuda:N)",
    "train.workers": "data-loader processes",
    "train.compile": "torch.compile (speed only)",
    "train.save_batches": "written at the start of a run only",
    "train.max_nonfinite": "when a diverging run stops",
    "train.resume": "how the resume was asked for",
}


class ResumeError(ConfigError):
    """A resume that would not continue its own run as it was (rejected before any work; exit status 2)."""


@dataclass
class ResumePlan:
    """What a checked resume continues: ``config`` is the run's own (the checkpoint's, with the keys of
    :data:`RESUME_MAY_CHANGE` taken from the given config), ``checkpoint`` the loaded training checkpoint,
    ``changed`` one ``"key: old -> new"`` per allowed key that changed."""

    config: Config
    checkpoint: dict[str, Any]
    run_dir: Path
    changed: list[str]


def run_folder_of(checkpoint: Path) -> Path:
    """The run a training checkpoint belongs to: ``RUN`` for ``RUN/weights/X.pt``. A checkpoint elsewhere belongs
    to no run a resume could continue: :class:`ResumeError` saying what to do."""
    if checkpoint.parent.name != "weights":
        raise ResumeError(
            f"cannot resume {checkpoint}: it is not in a run's weights/ folder, so the run it continues is unknown; "
            f"resume from RUN/weights/last.pt, or start a new run from these weights with train.weights={checkpoint}"
        )
    return checkpoint.parent.parent


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


class _Absent:
    """A key one of the two configs does not have (another head family's key); shown as ``(absent)``."""

    def __repr__(self) -> str:
        return "(absent)"


def _same(a: Any, b: Any) -> bool:
    """Equal values; two non-empty strings also when they name the same path (``data/x`` and ``./data/x``)."""
    if isinstance(a, str) and isinstance(b, str) and a and b:
        return os.path.normpath(a) == os.path.normpath(b)
    return bool(a == b)


def _is_run_folder(out_dir: str, run_dir: Path) -> bool:
    """Whether ``train.out_dir`` names ``run_dir``: the same folder, or the one a fresh run asked for ``out_dir``
    was numbered into because ``out_dir`` held files (``exp`` -> ``exp2``, :mod:`detector.engine.run_folder`)."""
    asked, run = Path(out_dir).resolve(), run_dir.resolve()
    if asked == run:
        return True
    numbered = re.fullmatch(re.escape(asked.name) + r"([2-9]|[1-9]\d+)", run.name)
    return run.parent == asked.parent and numbered is not None


def _conflicts(given: Config, stored: Config, run_dir: Path) -> tuple[list[str], list[str]]:
    """``(conflicts, changed)``: ``"key: old -> new"`` for each key that differs, outside and inside
    :data:`RESUME_MAY_CHANGE`. The head family's run-updated keys (anchors refitted by auto-anchor) are the run's
    own: the checkpoint's values are kept, and a differing given value is logged."""
    from detector.model.registry import get_head_family

    a, b = _flatten(config_to_dict(stored)), _flatten(config_to_dict(given))
    run_updated = {f"model.head.{k}" for k in get_head_family(stored.model.head.type).run_updated_keys}
    conflicts, changed = [], []
    absent = _Absent()
    keys = sorted(a.keys() | b.keys())
    # a tagged section of another type (model.head.type): its type is named, not each key of the two types
    retyped = [k.removesuffix("type") for k in keys if k.endswith(".type") and not _same(a.get(k), b.get(k))]
    for key in keys:
        old, new = a.get(key, absent), b.get(key, absent)
        if any(key.startswith(prefix) and not key.endswith(".type") for prefix in retyped):
            continue
        if key == "train.out_dir":
            if not _is_run_folder(str(new), run_dir):
                conflicts.append(f"train.out_dir: {run_dir} -> {new}")
            continue
        if _same(old, new):
            continue
        text = f"{key}: {old!r} -> {new!r}"
        if key in RESUME_MAY_CHANGE:
            if key != "train.resume":  # how the resume was asked for: no change to report
                changed.append(text)
        elif any(key == k or key.startswith(k + ".") for k in run_updated):
            log.info("%s: the run's own value (from its checkpoint) is kept, not the config's", key)
        else:
            conflicts.append(text)
    return conflicts, changed


def _with_allowed(stored: Config, given: Config) -> Config:
    """``stored`` with the keys of :data:`RESUME_MAY_CHANGE` set to ``given``'s values."""
    out = copy.deepcopy(stored)
    for key in RESUME_MAY_CHANGE:
        section, name = key.split(".")
        setattr(getattr(out, section), name, getattr(getattr(given, section), name))
    return out


def _check_epochs(path: Path, run_dir: Path, done: int, planned: int, asked: int) -> None:
    """A finished run (``done`` epochs of ``planned``) resumes only when ``asked`` (train.epochs) is larger."""
    if done < asked:
        return
    new_run = f"start a new run from these weights with train.weights={path}"
    if done >= planned:
        raise ResumeError(
            f"run {run_dir} finished at epoch {done}/{planned}; raise train.epochs to train on "
            f"(e.g. train.epochs={done + max(planned // 2, 1)}), or {new_run}"
        )
    raise ResumeError(
        f"run {run_dir} is at epoch {done}/{planned}; train.epochs={asked} would end before that: give "
        f"train.epochs={planned} (or more) to finish it, or {new_run}"
    )


def _check_not_behind_last(path: Path, run_dir: Path, epoch: int) -> None:
    """Refuse a checkpoint older than the run's ``last.pt`` (``best.pt`` of an earlier epoch): resuming it would
    overwrite the epochs trained since."""
    last = run_dir / "weights" / "last.pt"
    if not last.is_file() or last.resolve() == path.resolve():
        return
    last_epoch = int(load_checkpoint(last, require_training_state=True)["epoch"])
    if last_epoch > epoch:
        raise ResumeError(
            f"cannot resume {path}: it holds epoch {epoch + 1} but the run's {last} holds epoch {last_epoch + 1}; "
            f"resuming it would overwrite epochs {epoch + 2}..{last_epoch + 1} (last.pt, results.csv); resume "
            f"from {last}, or start a new run from these weights with train.weights={path}"
        )


def plan_resume(given: Config, path: Path, run_dir: Path) -> ResumePlan:
    """Check that resuming ``path`` with the config ``given`` continues the run ``run_dir`` as it was (see the
    module docstring); nothing is written. Raises :class:`ResumeError` (a ConfigError) naming the conflicting
    keys, FileNotFoundError / ValueError for a checkpoint that is missing or no training checkpoint."""
    ckpt = load_checkpoint(path, require_training_state=True)
    stored = config_from_dict(copy.deepcopy(ckpt["config"]), f"{path} (config stored in the checkpoint)")
    conflicts, changed = _conflicts(given, stored, run_dir)
    if conflicts:
        shown = "; ".join(conflicts[:8]) + (f"; and {len(conflicts) - 8} more" if len(conflicts) > 8 else "")
        may = ", ".join(RESUME_MAY_CHANGE)
        raise ResumeError(
            f"cannot resume {path} with another config: {shown}. A resume continues its run {run_dir} as it was "
            f"(only {may} may change): resume with the run's own config (tools/train.py {run_dir / 'config.yaml'} "
            f"--resume {path}), or start a new run from these weights with train.weights={path}"
        )
    epoch = int(ckpt["epoch"])
    _check_epochs(path, run_dir, epoch + 1, stored.train.epochs, given.train.epochs)
    _check_not_behind_last(path, run_dir, epoch)
    config = _with_allowed(stored, given)
    if Path(config.train.out_dir).resolve() != run_dir.resolve():  # a run moved since, or numbered exp -> exp2
        config.train.out_dir = str(run_dir)  # by an older version: config.yaml names the folder it is in
    return ResumePlan(config, ckpt, run_dir, changed)
