"""Detector benchmark: settings, model building (random init, optional BatchNorm folding, channels_last,
``torch.compile``) and :func:`benchmark_detector`, which runs the inference and (optionally) training benchmarks.

With random weights almost no box passes ``predict.conf``, so NMS costs less than with a trained model.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn

from detector.bench.inference import bench_inference
from detector.bench.timing import DTYPES, environment, synchronize
from detector.bench.training import bench_train
from detector.config import Config, load_config
from detector.config.tool_options import AT_LEAST_0, AT_LEAST_1, option
from detector.data.loader import build_dataset
from detector.device import select_device
from detector.engine.training.wrap import compile_module
from detector.model import Detector, build_model
from detector.model.fuse import fuse_conv_bn
from detector.model.pointwise_gemm import pointwise_convs_as_gemm
from detector.runtime.loader import is_exported, load_backend
from detector.runtime.settings import exported_predict_settings

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
SHAPES_BENCH_ROOT = "data/bench_shapes"


@dataclass
class DetectorBenchSettings:
    """Settings of :func:`benchmark_detector` (all echoed in the result). Sizes are square input sides in pixels."""

    # YAML config (None = the documented defaults; the tool requires one)
    config: str | None = option(None, "YAML config, e.g. configs/yolo_cspx50.yaml", positional=True)
    weights: str | None = option(
        None, "a checkpoint (its weights instead of random init), an ONNX file or an OpenVINO IR folder (CPU)"
    )
    overrides: list[str] = option([], "config overrides (dotted keys)", positional=True, nargs="*", metavar="key=value")
    device: str = option("auto", "cpu | cuda | cuda:N | auto")
    size: int = option(640, "throughput/training input side, pixels", key="data.img_size")
    sizes: list[int] | None = option(
        None, "batch-1 latency sizes, e.g. 320,640 (default --size)", key="data.img_size", comma=True
    )
    batch: int = option(32, "throughput and training batch", key="train.batch_size")
    # fp16 is CUDA only; the tool takes a list and runs once per dtype
    dtype: str = option(
        "fp32", "dtype(s), e.g. fp32,bf16,fp16, one run each: inference casts the weights, training uses autocast",
        choices=DTYPES, sweep=True, example="fp32,bf16",
    )  # fmt: skip
    channels_last: bool = option(
        True, "channels_last memory format for model and input (default: on, as tools/detect.py runs)", both=True
    )
    compile: bool | str = option(
        False, "torch.compile the model; optional mode, e.g. reduce-overhead (CUDA graphs) for batch-1 latency",
        nargs="?", const="default", choices=COMPILE_MODES,
    )  # fmt: skip  # False, True (= "default") or a torch.compile mode
    fuse: bool = option(
        True, "fold BatchNorm into the convolutions for inference (default: on, as tools/detect.py runs)", both=True
    )
    cuda_graphs: bool = option(
        False, "inference: replay forward + decode from a CUDA graph per shape (as tools/detect.py does on CUDA)"
    )
    gemm_1x1: bool = option(
        False, "inference: 1x1 convolutions as one matrix product with the bias in its epilogue (pointwise_gemm.py)"
    )
    cudnn_benchmark: bool = False  # let cuDNN time its algorithms per shape (torch.backends.cudnn.benchmark)
    train: bool = option(False, "also time the training step on synthetic tensors")
    real_data: bool = option(False, "with --train: also feed it from the config's loader")
    workers: int | None = option(None, "--real-data loader workers (default train.workers)", key="train.workers")
    num_classes: int | None = option(None, "default: model.num_classes, the dataset's, or 80", key="model.num_classes")
    warmup: int = option(3, "untimed calls first", range=AT_LEAST_0)
    iters: int = option(10, "calls per timed run", range=AT_LEAST_1)
    repeats: int = option(5, "timed runs; the median is reported", range=AT_LEAST_1)
    seed: int = 0

    @property
    def compile_mode(self) -> str | None:
        """The ``torch.compile`` mode, or None when not compiling."""
        if self.compile is True:
            return "default"
        return self.compile or None

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def validate(self, device: torch.device) -> None:
        """Raise ``ValueError`` naming the bad setting."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype {self.dtype!r} unknown; choose one of {sorted(DTYPES)}")
        if self.dtype == "fp16" and device.type == "cpu":
            raise ValueError("fp16 is CUDA-only; on CPU use --dtype fp32 or bf16")
        for s in [self.size, *(self.sizes or [])]:
            if s <= 0 or s % 32:
                raise ValueError(f"image sizes must be positive multiples of 32 (the model's largest stride), got {s}")
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")
        mode = self.compile_mode
        if mode is not None and mode not in COMPILE_MODES:
            raise ValueError(f"compile mode {mode!r} unknown; choose one of {', '.join(COMPILE_MODES)}")
        if mode is not None and self.warmup < 1:
            raise ValueError("--compile needs --warmup >= 1 so compilation (once per input shape) is not timed")
        if mode == "reduce-overhead" and device.type != "cuda":
            raise ValueError("compile mode 'reduce-overhead' records CUDA graphs: it needs --device cuda")
        if self.cuda_graphs and (device.type != "cuda" or mode is not None):
            raise ValueError("--cuda-graphs records the eager model on CUDA: it needs --device cuda and no --compile")
        if self.real_data and not self.train:
            raise ValueError("--real-data times the training step: pass --train as well")


def shapes_data_overrides(size: int, num_train: int = 256, root: str = SHAPES_BENCH_ROOT) -> list[str]:
    """Config overrides that point the train split at a generated shapes set of ``size`` px JPEGs (quality 95, up to
    6 objects each; made once under ``root``): a stand-in for COCO's ~640x480 JPEGs on machines without COCO. The
    model keeps the config's ``model.num_classes`` (80 for COCO configs), so the head costs what it costs on COCO.
    ``data.train`` / ``data.val`` point at the generated folders (``data.shapes`` alone never redirects them)."""
    folder = f"{root}_{size}"
    return [
        f"data.shapes={{root: {folder}, num_train: {num_train}, num_val: 0, img_size: {size}, seed: 0}}",
        f"data.train={{ann: {folder}/train.json, images: {folder}/train/images}}",
        f"data.val={{ann: {folder}/val.json, images: {folder}/val/images}}",
    ]


def bench_config(settings: DetectorBenchSettings) -> Config:
    """Load the config; random-init backbone unless ``model.backbone.pretrained`` is among the overrides, and
    ``data.img_size`` = the benchmark's ``size`` (the real loader must make images of the size being timed)."""

    overrides = list(settings.overrides)
    if not any(o.split("=", 1)[0].strip() == "model.backbone.pretrained" for o in overrides):
        overrides.append("model.backbone.pretrained=false")
    cfg = load_config(settings.config, [*overrides, f"data.img_size={settings.size}"])
    p = cfg.predict
    unused: dict[str, object] = {"predict.img_size": p.img_size, "predict.half": p.half}
    unused["predict.letterbox"] = None if p.letterbox == "rect" else p.letterbox
    named = [f"{k}={v}" for k, v in unused.items() if v is not None]
    if named:  # the benchmark times square --size / --sizes inputs in --dtype; only predict's NMS settings apply
        warnings.warn(
            f"benchmark: {', '.join(named)} not used: the input size is --size / --sizes and the precision --dtype",
            UserWarning,
            stacklevel=2,
        )
    return cfg


def build_bench_model(
    cfg: Config, num_classes: int, device: torch.device, s: DetectorBenchSettings, train: bool
) -> tuple[Detector, nn.Module]:
    """``(model, runner)``: the Detector on ``device`` (BatchNorm folded when ``s.fuse`` and not training) and what
    to call: the model itself or its ``torch.compile``-d version."""
    torch.manual_seed(s.seed)
    if s.weights:  # a checkpoint: its own architecture and weights
        from detector.model.checkpoint_io import load_detector

        model = load_detector(s.weights, list(s.overrides))[0].train(train)
    else:
        model = build_model(cfg, num_classes=num_classes).train(train)
    if s.fuse and not train:
        fuse_conv_bn(model)
    if s.gemm_1x1 and not train:
        pointwise_convs_as_gemm(model)
    model.to(device).to(memory_format=s.memory_format)
    if not train:  # inference runs in the weights' dtype; training keeps fp32 weights under autocast
        model.to(DTYPES[s.dtype])
    mode = s.compile_mode
    return model, (compile_module(model, mode) if mode else model)


def benchmark_detector(settings: DetectorBenchSettings) -> dict:
    """Run the detector benchmark. Returns ``{"env", "settings", "model", "latency", "throughput"[, "train"]}``.

    ``latency``: per size ``{"size", "batch": 1, "gflops", "e2e": {ms, img_s, runs_ms}, "forward": {...}}``;
    ``throughput``: ``{"with_nms", "without_nms", "nms_share", "dets_per_img", ...}``; ``train``: ``{"synthetic",
    "real_data" (with loader_img_s, workers), "real_vs_synthetic", "loader_vs_synthetic", "data_bound"}``.
    """
    s = settings
    device = select_device(s.device)
    s.validate(device)
    if s.weights and is_exported(s.weights):
        return _benchmark_exported(s, device)
    cfg = bench_config(s)
    dataset = build_dataset(cfg, "train") if s.real_data else None
    num_classes = s.num_classes or cfg.model.num_classes or (dataset.num_classes if dataset is not None else 80)
    if s.weights:
        from detector.model.checkpoint_io import load_detector

        num_classes = load_detector(s.weights, list(s.overrides))[2]["num_classes"]
    p = cfg.predict  # NMS settings: the config's predict section (--conf / --iou set predict.conf / predict.iou)
    nms = {"conf": p.conf, "iou": p.iou, "max_det": p.max_det, "multi_label": p.multi_label}
    out = {"env": environment(device), "settings": {**asdict(s), "num_classes": num_classes, "nms": nms}}
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = s.cudnn_benchmark
    try:
        model, runner = build_bench_model(cfg, num_classes, device, s, train=False)
        out.update(bench_inference(model, runner, device, s, cfg.predict))
        del model, runner
        if s.train:
            model, runner = build_bench_model(cfg, num_classes, device, s, train=True)
            out["train"] = bench_train(model, runner, cfg, num_classes, device, s, dataset)
        synchronize(device)
    finally:
        torch.backends.cudnn.benchmark = previous
    return out


def _benchmark_exported(s: DetectorBenchSettings, device: torch.device) -> dict:
    """:func:`benchmark_detector` for an ONNX file or OpenVINO IR (:mod:`detector.bench.exported`): CPU only; NMS
    settings from the file's metadata, ``predict.*`` overrides on top."""
    from detector.bench.exported import bench_exported, exported_refusals

    assert s.weights is not None
    if device.type != "cpu":
        raise ValueError(f"--weights {s.weights}: exported files are benchmarked on the CPU; use --device cpu")
    refused = exported_refusals(s)
    if refused:
        raise ValueError(f"--weights {s.weights} is an exported file: not with {'; '.join(refused)}")
    backend = load_backend(s.weights)
    predict = [o for o in s.overrides if o.strip().startswith("predict.")]
    settings = exported_predict_settings(backend.info, predict, s.weights)
    nms = {"conf": settings.conf, "iou": settings.iou, "max_det": settings.max_det, "multi_label": settings.multi_label}
    num_classes = len(backend.info.names)
    out = {"env": environment(device), "settings": {**asdict(s), "num_classes": num_classes, "nms": nms}}
    out.update(bench_exported(backend, s, settings))
    return out
