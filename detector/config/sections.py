"""The config's sections: one dataclass per section (``model``, ``data``, ``train``, ``eval``, ``predict``,
``track``) and :class:`Config`, the whole. Every key is declared once, below, with
:func:`detector.config.schema.option`: its default, documentation, range and allowed values (``docs/CONFIG.md`` and
``configs/defaults.yaml`` are generated from these declarations by ``python -m detector.config.docs``).
``model.head`` is a tagged union: :class:`HeadConfig` is its base, each head family's subclass (its fields and its
``loss``) is registered in ``detector/config/plugins.py`` (the built-in ones are declared in
``detector/config/head_families.py``). Reading and checking a config: ``detector/config/loading.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from detector.config import head_families  # noqa: F401 - registers the built-in families' model.head classes
from detector.config.plugins import (
    HeadConfig,
    default_head_config,
    neck_names,
    register_neck_type,
)
from detector.config.ranges import AT_LEAST_0, AT_LEAST_1, FRACTION, POSITIVE, Range
from detector.config.schema import option


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
