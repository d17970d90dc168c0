"""Typed, validated configuration: YAML files + ``key.sub=value`` overrides -> :class:`Config`.

Every key is declared once, below, with :func:`detector.config_schema.option`: its default, documentation, range and
allowed values (``docs/CONFIG.md`` and ``configs/defaults.yaml`` are generated from these declarations by
``python -m detector.config_docs``). Every key is checked: an unknown key is an error that suggests the nearest valid
key, a wrong type names the key and the expected type, a number outside its declared range or a value outside its
choices names the key and what is allowed, an empty path where one is needed (``detector/config_paths.py``) names
the key. Overrides that set one key twice are applied in order and warned about (``detector/config_overrides.py``).
A config file may start from another with ``base: other.yaml`` (path relative to the file) and override only what
differs.
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

from detector.config_overrides import override_collisions, parse_override
from detector.config_paths import empty_path_problem
from detector.config_ranges import AT_LEAST_0, AT_LEAST_1, FRACTION, OPEN_FRACTION, POSITIVE, Range, range_problem
from detector.config_schema import option, option_choices, option_range


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the file/key and what to do."""


def neck_names() -> tuple[str, ...]:
    """The registered necks (``detector/registry.py`` NECKS): the choices of ``model.neck.type``."""
    from detector.registry import NECKS  # imported when called: the registry imports this module

    return tuple(NECKS)


def head_family_names() -> tuple[str, ...]:
    """The registered head families (``detector/registry.py`` HEADS): the choices of ``model.head.type``."""
    from detector.registry import HEADS  # imported when called: the registry imports this module

    return tuple(HEADS)


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
    type: str = option("spp_pan", doc="neck registry name (detector/registry.py NECKS)", choices=neck_names)
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


@dataclass
class YoloV4HeadConfig:
    # Anchors in input pixels, one row per level (P3, P4, P5): w0, h0, w1, h1, ... (YOLOv4 COCO anchors).
    anchors: list[list[float]] = field(
        default_factory=lambda: [[12, 16, 19, 36, 40, 28], [36, 75, 76, 55, 72, 146], [142, 110, 192, 243, 459, 401]]
    )
    scale_x_y: list[float] = field(default_factory=lambda: [1.2, 1.1, 1.05])  # YOLOv4 grid sensitivity per level
    # darknet import: box size decode and BatchNorm epsilon of the head's 3x3 convs
    wh_decode: str = "sigmoid2"  # sigmoid2: (2 sigmoid(t))^2 * anchor | exp: exp(t) * anchor (darknet [yolo])
    bn_eps: float = 1e-3  # darknet: 1e-5
    # At the start of a run (not on resume) the trainer reports the anchors' best possible recall (BPR) on the
    # training boxes; true: anchors below 0.98 BPR are replaced by k-means anchors, written into the run's config.
    auto_anchor: bool = False


@dataclass
class DecoupledHeadConfig:
    reg_max: int = 16  # bins of the box-side distance distribution (distances 0 .. reg_max - 1 strides)


@dataclass
class HeadConfig:
    type: str = "yolov4"  # head family (detector/registry.py): yolov4 (anchor-based) | decoupled (anchor-free)
    prior_prob: float | None = None  # initial class probability (bias init); null: the family's default
    yolov4: YoloV4HeadConfig = field(default_factory=YoloV4HeadConfig)  # used when type is yolov4
    decoupled: DecoupledHeadConfig = field(default_factory=DecoupledHeadConfig)  # used when type is decoupled


@dataclass
class ModelConfig:
    backbone: BackboneConfig = option(doc="the feature extractor (backbones/)", factory=BackboneConfig)
    neck: NeckConfig = option(doc="the multi-scale neck over the backbone's levels", factory=NeckConfig)
    head: HeadConfig = option(doc="the detection head family and its settings", factory=HeadConfig)
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
class YoloV4LossConfig:
    box: float = 0.05
    obj: float = 1.0
    cls: float = 0.5
    balance: list[float] = field(default_factory=lambda: [4.0, 1.0, 0.4])  # objectness weight of P3/P4/P5
    anchor_t: float = 4.0  # a GT matches an anchor when max(w/aw, aw/w, h/ah, ah/h) < anchor_t
    label_smoothing: float = 0.0


@dataclass
class DecoupledLossConfig:
    box: float = 7.5  # CIoU gain
    cls: float = 0.5  # BCE gain (targets: alignment-normalised IoU)
    dfl: float = 1.5  # distribution focal loss gain
    topk: int = 10  # task-aligned assigner: candidates per ground truth
    alpha: float = 0.5  # alignment = score ** alpha * IoU ** beta
    beta: float = 6.0


@dataclass
class LossConfig:
    yolov4: YoloV4LossConfig = field(default_factory=YoloV4LossConfig)  # used with model.head.type yolov4
    decoupled: DecoupledLossConfig = field(default_factory=DecoupledLossConfig)  # with model.head.type decoupled


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
    conf_thres: float = option(0.001, doc="score threshold before NMS", range=FRACTION)
    iou_thres: float = option(0.65, doc="NMS IoU threshold", range=FRACTION)
    max_det: int = option(100, doc="detections kept per image", range=AT_LEAST_1)
    batch_size: int = option(32, doc="images per batch", range=AT_LEAST_1)
    letterbox: str = option(
        "square",
        doc="square (img_size x img_size) | rect (multiple of 32 per image)",
        choices=("square", "rect"),
    )


@dataclass
class Config:
    model: ModelConfig = option(doc="the network: backbone, neck, head", factory=ModelConfig)
    data: DataConfig = option(doc="datasets, input size, augmentation", factory=DataConfig)
    loss: LossConfig = option(doc="loss settings, one section per head family", factory=LossConfig)
    train: TrainConfig = option(doc="the training run", factory=TrainConfig)
    eval: EvalConfig = option(doc="validation during training and tools/eval.py", factory=EvalConfig)


# The head-family keys' declarations (documentation, range, choices): their dataclasses above are not declared with
# option() yet. They move to detector/heads/<family>/ and declare these facts there; then this table goes.
_HEAD_FAMILY_OPTIONS: dict[str, dataclasses.Field] = {
    "model.head.type": option(
        doc="head family (detector/registry.py HEADS): yolov4 (anchor-based) | decoupled (anchor-free, DFL boxes)",
        choices=head_family_names,
    ),
    "model.head.prior_prob": option(
        doc="initial class probability (bias init); null: the family's default (yolov4 0.01, decoupled "
        "log(5 / C / cells))",
        range=OPEN_FRACTION,
    ),
    "model.head.yolov4": option(doc="used when type is yolov4"),
    "model.head.yolov4.anchors": option(
        doc="input pixels, one row per level (P3, P4, P5): w0, h0, w1, h1, w2, h2 (YOLOv4 COCO anchors)", range=POSITIVE
    ),
    "model.head.yolov4.scale_x_y": option(doc="YOLOv4 grid sensitivity per level", range=POSITIVE),
    "model.head.yolov4.wh_decode": option(
        doc="box size decode: sigmoid2: (2 sigmoid(t))^2 * anchor | exp: exp(t) * anchor (darknet [yolo])",
        choices=("sigmoid2", "exp"),
    ),
    "model.head.yolov4.bn_eps": option(doc="BatchNorm epsilon of the head's 3x3 convs (darknet: 1e-5)"),
    "model.head.yolov4.auto_anchor": option(
        doc="true: at the start of a run (not on resume), anchors below 0.98 best possible recall on the training "
        "boxes are replaced by k-means anchors (written into the run's config.yaml); the recall is reported either way"
    ),
    "model.head.decoupled": option(doc="used when type is decoupled"),
    "model.head.decoupled.reg_max": option(
        doc="bins of the box-side distance distribution (distances 0 .. reg_max - 1 strides)", range=AT_LEAST_1
    ),
    "loss.yolov4": option(doc="used with model.head.type yolov4"),
    "loss.yolov4.box": option(doc="CIoU box loss gain", range=AT_LEAST_0),
    "loss.yolov4.obj": option(doc="objectness BCE gain", range=AT_LEAST_0),
    "loss.yolov4.cls": option(doc="class BCE gain", range=AT_LEAST_0),
    "loss.yolov4.balance": option(doc="objectness weight of P3/P4/P5", range=AT_LEAST_0),
    "loss.yolov4.anchor_t": option(
        doc="a GT matches an anchor when max(w/aw, aw/w, h/ah, ah/h) < anchor_t", range=Range(lo=1, lo_open=True)
    ),
    "loss.yolov4.label_smoothing": option(doc="class label smoothing", range=Range(lo=0, hi=1, hi_open=True)),
    "loss.decoupled": option(doc="used with model.head.type decoupled"),
    "loss.decoupled.box": option(doc="CIoU gain", range=AT_LEAST_0),
    "loss.decoupled.cls": option(doc="BCE gain (targets: alignment-normalised IoU)", range=AT_LEAST_0),
    "loss.decoupled.dfl": option(doc="distribution focal loss gain", range=AT_LEAST_0),
    "loss.decoupled.topk": option(doc="task-aligned assigner: candidates per ground truth", range=AT_LEAST_1),
    "loss.decoupled.alpha": option(doc="alignment = score ** alpha * IoU ** beta", range=AT_LEAST_0),
    "loss.decoupled.beta": option(doc="IoU exponent of the alignment (see alpha)", range=AT_LEAST_0),
}


def key_option(f: dataclasses.Field, key: str) -> dataclasses.Field:
    """The declaration of config key ``key`` (dotted path), whose dataclass field is ``f``: ``f`` itself, or the
    head-family table's entry for a field not declared with option() yet."""
    return _HEAD_FAMILY_OPTIONS.get(key, f)


def option_at(key: str) -> dataclasses.Field:
    """The declaration of the config key ``key`` (``'data.img_size'``); KeyError naming it when there is none."""
    cls: Any = Config
    *sections, name = key.split(".")
    for part in sections:
        cls = section_type(typing.get_type_hints(cls)[part]) if part in _field_names(cls) else None
    if name not in _field_names(cls):
        raise KeyError(f"'{key}' is not a config key (see docs/CONFIG.md)")
    return key_option(next(f for f in dataclasses.fields(cls) if f.name == name), key)


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
    raise ConfigError(f"{source}: key '{key}' expects {type_name(tp)}, got {value!r} ({type(value).__name__})")


def _unknown_key(key: str, valid: list[str], prefix: str, source: str) -> ConfigError:
    full = f"{prefix}.{key}" if prefix else key
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
    section = f"'{prefix}'" if prefix else "the top level"
    return ConfigError(f"{source}: unknown key '{full}'{hint} (valid keys in {section}: {', '.join(valid)})")


def _build(cls: type, data: dict, prefix: str, source: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown_key(str(key), list(fields), prefix, source)
        full = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _convert(value, hints[key], full, source)
        declared = key_option(fields[key], full)
        choices = option_choices(declared)
        if choices is not None and kwargs[key] not in choices:
            raise ConfigError(f"{source}: key '{full}' must be one of {list(choices)}, got {value!r}")
        problem = range_problem(full, kwargs[key], option_range(declared)) or empty_path_problem(full, kwargs[key])
        if problem:
            raise ConfigError(f"{source}: key {problem}")
    return cls(**kwargs)


def _merge(base: dict, update: dict) -> dict:
    """Recursive dict merge: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


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


def _apply_override(data: dict, override: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML: numbers, true/false, null, [lists]) to the raw dict."""
    if "=" not in override:
        raise ConfigError(f"override '{override}' must look like key.sub=value (e.g. train.epochs=10)")
    key, value = parse_override(override)
    parts = key.split(".")
    cls: Any = Config
    node = data
    for i, part in enumerate(parts):
        hints = typing.get_type_hints(cls)
        prefix = ".".join(parts[:i])
        if part not in hints:
            raise _unknown_key(part, list(hints), prefix, "command-line override")
        if i == len(parts) - 1:
            node[part] = value
            return
        tp = hints[part]
        if typing.get_origin(tp) in (Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"command-line override: '{'.'.join(parts[: i + 1])}' is not a section")
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node, cls = node[part], tp


def config_from_dict(data: dict, source: str = "config", overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Validate a plain (YAML-like) dict into a :class:`Config`, then apply ``key.sub=value`` overrides."""
    cfg = _build(Config, data, "", source)
    if overrides:
        data = copy.deepcopy(data)
        for override in overrides:
            _apply_override(data, override)
        cfg = _build(Config, data, "", "command-line override")
        for message in override_collisions(overrides):
            warnings.warn(message, UserWarning, stacklevel=3)
    _warn_unused_families(cfg, source)
    return cfg


def _warn_unused_families(cfg: Config, source: str) -> None:
    """Warn when a head family's section that the selected ``model.head.type`` does not use differs from its
    defaults (e.g. ``loss.yolov4.box`` set while the head is ``decoupled``): nothing set is ignored silently."""
    selected = cfg.model.head.type
    for section, obj in (("model.head", cfg.model.head), ("loss", cfg.loss)):
        for family, tp in typing.get_type_hints(type(obj)).items():  # one section (a dataclass) per family
            is_family = isinstance(tp, type) and dataclasses.is_dataclass(tp)
            if is_family and family != selected and getattr(obj, family) != tp():
                warnings.warn(
                    f"{source}: '{section}.{family}' is set but model.head.type is '{selected}', which does not "
                    f"use it; set model.head.type={family} to use it, or remove it",
                    UserWarning,
                    stacklevel=3,
                )


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
