"""Typed, validated configuration: YAML files + ``key.sub=value`` overrides -> :class:`Config`.

Every key is checked: an unknown key is an error that suggests the nearest valid key, a wrong type names the key and
the expected type, a number outside its range (``detector/config_ranges.py``) names the key and the range, an empty
path where one is needed (``detector/config_paths.py``) names the key. Overrides that set one key twice are applied
in order and warned about (``detector/config_overrides.py``). A config
file may start from another with ``base: other.yaml`` (path relative to the file) and override only what differs.
The dataclass defaults below are the documented defaults (``configs/defaults.yaml`` repeats them with comments).
``model.head`` is a tagged union: :class:`HeadConfig` is its base, each head family's subclass (its fields and its
``loss``) lives in the family's folder, ``detector/heads/<family>/config.py``; configs of the old layout are migrated
(``detector/config_migrate.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from detector.config_migrate import migrate_head_layout, migrate_head_override
from detector.config_overrides import override_collisions, parse_override
from detector.config_paths import empty_path_problem
from detector.config_ranges import OPEN_FRACTION, range_problem
from detector.config_schema import option, option_choices, option_range


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the file/key and what to do."""


@dataclass
class BackboneConfig:
    name: str = "cspresnext50"  # registry name (see backbones.list_backbones()) or "timm:<model>"
    pretrained: bool | str | None = True  # True: official ImageNet weights; a path; false/null: random init
    out_indices: list[int] = field(default_factory=lambda: [2, 3, 4])  # timm numbering, strides 8/16/32
    width_mult: float = 1.0
    depth_mult: float = 1.0
    frozen_stages: int = 0  # N > 0 freezes the stem and stages 1..N
    norm_eval: bool = False  # keep backbone BatchNorm statistics frozen


@dataclass
class NeckConfig:
    type: str = "spp_pan"  # neck registry name (detector/registry.py): spp_pan
    widths: list[int] = field(default_factory=lambda: [128, 256, 512])  # channels of P3/P4/P5
    depth: int = 2  # conv pairs per PAN stack
    spp_kernels: list[int] = field(default_factory=lambda: [5, 9, 13])
    # darknet import (see detector/darknet/): layout options that make the neck layer for layer a darknet cfg
    spp_order: str = "input_first"  # SPP concat: input_first [x, pools...] | input_last [pools reversed, x] (darknet)
    bn_eps: float = 1e-3  # BatchNorm epsilon of the neck convs (darknet: 1e-5)


@dataclass
class HeadConfig:
    """``model.head``, a tagged union: ``type`` names the head family (:mod:`detector.registry`), whose config class
    (a subclass, in ``detector/heads/<family>/config.py``) adds the family's fields and its ``loss`` section."""

    type: str = option(doc="head family (registry name)", choices=lambda: _head_family_names())
    prior_prob: float | None = option(
        None, doc="initial class probability (bias init); null: the family's default", range=OPEN_FRACTION
    )


def head_config_class(type_name: str) -> type[HeadConfig]:
    """The ``model.head`` class of the head family ``type_name`` (a ValueError naming the choices if unknown)."""
    from detector.registry import get_head_family

    return get_head_family(type_name).config


def default_head_config() -> HeadConfig:
    """``model.head`` when a config does not set it: the default family with its defaults."""
    from detector.registry import DEFAULT_HEAD_FAMILY

    return head_config_class(DEFAULT_HEAD_FAMILY)()


def _head_family_names() -> list[str]:
    from detector.registry import head_family_names

    return head_family_names()


@dataclass
class ModelConfig:
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    neck: NeckConfig = field(default_factory=NeckConfig)
    head: HeadConfig = field(default_factory=default_head_config)  # {type: <family>, <its fields>, loss: {...}}
    num_classes: int | None = None  # null: taken from the training annotations
    input_norm: str = "imagenet"  # imagenet: (x - mean) / std inside the model | none: RGB in [0, 1] as is (darknet)


@dataclass
class SplitConfig:
    ann: str = ""  # COCO JSON (format coco) or a YOLO data yaml / list file (format yolo)
    images: str = ""  # image folder


@dataclass
class ShapesConfig:
    root: str = "data/shapes"
    num_train: int = 800
    num_val: int = 200
    img_size: int = 256
    seed: int = 0


@dataclass
class AugmentConfig:
    mosaic: float = 1.0  # probability of a 4-image mosaic
    mixup: float = 0.0  # probability of mixing two samples
    degrees: float = 0.0  # rotation range, +/- degrees
    translate: float = 0.1  # fraction of the image side
    scale: float = 0.5  # random scale in [1 - scale, 1 + scale]
    shear: float = 0.0  # +/- degrees
    hsv_h: float = 0.015  # fractions
    hsv_s: float = 0.7
    hsv_v: float = 0.4
    fliplr: float = 0.5  # probability
    close_mosaic: int = 10  # switch mosaic/mixup off for the last N epochs
    photometric: float = 0.01  # probability of each of Blur / ToGray / CLAHE (albumentations)


@dataclass
class DataConfig:
    format: str = "coco"  # coco | yolo
    train: SplitConfig = field(
        default_factory=lambda: SplitConfig("data/coco/annotations/instances_train2017.json", "data/coco/train2017")
    )
    val: SplitConfig = field(
        default_factory=lambda: SplitConfig("data/coco/annotations/instances_val2017.json", "data/coco/val2017")
    )
    shapes: ShapesConfig | None = None  # set to generate the built-in synthetic dataset on first use
    img_size: int = 640  # square input side in pixels, multiple of 32
    max_background: int | None = None  # null: keep every image without boxes
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class TrainConfig:
    epochs: int = 300
    batch_size: int = 16  # per device
    nominal_batch_size: int = 64  # gradients are accumulated to this many images per step
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    workers: int = 8  # data-loader processes per device
    out_dir: str = "runs/train/exp"
    weights: str | None = None  # start from a detector checkpoint (fine-tuning; class count may differ)
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.01
    momentum: float = 0.937
    nesterov: bool = True
    weight_decay: float = 0.0005
    warmup_epochs: float = 3.0
    warmup_bias_lr: float | None = None  # bias LR at warmup start; null: 0.1 with sgd, 0.0 with adamw
    scheduler: str = "cosine"  # cosine | linear
    final_lr_ratio: float = 0.01
    amp: bool = True  # mixed precision: amp_dtype on CUDA, bf16 on CPUs with bf16 hardware (else fp32)
    amp_dtype: str = "bf16"  # bf16 | fp16
    channels_last: bool = True
    compile: bool = False
    ema: bool = True
    ema_decay: float = 0.9999
    grad_clip: float = 10.0  # max gradient norm; 0 disables
    eval_interval: int = 1  # epochs between validations (the last epoch is always validated)
    seed: int = 0
    resume: bool = False
    sync_bn: bool = False
    max_nonfinite: int = 20  # consecutive non-finite losses before the run stops
    save_batches: int = 3  # train_batch*.jpg images written at the start
    deterministic: bool = False


@dataclass
class EvalConfig:
    conf_thres: float = 0.001
    iou_thres: float = 0.65
    max_det: int = 100
    batch_size: int = 32
    letterbox: str = "square"  # square (img_size x img_size) | rect (multiple of 32 per image)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


_CHOICES = {
    "model.neck.type": ("spp_pan",),
    "model.neck.spp_order": ("input_first", "input_last"),
    "model.input_norm": ("imagenet", "none"),
    "data.format": ("coco", "yolo"),
    "train.optimizer": ("sgd", "adamw"),
    "train.scheduler": ("cosine", "linear"),
    "train.amp_dtype": ("bf16", "fp16"),
    "eval.letterbox": ("square", "rect"),
}


def _type_name(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "mapping"
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in args)
    if typing.get_origin(tp) is list:
        return f"list of {_type_name(args[0])}"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (converting int -> float); raise ConfigError if it does not fit."""
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, HeadConfig) and isinstance(value, dict):
        return _build(_head_class(value.get("type"), key, source), value, key, source)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            if isinstance(arg, type) and dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return _build(arg, value, key, source)  # a mapping for a section: its own errors (did you mean)
            try:
                return _convert(value, arg, key, source)
            except ConfigError:
                continue
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return _build(tp, value, key, source)
        if isinstance(value, tp):
            return value
    elif origin is list:
        if isinstance(value, (list, tuple)):
            (item_tp,) = typing.get_args(tp)
            return [_convert(v, item_tp, f"{key}[{i}]", source) for i, v in enumerate(value)]
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str and isinstance(value, str):
        return value
    raise ConfigError(f"{source}: key '{key}' expects {_type_name(tp)}, got {value!r} ({type(value).__name__})")


def _unknown_key(key: str, valid: list[str], prefix: str, source: str) -> ConfigError:
    full = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
    section = f"'{prefix}'" if prefix else "the top level"
    return ConfigError(f"{source}: unknown key '{full}'{hint} (valid keys in {section}: {', '.join(valid)})")


def _head_class(type_name: Any, key: str, source: str) -> type[HeadConfig]:
    """The config class of the head family ``type_name`` (``<key>.type``; None: the default family)."""
    if type_name is None:
        return type(default_head_config())
    names = _head_family_names()
    if type_name not in names:
        raise ConfigError(f"{source}: key '{key}.type' must be one of {names}, got {type_name!r}")
    return head_config_class(type_name)


def _build(cls: type, data: dict, prefix: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    valid = list(fields)
    kwargs = {}
    for key, value in data.items():
        if key not in hints:
            raise _unknown_key(str(key), valid, prefix, source)
        full = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _convert(value, hints[key], full, source)
        choices = _CHOICES.get(full) or option_choices(fields[key])
        if choices is not None and kwargs[key] not in choices:
            raise ConfigError(f"{source}: key '{full}' must be one of {list(choices)}, got {value!r}")
        problem = range_problem(full, kwargs[key], option_range(fields[key])) or empty_path_problem(full, kwargs[key])
        if problem:
            raise ConfigError(f"{source}: key {problem}")
    return cls(**kwargs)


def _merge(base: dict, update: dict) -> dict:
    """Recursive dict merge: mappings merge key by key, anything else replaces. A tagged mapping whose ``type``
    differs from the base's (e.g. another head family in ``model.head``) replaces the base's mapping."""
    out = dict(base)
    for k, v in update.items():
        old = out.get(k)
        mergeable = isinstance(old, dict) and isinstance(v, dict) and not _retyped(old, v.get("type"))
        out[k] = _merge(old, v) if mergeable and isinstance(old, dict) else v
    return out


def _retyped(section: dict, new_type: Any) -> bool:
    """Whether setting ``type`` to ``new_type`` changes a tagged section's type (its other keys then no longer
    apply: they belong to the old type)."""
    return new_type is not None and "type" in section and section["type"] != new_type


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """Read a YAML config, resolving ``base:`` chains (paths relative to the including file)."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path} (configs live in configs/, e.g. configs/yolo_cspx50.yaml)")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' chain loops back to itself")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config must be a mapping of sections (model, data, ...), got {type(data).__name__}"
        )
    base = data.pop("base", None)
    if base is None:
        return data
    return _merge(_read_yaml((path.parent / str(base)), (*seen, path.resolve())), data)


def _apply_override(data: dict, override: str) -> bool:
    """Apply ``a.b.c=value`` (value parsed as YAML: numbers, true/false, null, [lists]) to the raw dict. Setting
    ``model.head.type`` to another family starts ``model.head`` afresh (the old family's keys do not apply).
    Returns whether the key was of the old head layout (``model.head.<family>.*``, ``loss.<family>.*``)."""
    if "=" not in override:
        raise ConfigError(f"override '{override}' must look like key.sub=value (e.g. train.epochs=10)")
    key, value = parse_override(override)
    new_key, family = migrate_head_override(key, _head_family_names())
    head = data.get("model", {}).get("head", {}) if isinstance(data.get("model"), dict) else {}
    selected = (head.get("type") if isinstance(head, dict) else None) or default_head_config().type
    if family is not None and family != selected:
        raise ConfigError(
            f"command-line override '{key}': model.head.type is {selected!r}, not {family!r}; set "
            f"model.head.type={family} first, then its keys as {new_key}"
        )
    parts = new_key.split(".")
    cls: Any = Config
    node = data
    for i, part in enumerate(parts):
        if isinstance(cls, type) and issubclass(cls, HeadConfig):
            cls = _head_class(node.get("type"), ".".join(parts[:i]), "command-line override")
        hints = typing.get_type_hints(cls)
        prefix = ".".join(parts[:i])
        if part not in hints:
            raise _unknown_key(part, list(hints), prefix, "command-line override")
        if i == len(parts) - 1:
            if part == "type" and _retyped(node, value):
                node.clear()
            node[part] = value
            return new_key != key
        tp = hints[part]
        if typing.get_origin(tp) in (Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"command-line override: '{'.'.join(parts[: i + 1])}' is not a section")
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node, cls = node[part], tp
    raise AssertionError("unreachable: the loop returns at the last part")


def config_from_dict(data: dict, source: str = "config", overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Validate a plain (YAML-like) dict into a :class:`Config`, then apply ``key.sub=value`` overrides.

    A config (or override) of the old head layout (``model.head.<family>: {...}``, ``loss.<family>: {...}``) is
    migrated to ``model.head: {type, <family fields>, loss: {...}}`` with one warning naming the new keys."""
    data, moved = migrate_head_layout(data, _head_family_names(), default_head_config().type)
    cfg = _build(Config, data, "", source)
    legacy_overrides = []
    if overrides:
        data = copy.deepcopy(data)
        for override in overrides:
            if _apply_override(data, override):
                legacy_overrides.append(override.split("=", 1)[0].strip())
        cfg = _build(Config, data, "", "command-line override")
        for message in override_collisions(overrides):
            warnings.warn(message, UserWarning, stacklevel=3)
    if moved or legacy_overrides:
        old = ", ".join([*moved, *legacy_overrides])
        warnings.warn(
            f"{source}: old head config layout ({old}); the head family's settings are now keys of model.head "
            f"(model.head: {{type: {cfg.model.head.type}, <its fields>, loss: {{...}}}}, e.g. model.head.loss.box); "
            f"update the file or override",
            UserWarning,
            stacklevel=2,
        )
    return cfg


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load ``path`` (or the defaults when None), apply ``key.sub=value`` overrides, validate, return a Config."""
    data = _read_yaml(Path(path)) if path is not None else {}
    return config_from_dict(data, str(path) if path is not None else "defaults", overrides)


def config_to_dict(cfg: Config) -> dict:
    """The resolved config as plain dicts/lists (what is saved next to runs and inside checkpoints)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (loadable again with :func:`load_config`)."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
