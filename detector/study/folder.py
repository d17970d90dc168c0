"""The study folder ``<out>/<name>/``: the stored study config, the run folders and what state each run is in.

Layout::

    <out>/<name>/study_config.yaml          the resolved study (shared config, backbones, seeds): later runs must match
    <out>/<name>/<label>/seed<k>/           one training run (tools/train.py's run folder) + study_run.json, eval/
    <out>/<name>/<label>/cost.json          the backbone's params, GFLOPs, latency, throughput
    <out>/<name>/study.md, study.html, study.json, report/*.png

A study folder is made for one study config. Starting it again with the same config reuses what is done; adding
backbones or seeds extends it; any other change (a shared key, a backbone's settings) is an error naming the keys.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from detector.config import ConfigError
from detector.config.yaml_loader import load_yaml_text
from detector.output_files import write_text_atomic
from detector.study.fairness import differing_keys, flatten

STUDY_CONFIG = "study_config.yaml"
RUN_RECORD = "study_run.json"
#: files the trainer writes into a run folder before its first checkpoint (a run stopped then has nothing else)
_EARLY_FILES = ("config.yaml", "results.csv", "results.png", RUN_RECORD)
_EARLY_PREFIXES = ("train_batch", "events.out.tfevents.")


class RunState(enum.Enum):
    NEW = "new"  # nothing trained yet
    RESUME = "resume"  # last.pt of an unfinished run: continue it
    DONE = "done"  # finished: reuse as it is


@dataclass(frozen=True)
class RunInfo:
    """One run's place and state. ``epoch``: last finished epoch (0-based) in last.pt, -1 when none."""

    label: str
    seed: int
    folder: Path
    state: RunState
    epoch: int = -1

    @property
    def last(self) -> Path:
        return self.folder / "weights" / "last.pt"

    @property
    def best(self) -> Path:
        return self.folder / "weights" / "best.pt"


def run_folder(study_dir: Path, label: str, seed: int) -> Path:
    return study_dir / label / f"seed{seed}"


def write_json(path: Path, data: Any) -> None:
    """Write JSON through a temp file and a rename, so a kill leaves the old file or the new one, never half."""
    write_text_atomic(path, json.dumps(data, indent=2), fsync=False)


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, None when it is absent or unreadable (a record to rebuild)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _checkpoint_epoch(path: Path) -> int:
    """The last finished epoch stored in a training checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "epoch" not in ckpt:
        raise ValueError(f"{path} is not a training checkpoint (no 'epoch'); move it away and start the study again")
    return int(ckpt["epoch"])


def _clear_early_files(folder: Path) -> None:
    """Remove what a run that stopped before its first checkpoint left; refuse when anything else is there."""
    files = [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    foreign = [p for p in files if p.name not in _EARLY_FILES and not p.name.startswith(_EARLY_PREFIXES)]
    if foreign:
        raise ConfigError(
            f"{folder} holds files that are not a study run's ({', '.join(str(p) for p in foreign[:3])}); "
            "move them away (a study never writes over files it did not make)"
        )
    for p in files:
        p.unlink()


def run_state(study_dir: Path, label: str, seed: int, epochs: int) -> RunInfo:
    """Where a run stands: DONE when its record says so (or last.pt holds the final epoch), RESUME when last.pt
    holds an earlier epoch, NEW otherwise. Files of a run that stopped before its first checkpoint are cleared."""
    folder = run_folder(study_dir, label, seed)
    last = folder / "weights" / "last.pt"
    record = read_json(folder / RUN_RECORD) or {}
    if record.get("status") == "done" and (folder / "weights" / "best.pt").is_file():
        return RunInfo(label, seed, folder, RunState.DONE, int(record.get("epochs", epochs)) - 1)
    if last.is_file():
        epoch = _checkpoint_epoch(last)
        state = RunState.DONE if epoch + 1 >= epochs else RunState.RESUME
        return RunInfo(label, seed, folder, state, epoch)
    if folder.exists():
        _clear_early_files(folder)
    return RunInfo(label, seed, folder, RunState.NEW)


def _describe(flat: dict[str, Any], key: str) -> str:
    return repr(flat[key]) if key in flat else "absent"


def check_study_folder(study_dir: Path, identity: dict[str, Any], seeds: tuple[int, ...]) -> dict[str, Any]:
    """Compare ``identity`` (:func:`detector.study.fairness.study_identity`) with the one stored in the folder.

    A differing shared key or a backbone (same label) with other settings is a ConfigError naming the keys. New
    backbones and seeds are added. Returns what is to be stored (call :func:`store_study_config` to write it).
    """
    path = study_dir / STUDY_CONFIG
    now = {**identity, "seeds": sorted(seeds)}
    if not path.is_file():
        if study_dir.is_dir() and any(study_dir.iterdir()):
            raise ConfigError(
                f"{study_dir} holds files but no {STUDY_CONFIG}: it is not a study folder; choose another --out or "
                "study name"
            )
        return now
    try:
        stored = load_yaml_text(path.read_text(), str(path))  # a repeated key: DuplicateKeyError
    except yaml.YAMLError as e:
        raise ConfigError(
            f"{path}: not valid YAML ({' '.join(str(e).split())}); restore it or start a new study"
        ) from e
    if not isinstance(stored, dict) or not {"shared", "backbones"} <= stored.keys():
        raise ConfigError(f"{path} is not a study config (no 'shared' / 'backbones'); restore it or start a new study")
    keys = differing_keys(stored["shared"], identity["shared"])
    a, b = flatten(stored["shared"]), flatten(identity["shared"])
    changed = [f"{k} (stored {_describe(a, k)}, now {_describe(b, k)})" for k in keys]
    for label, section in identity["backbones"].items():
        old = stored["backbones"].get(label)
        if old is not None:
            fo, fn = flatten(old), flatten(section)
            for k in differing_keys(old, section):
                changed.append(f"backbones.{label}.{k} (stored {_describe(fo, k)}, now {_describe(fn, k)})")
    if changed:
        raise ConfigError(
            f"{study_dir} was made with another study config: {'; '.join(changed)}. Give the study another name "
            "(name: in the study file, or --name) or another --out, or restore the config"
        )
    merged_backbones = {**stored["backbones"], **identity["backbones"]}
    return {**stored, "backbones": merged_backbones, "seeds": sorted(set(stored.get("seeds", [])) | set(seeds))}


def store_study_config(study_dir: Path, data: dict[str, Any]) -> Path:
    """Write the resolved study config into the folder (temp file + rename)."""
    return write_text_atomic(study_dir / STUDY_CONFIG, yaml.safe_dump(data, sort_keys=False), fsync=False)
