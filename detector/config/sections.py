"""Typed, validated configuration: YAML files + ``key.sub=value`` overrides -> :class:`Config`.

Every key is declared once, below, with :func:`detector.config.schema.option`: its default, documentation, range and
allowed values (``docs/CONFIG.md`` and ``configs/defaults.yaml`` are generated from these declarations by
``python -m detector.config.docs``). Every key is checked: an unknown key is an error that suggests the nearest valid
key, a wrong type names the key and the expected type, a number outside its declared range or a value outside its
choices names the key and what is allowed, an empty path where one is needed (``detector/config/paths.py``) names
the key. Overrides that set one key twice are applied in order and warned about (``detector/config/overrides.py``).
A section given a mapping (``train={epochs: 1}``) sets the keys it names, as a file does over its ``base``; a
section given a value (``train=5``) is an error.
A config file may start from another with ``base: other.yaml`` (path relative to the file) and override only what
differs. ``model.head`` is a tagged union: :class:`HeadConfig` is its base, each head family's subclass (its fields
and its ``loss``) is registered in ``detector/config/plugins.py`` (the built-in ones are declared in
``detector/config/head_families.py``); configs of the old layout are migrated (``detector/config/migrate.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import types
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from detector.config import head_families  # noqa: F401 - registers the built-in families' model.head classes
from detector.config.migrate import (
    migrate_head_layout,
    migrate_head_override,
    migrate_renamed_keys,
    migrate_renamed_override,
)
from detector.config.overrides import override_collisions, parse_override
from detector.config.paths import empty_path_problem
from detector.config.plugins import (
    LEGACY_DEFAULT_HEAD_FAMILY,
    HeadConfig,
    default_head_config,
    head_config_class,
    head_family_names,
    neck_names,
    register_neck_type,
)
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1, FRACTION, POSITIVE, Range, range_problem
from detector.config.schema import option, option_choices, option_range
from detector.config.yaml_loader import DuplicateKeyError, load_yaml_text, yaml_error_line
from detector.output_files import write_text_atomic


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the file/key and what to do."""


@dataclass
class BackboneConfig:
    name: str = option("cspresnext50", doc='registry name (see backbones.list_backbones()) or "timm:<model>"')
    pretrained: bool | str | None = option(
        True, doc="true: official ImageNet weights; a weights file path; false/null: random init"
    )
    out_indices: list[int] = option(
        doc="feature levels to use, timm numbering (2, 3, 4: strides 8/16/32)",
        factory=lambda: [2, 3, 4],
        range=AT_LEAST_0,
    )
    width_mult: float = option(1.0, doc="channel multiplier of the CSP backbones", range=POSITIVE)
    depth_mult: float = option(1.0, doc="block-count multiplier of the CSP backbones", range=POSITIVE)
    frozen_stages: int = option(0, doc="N > 0 freezes the stem and stages 1..N", range=AT_LEAST_0)
    norm_eval: bool = option(False, doc="keep backbone BatchNorm statistics frozen")


@dataclass
class NeckConfig:
    type: str = option("spp_pan", doc="neck registry name (detector/model/neck.py NECKS)", choices=neck_names)
    widths: list[int] = option(doc="channels of P3/P4/P5", factory=lambda: [128, 256, 512], range=AT_LEAST_1)
    depth: int = option(2, doc="conv pairs per PAN stack", range=AT_LEAST_0)
    spp_kernels: list[int] = option(doc="SPP max-pool sizes, pixels", factory=lambda: [5, 9, 13], range=AT_LEAST_1)
    # darknet import (see detector/darknet/): layout options that make the neck layer for layer a darknet cfg
    spp_order: str = option(
        "input_first",
        doc="SPP concat order: input_first [x, pools...] | input_last [pools reversed, x] (darknet)",
        choices=("input_first", "input_last"),
    )
    bn_eps: float = option(1e-3, doc="BatchNorm epsilon of the neck convs (darknet: 1e-5)")


register_neck_type(NeckConfig().type)  # the built-in neck (detector/model/neck.py registers its builder)


@dataclass
class ModelConfig:
    backbone: BackboneConfig = option(doc="the feature extractor (backbones/)", factory=BackboneConfig)
    neck: NeckConfig = option(doc="the multi-scale neck over the backbone's levels", factory=NeckConfig)
    head: HeadConfig = option(
        doc="the detection head: {type: <family>, <its fields>, loss: {...}}", factory=default_head_config
    )
    num_classes: int | None = option(None, doc="null: taken from the training annotations", range=AT_LEAST_1)
    input_norm: str = option(
        "imagenet",
        doc="imagenet: (x - mean) / std inside the model | none: RGB in [0, 1] as is (darknet)",
        choices=("imagenet", "none"),
    )


@dataclass
class SplitConfig:
    ann: str = option("", doc="COCO JSON (format coco) or a YOLO data yaml / list file (format yolo)")
    images: str = option("", doc="image folder")


@dataclass
class ShapesConfig:
    root: str = option("data/shapes", doc="folder the synthetic set is generated into")
    num_train: int = option(800, doc="training images", range=AT_LEAST_1)
    num_val: int = option(200, doc="validation images", range=AT_LEAST_0)
    # the generator draws objects from 16 px to 45 % of the side: 36 px is the smallest side it can draw
    img_size: int = option(256, doc="image side, pixels", range=Range(lo=36))
    seed: int = option(0, doc="random seed of the generator", range=AT_LEAST_0)


@dataclass
class AugmentConfig:
    mosaic: float = option(1.0, doc="probability of a 4-image mosaic", range=FRACTION)
    mixup: float = option(0.0, doc="probability of mixing two samples", range=FRACTION)
    degrees: float = option(0.0, doc="rotation range, +/- degrees", range=Range(lo=0, hi=180))
    translate: float = option(0.1, doc="translation, +/- fraction of the image side", range=FRACTION)
    scale: float = option(0.5, doc="random scale in [1 - scale, 1 + scale]", range=Range(lo=0, hi=1, hi_open=True))
    shear: float = option(0.0, doc="shear, +/- degrees", range=Range(lo=0, hi=90, hi_open=True))
    hsv_h: float = option(0.015, doc="hue jitter, +/- fraction", range=FRACTION)
    hsv_s: float = option(0.7, doc="saturation jitter, +/- fraction", range=FRACTION)
    hsv_v: float = option(0.4, doc="value (brightness) jitter, +/- fraction", range=FRACTION)
    fliplr: float = option(0.5, doc="probability of a horizontal flip", range=FRACTION)
    close_mosaic: int = option(10, doc="switch mosaic/mixup off for the last N epochs", range=AT_LEAST_0)
    photometric: float = option(
        0.01, doc="probability of each of Blur / ToGray / CLAHE (albumentations)", range=FRACTION
    )


@dataclass
class DataConfig:
    format: str = option(
        "coco", doc="annotation format: coco (JSON) | yolo (YOLO-txt folders)", choices=("coco", "yolo")
    )
    train: SplitConfig = option(
        doc="the training split",
        factory=lambda: SplitConfig("data/coco/annotations/instances_train2017.json", "data/coco/train2017"),
    )
    val: SplitConfig = option(
        doc="the validation split",
        factory=lambda: SplitConfig("data/coco/annotations/instances_val2017.json", "data/coco/val2017"),
    )
    shapes: ShapesConfig | None = option(
        None,
        doc="set (e.g. {root: data/shapes}) to generate the built-in synthetic set into root on first use, for the "
        "splits whose paths point there",
    )
    img_size: int = option(640, doc="square input side, pixels", range=Range(lo=32, multiple_of=32))
    max_background: int | None = option(
        None, doc="images without boxes kept at most; null: keep every one", range=AT_LEAST_0
    )
    augment: AugmentConfig = option(doc="training augmentation", factory=AugmentConfig)


@dataclass
class TrainConfig:
    epochs: int = option(300, doc="training epochs", range=AT_LEAST_1)
    batch_size: int = option(16, doc="images per step per device", range=AT_LEAST_1)
    nominal_batch_size: int = option(
        64, doc="gradients are accumulated to this many images per optimiser step", range=AT_LEAST_1
    )
    device: str = option("auto", doc="auto | cpu | cuda | cuda:N")
    workers: int = option(8, doc="data-loader processes per device", range=AT_LEAST_0)
    out_dir: str = option("runs/train/exp", doc="run folder (weights, logs, plots)")
    weights: str | None = option(None, doc="start from a detector checkpoint (fine-tuning; the class count may differ)")
    optimizer: str = option("sgd", doc="optimiser", choices=("sgd", "adamw"))
    lr: float = option(0.01, doc="base learning rate", range=POSITIVE)
    momentum: float = option(0.937, doc="SGD momentum, AdamW beta1", range=Range(lo=0, hi=1, hi_open=True))
    nesterov: bool = option(True, doc="Nesterov momentum (sgd)")
    weight_decay: float = option(0.0005, doc="weight decay of the conv/linear weights", range=AT_LEAST_0)
    warmup_epochs: float = option(3.0, doc="linear warmup length, epochs; 0 disables", range=AT_LEAST_0)
    warmup_bias_lr: float | None = option(
        None, doc="bias LR at warmup start; null: 0.1 with sgd, 0.0 with adamw", range=AT_LEAST_0
    )
    scheduler: str = option("cosine", doc="LR decay from lr to lr * final_lr_ratio", choices=("cosine", "linear"))
    final_lr_ratio: float = option(0.01, doc="LR of the last iteration, a fraction of lr", range=FRACTION)
    amp: bool = option(True, doc="mixed precision: amp_dtype on CUDA, bf16 on CPUs with bf16 hardware (else fp32)")
    amp_dtype: str = option("bf16", doc="mixed-precision type on CUDA", choices=("bf16", "fp16"))
    channels_last: bool = option(True, doc="channels-last memory format")
    compile: bool = option(False, doc="torch.compile the model")
    ema: bool = option(True, doc="keep an exponential moving average of the weights (evaluated and saved)")
    ema_decay: float = option(0.9999, doc="EMA decay", range=FRACTION)
    grad_clip: float = option(10.0, doc="max gradient norm; 0 disables", range=AT_LEAST_0)
    eval_interval: int = option(
        1, doc="epochs between validations (the last epoch is always validated)", range=AT_LEAST_1
    )
    seed: int = option(0, doc="random seed (each process adds its rank)", range=AT_LEAST_0)
    resume: bool = option(False, doc="continue the run in out_dir from weights/last.pt")
    sync_bn: bool = option(False, doc="SyncBatchNorm across GPUs (multi-GPU CUDA runs)")
    max_nonfinite: int = option(20, doc="consecutive non-finite losses before the run stops", range=AT_LEAST_1)
    save_batches: int = option(3, doc="train_batch*.jpg images written at the start", range=AT_LEAST_0)
    deterministic: bool = option(False, doc="ask torch/cuDNN for deterministic kernels")


@dataclass
class EvalConfig:
    conf: float = option(0.001, doc="score threshold before NMS (low: mAP integrates over every score)", range=FRACTION)
    iou: float = option(0.65, doc="NMS IoU threshold", range=FRACTION)
    max_det: int = option(100, doc="detections kept per image (COCO's maxDets)", range=AT_LEAST_1)
    multi_label: bool = option(False, doc="a box may count for every class scoring above conf (else its best class)")
    batch_size: int = option(32, doc="images per batch", range=AT_LEAST_1)
    letterbox: str = option(
        "square",
        doc="square (img_size x img_size) | rect (multiple of 32 per image)",
        choices=("square", "rect"),
    )


@dataclass
class PredictConfig:
    """How detections are made for users: ``Detector.predict``, the ``Predictor``, ``tools/detect.py``, the input
    size and precision of ``tools/export.py`` and the NMS of ``tools/benchmark.py``. (``eval`` has its own
    thresholds: mAP wants every box down to ``eval.conf``.)"""

    conf: float = option(0.25, doc="score threshold (objectness x class probability)", range=FRACTION)
    iou: float = option(0.45, doc="NMS IoU threshold (class-aware NMS)", range=FRACTION)
    max_det: int = option(300, doc="detections kept per image", range=AT_LEAST_1)
    multi_label: bool = option(False, doc="a box may carry every class scoring above conf (else its best class)")
    img_size: int | None = option(
        None,
        doc="network input long side, pixels; null: data.img_size (the training size; 640 for a bare Predictor)",
        range=Range(lo=32, multiple_of=32),
    )
    letterbox: str = option(
        "rect",
        doc="rect (each batch padded to the smallest multiple-of-32 rectangle) | square (img_size x img_size)",
        choices=("rect", "square"),
    )
    half: bool | None = option(
        None,
        doc="fp16 weights and input; null: fp16 on CUDA, fp32 on the CPU (export: fp32 unless true)",
    )


@dataclass
class TrackConfig:
    """Multi-object tracking of ``tools/detect.py --track`` and :class:`detector.track.ByteTracker` (docs/TRACKING.md).
    When tracking, the detector keeps boxes down to ``low_thresh`` (in place of ``predict.conf``): ByteTrack's second
    association needs the low-score boxes."""

    tracker: str = option(
        "bytetrack",
        doc="bytetrack | iou (the plain IoU-matching baseline: confident boxes, previous frame only)",
        choices=("bytetrack", "iou"),
    )
    high_thresh: float = option(0.5, doc="score of a confident box: first association with all tracks", range=FRACTION)
    low_thresh: float = option(
        0.1, doc="lowest score kept when tracking: boxes in [low, high) only continue tracks", range=FRACTION
    )
    new_track_thresh: float = option(0.6, doc="score an unmatched box needs to start a new track", range=FRACTION)
    match_iou: float = option(0.2, doc="least IoU of a confident box with a track's predicted box", range=FRACTION)
    low_match_iou: float = option(0.5, doc="least IoU of a low-score box with a track's predicted box", range=FRACTION)
    buffer: int = option(30, doc="frames a lost track is kept (and can take its ID back)", range=AT_LEAST_0)
    min_box_area: float = option(10.0, doc="tracks with a smaller box (pixels^2) are not shown", range=AT_LEAST_0)
    class_aware: bool = option(
        False, doc="a track only takes boxes of its class (false: any class; its class is the score-weighted vote)"
    )
    trail: int = option(20, doc="past centres drawn behind each track on the video, frames", range=AT_LEAST_0)
    confirm: int = option(2, doc="frames in a row a new track is matched on before it gets an ID", range=AT_LEAST_1)
    reid_buffer: int = option(
        150,
        doc="frames a lost track can be re-identified (class, motion, size, appearance gates); 0: off",
        range=AT_LEAST_0,
    )
    reid_speed: float = option(
        0.1, doc="re-identification motion gate: box sizes a lost object may move per frame lost", range=AT_LEAST_0
    )
    appearance: bool = option(True, doc="use the colour histogram of each box (re-identification, association)")
    appearance_thresh: float = option(
        0.3, doc="largest colour-histogram distance (0-1) of a box to a track's appearance", range=FRACTION
    )


def predict_settings(cfg: Config) -> PredictConfig:
    """``cfg.predict`` with ``img_size`` resolved (null: ``cfg.data.img_size``, the size the model was trained at)."""
    return dataclasses.replace(cfg.predict, img_size=cfg.predict.img_size or cfg.data.img_size)


@dataclass
class Config:
    model: ModelConfig = option(doc="the network: backbone, neck, head", factory=ModelConfig)
    data: DataConfig = option(doc="datasets, input size, augmentation", factory=DataConfig)
    train: TrainConfig = option(doc="the training run", factory=TrainConfig)
    eval: EvalConfig = option(doc="validation during training and tools/eval.py", factory=EvalConfig)
    predict: PredictConfig = option(
        doc="detection for users: Predictor, tools/detect.py, export and benchmark", factory=PredictConfig
    )
    track: TrackConfig = option(
        doc="multi-object tracking: tools/detect.py --track (docs/TRACKING.md)", factory=TrackConfig
    )


def option_at(key: str) -> dataclasses.Field:
    """The declaration of the config key ``key`` (``'data.img_size'``); KeyError naming it when there is none."""
    cls: Any = Config
    *sections, name = key.split(".")
    for part in sections:
        cls = section_type(typing.get_type_hints(cls)[part]) if part in _field_names(cls) else None
    if name not in _field_names(cls):
        raise KeyError(f"'{key}' is not a config key (see docs/CONFIG.md)")
    return next(f for f in dataclasses.fields(cls) if f.name == name)


def _field_names(cls: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)] if isinstance(cls, type) and dataclasses.is_dataclass(cls) else []


def key_range(key: str) -> Range:
    """The declared range of the numeric config key ``key``; KeyError when it has none."""
    allowed = option_range(option_at(key))
    if allowed is None:
        raise KeyError(f"config key '{key}' declares no range")
    return allowed


def section_type(tp: Any) -> Any:
    """The dataclass of a section annotation (``ShapesConfig | None`` -> ``ShapesConfig``); ``tp`` otherwise."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        sections = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        return sections[0] if len(sections) == 1 else tp
    return tp


def type_name(tp: Any) -> str:
    """An annotation as errors and docs name it: ``int``, ``float or null``, ``list of int``, ``mapping``."""
    if dataclasses.is_dataclass(tp):
        return "mapping"
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else type_name(a) for a in args)
    if typing.get_origin(tp) is list:
        return f"list of {type_name(args[0])}"
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
    section = section_type(tp)
    if isinstance(section, type) and dataclasses.is_dataclass(section):
        optional = type(None) in typing.get_args(tp)
        raise _not_a_section_value(section, key, value, source, optional)
    raise ConfigError(f"{source}: key '{key}' expects {type_name(tp)}, got {value!r} ({type(value).__name__})")


def _not_a_section_value(section: type, key: str, value: Any, source: str, optional: bool) -> ConfigError:
    """The error for a value that is no mapping given to the section ``key`` (``train=5``, ``train: 5``): the
    section's defaults would otherwise stand in for everything set in it before."""
    first = dataclasses.fields(section)[0].name
    keys = ", ".join(f"{key}.{f.name}" for f in dataclasses.fields(section)[:3])
    mapping = f"a mapping ({{{first}: ...}})" + (" or null (off)" if optional else "")
    return ConfigError(
        f"{source}: '{key}' is a section ({keys}, ...), not a value; got {value!r}: set its keys one by one, "
        f"e.g. {key}.{first}=..., or give {mapping}"
    )


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
    names = head_family_names()
    if type_name not in names:
        raise ConfigError(f"{source}: key '{key}.type' must be one of {names}, got {type_name!r}")
    return head_config_class(type_name)


def _build(cls: type, data: dict, prefix: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown_key(str(key), list(fields), prefix, source)
        full = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _convert(value, hints[key], full, source)
        declared = fields[key]
        choices = option_choices(declared)
        if choices is not None and kwargs[key] not in choices:
            raise ConfigError(f"{source}: key '{full}' must be one of {list(choices)}, got {value!r}")
        problem = range_problem(full, kwargs[key], option_range(declared)) or empty_path_problem(full, kwargs[key])
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
        data = load_yaml_text(path.read_text(encoding="utf-8"), str(path))
    except DuplicateKeyError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_error_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file ({exc.reason} at byte {exc.start}); give a YAML config") from None
    if data is None or data == {}:
        raise ConfigError(
            f"config {path} is empty: it sets no key; write the keys that differ from the defaults (e.g. "
            "'base: defaults.yaml' and a data section), or pass configs/defaults.yaml for every default"
        )
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
    A renamed key (:data:`detector.config.migrate.RENAMED_KEYS`) sets its new name. Returns whether the key was of
    the old head layout (``model.head.<family>.*``, ``loss.<family>.*``)."""
    if "=" not in override:
        raise ConfigError(f"override '{override}' must look like key.sub=value (e.g. train.epochs=10)")
    key, value = parse_override(override)
    renamed = migrate_renamed_override(key)
    new_key, family = migrate_head_override(renamed, head_family_names())
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
            old = node.get(part)
            section = section_type(hints[part])
            if isinstance(value, dict) and isinstance(old, dict) and dataclasses.is_dataclass(section):
                node[part] = _merge(old, value)  # a mapping sets the keys it names; the section's others stay
            else:
                node[part] = value
            return new_key != renamed
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
    migrated to ``model.head: {type, <family fields>, loss: {...}}`` with one warning naming the new keys; keys renamed
    since (:data:`detector.config.migrate.RENAMED_KEYS`, e.g. ``eval.conf_thres`` -> ``eval.conf``) likewise."""
    data, moved = migrate_head_layout(data, head_family_names(), LEGACY_DEFAULT_HEAD_FAMILY)
    data, renamed = migrate_renamed_keys(data)
    cfg = _build(Config, data, "", source)
    legacy_overrides, renamed_overrides = [], []
    if overrides:
        data = copy.deepcopy(data)
        for override in overrides:
            key = override.split("=", 1)[0].strip()
            if migrate_renamed_override(key) != key:
                renamed_overrides.append(f"{key} -> {migrate_renamed_override(key)}")
            if _apply_override(data, override):
                legacy_overrides.append(key)
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
    if renamed or renamed_overrides:
        warnings.warn(
            f"{source}: renamed config keys ({', '.join([*renamed, *renamed_overrides])}); use the new names",
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
    write_text_atomic(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False), fsync=False)
