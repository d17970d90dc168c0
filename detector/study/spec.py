"""The study file (``configs/study_*.yaml``): what a backbone study compares, read and checked key by key.

A study file names a base detector config, the backbones, the seeds, shared overrides and the cost / report
settings::

    name: shapes_backbones        # the study folder: <out>/<name>/ (default: the file's name without .yaml)
    base: shapes_tiny.yaml        # the detector config every run starts from (relative to this file)
    seeds: [0, 1]
    overrides: {train.epochs: 12} # shared by every run: dotted config keys
    backbones:                    # each entry: model.backbone keys; 'label' names the run folder (default: name)
      - {name: cspresnext50, width_mult: 0.25, depth_mult: 0.34}
      - {name: "timm:resnet18"}
    cost: {...}                   # CostSettings
    report: {...}                 # ReportSettings

Errors are :class:`detector.config.ConfigError` lines naming the file and the key. Turning a spec into the runs'
detector configs (and the fairness rules) is :mod:`detector.study.fairness`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from detector.config import BackboneConfig, Config, ConfigError
from detector.config.yaml_loader import DuplicateKeyError, load_yaml_text, yaml_error_line
from detector.engine.evaluation.errors.rules import ERROR_RULES

SEED_KEY = "train.seed"
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
BACKBONE_KEYS = tuple(f.name for f in dataclasses.fields(BackboneConfig))


@dataclass(frozen=True)
class CostSettings:
    """How each backbone's cost is measured (:mod:`detector.study.costs`, the code of ``tools/benchmark.py
    detector``): timing counts for the CPU batch-1 latency and the CUDA throughput, the CUDA batch and dtype."""

    latency: bool = True  # false: no CPU latency (params and GFLOPs are always counted)
    warmup: int = 3  # untimed calls first
    iters: int = 10  # calls per timed run
    repeats: int = 5  # timed runs; the median is reported, the runs give the spread
    gpu_batch: int = 32  # CUDA throughput batch (measured only where a GPU is present)
    gpu_dtype: str = "fp16"  # fp32 | bf16 | fp16: autocast dtype of the CUDA throughput (tools/detect.py: fp16)


@dataclass(frozen=True)
class ReportSettings:
    """What the report shows beyond the numbers."""

    grid_images: int = 4  # val images in the detections grid (0: no grid)
    score_thres: float = 0.3  # detections drawn in the grid: score >= this
    errors: str = "paper"  # error-breakdown rules: paper | tidecv (docs/ERRORS.md; tools/study.py --errors)


@dataclass(frozen=True)
class BackboneEntry:
    """One backbone of the study: ``label`` (run folder and report name) and its ``model.backbone`` keys."""

    label: str
    settings: dict[str, Any]  # model.backbone keys -> values, as written (always holds "name")


@dataclass(frozen=True)
class StudySpec:
    """A checked study file. ``base`` is an absolute path; ``overrides`` are ``key=value`` strings."""

    path: Path
    name: str
    base: Path
    seeds: tuple[int, ...]
    backbones: tuple[BackboneEntry, ...]
    overrides: tuple[str, ...] = ()
    cost: CostSettings = field(default_factory=CostSettings)
    report: ReportSettings = field(default_factory=ReportSettings)


_TOP_KEYS = ("name", "base", "seeds", "overrides", "backbones", "cost", "report")
_SETTING_RANGES = {
    "cost.warmup": 0,
    "cost.iters": 1,
    "cost.repeats": 1,
    "cost.gpu_batch": 1,
    "report.grid_images": 0,
}
_GPU_DTYPES = ("fp32", "bf16", "fp16")


def _unknown(source: str, key: str, valid: tuple[str, ...] | list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(valid), n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"{source}: unknown key '{key}'{hint} (valid keys in {where}: {', '.join(valid)})")


def _settings(cls: type, data: Any, section: str, source: str) -> Any:
    """A ``cost`` / ``report`` mapping as its dataclass, each key's type and range checked."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: '{section}' must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        full = f"{section}.{key}"
        if key not in fields:
            raise _unknown(source, full, list(fields), f"'{section}'")
        default = fields[key].default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ConfigError(f"{source}: key '{full}' expects {type(default).__name__}, got {value!r}")
        if full in _SETTING_RANGES and value < _SETTING_RANGES[full]:
            raise ConfigError(f"{source}: key '{full}' must be >= {_SETTING_RANGES[full]}, got {value}")
        if full == "report.score_thres" and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{source}: key '{full}' must be in [0, 1], got {value}")
        if full == "report.errors" and value not in ERROR_RULES:
            raise ConfigError(f"{source}: key '{full}' must be one of {list(ERROR_RULES)}, got {value!r}")
        if full == "cost.gpu_dtype" and value not in _GPU_DTYPES:
            raise ConfigError(f"{source}: key '{full}' must be one of {list(_GPU_DTYPES)}, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def parse_seeds(value: Any, source: str, key: str = "seeds") -> tuple[int, ...]:
    """A non-empty list of distinct integers >= 0 (``key`` names it in the error)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{source}: '{key}' must be a non-empty list of integers, e.g. [0, 1], got {value!r}")
    for s in value:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise ConfigError(f"{source}: '{key}' holds {s!r}; seeds are integers >= 0")
    if len(set(value)) != len(value):
        raise ConfigError(f"{source}: '{key}' lists a seed twice: {list(value)}")
    return tuple(int(s) for s in value)


def _config_keys(cls: type = Config, prefix: str = "") -> set[str]:
    """Every dotted key and section of the detector config (``train``, ``train.lr``, ``model.neck.widths``, ...)."""
    keys = set()
    for name, tp in typing.get_type_hints(cls).items():
        full = f"{prefix}{name}"
        keys.add(full)
        for t in (tp, *typing.get_args(tp)):
            if isinstance(t, type) and dataclasses.is_dataclass(t):
                keys |= _config_keys(t, f"{full}.")
    return keys


def _is_other_config_key(key: str) -> bool:
    """True when ``key`` is a detector config key outside ``model.backbone`` (dotted, or the last part of one)."""
    keys = _config_keys()
    return key in keys or any(k.endswith(f".{key}") and not k.startswith("model.backbone.") for k in keys)


def backbone_settings(data: Any, source: str, where: str) -> dict[str, Any]:
    """Check one backbone entry's keys: ``model.backbone`` keys (bare or as ``model.backbone.X``) pass; a key of
    another config section is a fairness error (only the backbone may differ); anything else is unknown."""
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {where} must be a mapping of model.backbone keys, got {data!r}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        key = str(key)
        if key == "label":
            out[key] = value
            continue
        bare = key[len("model.backbone.") :] if key.startswith("model.backbone.") else key
        if bare in BACKBONE_KEYS:
            out[bare] = value
            continue
        if _is_other_config_key(key):
            raise ConfigError(
                f"{source}: {where} sets '{key}', which is not a model.backbone key: only model.backbone.* may "
                "differ between the backbones of a study (fairness); put settings every run shares under 'overrides'"
            )
        raise _unknown(source, f"{where}.{key}", ["label", *BACKBONE_KEYS], "a backbones entry")
    if "name" not in out:
        raise ConfigError(f"{source}: {where} has no 'name' (a backbone registry name or timm:<model>)")
    if not isinstance(out["name"], str) or not out["name"]:
        raise ConfigError(f"{source}: {where}.name must be a backbone name (str), got {out['name']!r}")
    return out


def default_label(name: str) -> str:
    """The run-folder label of a backbone name: ``timm:resnet18`` -> ``timm-resnet18``."""
    return name.replace(":", "-").replace("/", "-")


def make_entry(settings: dict[str, Any], source: str, where: str) -> BackboneEntry:
    """A :class:`BackboneEntry` from checked settings; the label must be a plain folder name."""
    settings = dict(settings)
    label = settings.pop("label", None)
    label = default_label(settings["name"]) if label is None else label
    if not isinstance(label, str) or not LABEL_PATTERN.match(label):
        raise ConfigError(
            f"{source}: {where}.label {label!r} must be a folder name (letters, digits, '.', '_', '-'; no spaces)"
        )
    return BackboneEntry(label, settings)


def _overrides(value: Any, source: str) -> tuple[str, ...]:
    """``overrides``: a mapping of dotted keys (or a list of ``key=value`` strings) -> ``key=value`` strings."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return tuple(f"{k}={json.dumps(v)}" for k, v in value.items())  # JSON values read back as YAML
    if isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value):
        return tuple(value)
    raise ConfigError(
        f"{source}: 'overrides' must be a mapping of dotted config keys, e.g. {{train.epochs: 12}}, got {value!r}"
    )


def spec_from_dict(data: Any, path: Path) -> StudySpec:
    """Check a study file's contents (``path`` names it in errors and anchors ``base``)."""
    source = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a study file must be a mapping (name, base, seeds, backbones, ...)")
    for key in data:
        if key not in _TOP_KEYS:
            raise _unknown(source, str(key), _TOP_KEYS, "a study file")
    if "base" not in data or not isinstance(data["base"], str):
        raise ConfigError(f"{source}: 'base' must name the detector config the runs share, e.g. base: shapes_tiny.yaml")
    base = (path.parent / data["base"]).resolve()
    if not base.is_file():
        raise ConfigError(f"{source}: base config '{data['base']}' not found (looked for {base})")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not LABEL_PATTERN.match(name):
        raise ConfigError(f"{source}: 'name' {name!r} must be a folder name (letters, digits, '.', '_', '-')")
    seeds = parse_seeds(data.get("seeds", [0]), source)
    raw_backbones = data.get("backbones") or []
    if not isinstance(raw_backbones, list):
        raise ConfigError(f"{source}: 'backbones' must be a list of entries like {{name: cspdarknet53}}")
    entries = tuple(
        make_entry(backbone_settings(b, source, f"backbones[{i}]"), source, f"backbones[{i}]")
        for i, b in enumerate(raw_backbones)
    )
    check_labels(entries, source)
    return StudySpec(
        path=path,
        name=name,
        base=base,
        seeds=seeds,
        backbones=entries,
        overrides=_overrides(data.get("overrides"), source),
        cost=_settings(CostSettings, data.get("cost"), "cost", source),
        report=_settings(ReportSettings, data.get("report"), "report", source),
    )


def check_labels(entries: tuple[BackboneEntry, ...], source: str) -> None:
    """Labels name run folders: each must be unique."""
    seen: set[str] = set()
    for e in entries:
        if e.label in seen:
            raise ConfigError(f"{source}: two backbones have the label '{e.label}'; give one a 'label: ...' of its own")
        seen.add(e.label)


def load_study_spec(path: str | Path) -> StudySpec:
    """Read and check a study file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"study file not found: {path} (study files live in configs/, e.g. configs/study_shapes.yaml)"
        )
    try:
        data = load_yaml_text(path.read_text(), str(path)) or {}
    except DuplicateKeyError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_error_line(exc)}") from None
    return spec_from_dict(data, path)


def select(
    spec: StudySpec,
    backbones: list[str] | None = None,
    seeds: list[int] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    name: str | None = None,
    errors: str | None = None,
) -> StudySpec:
    """The spec as the command line narrows or extends it: ``backbones`` are labels of the study file or backbone
    names (registry or ``timm:<model>``, with no other keys); ``seeds`` replace the file's; ``overrides`` are added
    after the file's shared ones; ``name`` replaces the study name; ``errors`` the report's error-breakdown rules."""
    entries = spec.backbones
    if backbones is not None:
        by_label = {e.label: e for e in spec.backbones}
        chosen = []
        for item in backbones:
            if item in by_label:
                chosen.append(by_label[item])
            else:
                chosen.append(make_entry({"name": item}, "--backbones", item))
        entries = tuple(chosen)
        check_labels(entries, "--backbones")
    if not entries:
        raise ConfigError(f"{spec.path}: no backbones: list them under 'backbones' or pass --backbones a,b")
    if name is not None and not LABEL_PATTERN.match(name):
        raise ConfigError(f"--name {name!r} must be a folder name (letters, digits, '.', '_', '-')")
    return dataclasses.replace(
        spec,
        backbones=entries,
        seeds=parse_seeds(list(seeds), "--seeds", "--seeds") if seeds is not None else spec.seeds,
        overrides=(*spec.overrides, *overrides),
        name=name or spec.name,
        report=spec.report if errors is None else dataclasses.replace(spec.report, errors=errors),
    )
