"""An export run (``tools/export.py``): load a checkpoint, fold BatchNorm, write ONNX or TorchScript, check the file
against the PyTorch model on random inputs."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detector.config import Config, PredictConfig, predict_settings
from detector.config.tool_options import AT_LEAST_1, OPSET, Range, option
from detector.device import select_device
from detector.engine.jobs.export_openvino import (
    Int8AccuracyError,
    Int8Check,
    check_ir_folder,
    default_ir_folder,
    export_openvino_job,
    ir_file_names,
)
from detector.job_files import JobFiles
from detector.model import Detector
from detector.model.checkpoint_io import load_detector
from detector.model.fuse import fuse_conv_bn
from detector.output_files import OutputFileError, atomic_path
from detector.runtime.torch_export import (
    DEFAULT_OPSET,
    _parity,
    check_onnx,
    check_torchscript,
    export_onnx,
    export_torchscript,
    output_names,
)

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript", "openvino")


class ExportError(ValueError):
    """An export cannot be done as asked; the message names the option (or file) and what to do."""


@dataclass
class ExportOptions:
    """Everything an export needs; the fields mirror ``tools/export.py``'s options."""

    weights: str = option(doc="checkpoint written by tools/train.py")
    format: str = option("onnx", "file format", choices=FORMATS)
    img_size: list[int] | None = option(
        None, "input side, or H W (multiples of 32; default: predict.img_size, else the training data.img_size)",
        key="data.img_size", nargs="+",
    )  # fmt: skip
    opset: int = option(DEFAULT_OPSET, f"ONNX opset ({OPSET.describe()})", range=OPSET)
    raw: bool = option(False, "export raw per-level maps instead of decoded boxes")
    dynamic_batch: bool = option(True, "ONNX batch axis dynamic", both=True)
    out: str | None = option(
        None, "output file; missing folders are created (default: the weights path with .onnx / .torchscript)"
    )
    exist_ok: bool = option(False, "replace --out if it exists (never the --weights file)")
    device: str = option("cpu", "device used for export and the PyTorch side of the check")
    fuse: bool = option(True, "do not fold BatchNorm into the convolutions", flag="--no-fuse", negate=True)
    check: bool = option(
        True, "skip the parity check against PyTorch (--int8: the val AP check)", flag="--no-check", negate=True
    )
    int8: bool = option(False, "openvino: INT8 (NNCF), its val AP checked against float")
    calib_images: int = option(300, "--int8: calibration images from data.train", range=AT_LEAST_1)
    # AP is in [0, 1]; < 0 demands a gain (tests)
    max_ap_drop: float = option(
        0.01, "--int8: largest val AP loss accepted (else exit 1)", range=Range(lo=-1.0, hi=1.0)
    )
    # key=value applied to the checkpoint's config; predict.half=true exports fp16 weights and input, predict.img_size
    # the input side; predict.conf/iou/max_det/multi_label go into the file's "nms" metadata
    overrides: list[str] = option(
        [], "overrides of the checkpoint's config, e.g. predict.conf=0.4", positional=True, nargs="*",
        metavar="key=value",
    )  # fmt: skip


@dataclass
class ExportSummary:
    """What an export wrote: the file, its size, the output names, the parity check (None when skipped)."""

    out: Path  # the file, or the OpenVINO folder
    format: str
    outputs: list[str]
    size_mb: float
    batch_sizes: tuple[int, ...]
    max_abs_diff: float | None = None
    ok: bool = True  # False: the file does not reproduce the PyTorch outputs within tolerance
    int8_check: Int8Check | None = None  # --int8: AP of float and INT8 on the val split


def _output_path(opts: ExportOptions) -> Path:
    """``--out`` (or its default beside the weights), checked before any work (:class:`JobFiles`): never the weights
    nor inside an input folder, never under a file or where nothing can be written, never an existing file (an
    OpenVINO folder: an earlier export) unless ``exist_ok``."""
    files = JobFiles(exist_ok=opts.exist_ok)
    files.read("--weights", opts.weights, "file")
    if opts.format == "openvino":
        out = Path(opts.out) if opts.out else default_ir_folder(opts.weights)
        label = "--out" if opts.out else "--out (default: the weights path with _openvino)"
        files.write_folder(label, out, names=ir_file_names(out), option="--out")
        try:
            files.check()
            return check_ir_folder(out, opts.weights, opts.exist_ok)
        except OutputFileError as e:
            raise ExportError(str(e)) from None
    suffix = ".onnx" if opts.format == "onnx" else ".torchscript"
    out = Path(opts.out) if opts.out else Path(opts.weights).with_suffix(suffix)
    files.write_file("--out" if opts.out else f"--out (default: the weights path with {suffix})", out, option="--out")
    try:
        files.check()
    except OutputFileError as e:
        raise ExportError(str(e)) from None
    return out


def run_export(opts: ExportOptions) -> ExportSummary:
    """Export as ``opts`` says and (unless ``opts.check`` is off) compare the file with the unfused PyTorch model
    at batch 1 and 2 (batch 1 only for a fixed-batch ONNX file). Logs what was written and the check's result.

    Raises :class:`ExportError` for bad options, an unusable checkpoint, an unwritable ``out``, or an ``out`` that is
    the weights or (without ``exist_ok``) an existing file -- checked before the model is loaded; a failed parity
    check is ``summary.ok == False`` (the file is kept).
    """
    if opts.format not in FORMATS:
        raise ExportError(f"--format {opts.format!r}: choose one of {', '.join(FORMATS)}")
    if opts.img_size is not None and len(opts.img_size) not in (1, 2):
        raise ExportError(f"--img-size takes one or two values (H W), got {opts.img_size}")
    _check_deploy_options(opts)
    out = _output_path(opts)
    try:
        device = select_device(opts.device)
        model, cfg, meta = load_detector(opts.weights, list(opts.overrides))
    except (OSError, ValueError, RuntimeError) as e:
        raise ExportError(str(e)) from None
    settings = predict_settings(cfg)
    sides = opts.img_size or [int(settings.img_size or cfg.data.img_size)]
    img_size: int | tuple[int, int] = sides[0] if len(sides) == 1 else (sides[0], sides[1])
    half = settings.half is True  # null (fp16 on CUDA at detection time) exports fp32: the portable choice
    if half and device.type == "cpu":
        log.warning("predict.half=true (--half) on CPU: fp16 convolutions may be slow or unsupported in onnxruntime")
    reference = copy.deepcopy(model).eval()  # unfused PyTorch model for the parity check
    export_model = fuse_conv_bn(model) if opts.fuse else model
    if opts.format == "openvino":
        return _run_openvino(opts, export_model, reference, cfg, meta, out, img_size, half, settings)
    try:
        with atomic_path(out, exist_ok=opts.exist_ok, option="--out") as tmp:  # no half-written file at ``out``
            if opts.format == "onnx":
                export_onnx(
                    export_model,
                    tmp,
                    img_size,
                    opts.opset,
                    opts.raw,
                    opts.dynamic_batch,
                    half,
                    device,
                    settings,
                    meta["cat_ids"],
                )
            else:
                export_torchscript(export_model, tmp, img_size, opts.raw, half, device, settings)
    except ValueError as e:
        raise ExportError(str(e)) from None
    except OSError as e:
        raise ExportError(f"--out {out}: cannot write the file ({e.strerror or e})") from None
    outputs = output_names(model, opts.raw)
    batches = (1, 2) if opts.dynamic_batch or opts.format == "torchscript" else (1,)
    summary = ExportSummary(out, opts.format, outputs, out.stat().st_size / 1e6, batches)
    log.info(
        "exported %s to %s (%.1f MB); input: images, outputs: %s", opts.format, out, summary.size_mb, ", ".join(outputs)
    )
    log.info("classes (%d): %s", meta["num_classes"], meta["class_names"])
    if not opts.raw:
        log.info("note: decoded output [B, N, 4+C] (class scores) has no NMS: threshold and run NMS yourself")
    if not opts.check:
        return summary
    check = check_onnx if opts.format == "onnx" else check_torchscript
    res = check(out, reference, img_size, opts.raw, batches, half, device)
    summary.max_abs_diff, summary.ok = float(res["max_abs_diff"]), bool(res["ok"])
    log.info(
        "parity check vs PyTorch (batch %s): max abs diff %.3g %s",
        ", ".join(map(str, batches)), summary.max_abs_diff, "OK" if summary.ok else "FAILED",
    )  # fmt: skip
    return summary


def _check_deploy_options(opts: ExportOptions) -> None:
    """--int8 / openvino option rules, before any work."""
    if opts.int8 and opts.format == "torchscript":
        raise ExportError("--int8 needs --format openvino: TorchScript has no INT8 export here")
    if opts.int8 and opts.format == "onnx":
        raise ExportError(
            "--format onnx --int8 is not offered: onnxruntime's static QDQ INT8 measured ~1.0x its fp32 speed on a CPU "
            "(target 2x; docs/INFERENCE.md#deploy); use --format openvino --int8"
        )
    if opts.format == "openvino" and opts.raw:
        raise ExportError("--raw is not offered with --format openvino: the IR holds the decoded output")
    if opts.int8 and opts.calib_images < 1:
        raise ExportError(f"--calib-images must be >= 1, got {opts.calib_images}")


def _run_openvino(
    opts: ExportOptions,
    model: Detector,
    reference: Detector,
    cfg: Config,
    meta: dict,
    out: Path,
    img_size: int | tuple[int, int],
    half: bool,
    settings: PredictConfig,
) -> ExportSummary:
    """The OpenVINO branch of :func:`run_export`: the IR folder, then the parity check of an fp32 IR."""
    from detector.runtime.openvino_backend import OpenVinoBackend

    hw = (img_size, img_size) if isinstance(img_size, int) else img_size
    try:
        xml, int8_check = export_openvino_job(
            model, cfg, list(meta["cat_ids"]), out, hw, nms=settings, half=half, int8=opts.int8,
            calib_images=opts.calib_images, max_ap_drop=opts.max_ap_drop, exist_ok=opts.exist_ok, opset=opts.opset,
            check_accuracy=opts.check,
        )  # fmt: skip
    except (ValueError, FileNotFoundError, ImportError) as e:
        raise ExportError(str(e)) from None
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    summary = ExportSummary(out, "openvino", ["output"], size, (1, 2), int8_check=int8_check)
    log.info(
        "exported openvino (%s) to %s (%.1f MB): %s",
        "int8" if opts.int8 else "fp16" if half else "fp32",
        out,
        size,
        xml.name,
    )
    if not opts.check or opts.int8 or half:
        if opts.check:
            log.info(
                "parity check skipped: %s weights (the --int8 AP check measures the accuracy)"
                if opts.int8
                else "parity check skipped: fp16 weights",
                "int8",
            )
        return summary
    backend = OpenVinoBackend(out)

    def run(x: torch.Tensor) -> list[np.ndarray]:
        return [backend(x).numpy()]

    res = _parity(reference.float(), run, hw, False, (1, 2), False, torch.device("cpu"), 1e-3, 1e-3, 0)
    summary.max_abs_diff, summary.ok = float(res["max_abs_diff"]), bool(res["ok"])
    log.info(
        "parity check vs PyTorch (batch 1, 2): max abs diff %.3g %s",
        summary.max_abs_diff,
        "OK" if summary.ok else "FAILED",
    )
    return summary


__all__ = ["FORMATS", "ExportError", "Int8AccuracyError", "ExportOptions", "ExportSummary", "run_export"]
