"""Model export: ONNX (legacy TorchScript-based exporter, dynamic batch) and TorchScript (trace), with parity checks.

Exported graph input: ``images`` float ``[B, 3, H, W]`` RGB in ``[0, 1]`` (H, W fixed at export time; B dynamic
with ``dynamic_batch``). Outputs:

- decoded (default): ``output`` ``[B, N, 4 + C]`` = (cx, cy, w, h in input pixels, class scores in [0, 1], as the
  head's ``decode`` gives them), N = the number of predictions of all levels. NMS is NOT
  in the graph: threshold the scores, run class-aware NMS (e.g. ``detector.model.postprocess.postprocess``) and undo the
  letterbox yourself.
- raw (``raw=True``): one output per level ``raw_s{stride}``, the head's raw logits in its family's layout (the
  family's ``raw_outputs``, :mod:`detector.model.registry`; written into the ``output_format`` metadata).
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from detector.config import PredictConfig
from detector.model import Detector
from detector.model.postprocess import NmsSettings
from detector.model.registry import get_head_family

MIN_OPSET, MAX_OPSET = 11, 20  # the TorchScript-based exporter supports up to opset 20
DEFAULT_OPSET = 17  # export_onnx's, and tools/export.py --opset's (detector/engine/jobs/export.py ExportOptions)
DECODED_FORMAT = "decoded [B, N, 4+C]: cx, cy, w, h (input pixels), class scores; no NMS"


class ExportWrapper(nn.Module):
    """``images [B, 3, H, W]`` -> decoded ``[B, N, 4 + C]`` (always fp32) or a tuple of raw maps (``raw=True``)."""

    def __init__(self, model: Detector, raw: bool = False):
        super().__init__()
        self.model, self.raw = model, bool(raw)
        self.eval()  # a new module starts in training mode, and exporters restore the wrapper's mode afterwards

    def forward(self, images: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        raw = self.model.forward_raw(images)
        # heads decode in fp32 even for fp16 models: pixel boxes need the precision, and ONNX has no fp16 Range
        return tuple(raw) if self.raw else self.model.head.decode(raw)


def _hw(img_size: int | Sequence[int]) -> tuple[int, int]:
    h, w = (img_size, img_size) if isinstance(img_size, int) else (int(img_size[0]), int(img_size[1]))
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise ValueError(f"export img_size must be positive multiples of 32 (the largest stride), got {(h, w)}")
    return h, w


def output_names(model: Detector, raw: bool) -> list[str]:
    """``["output"]`` (decoded) or ``["raw_s8", "raw_s16", "raw_s32"]`` (one per head level)."""
    return [f"raw_s{s}" for s in model.head.strides] if raw else ["output"]


def _prepare(model: Detector, device: str | torch.device, half: bool) -> tuple[Detector, torch.device]:
    device = torch.device(device)
    model = model.eval().to(device)
    if half:
        model = model.half()
    return model, device


METADATA_VERSION = 1  # "format_version": 1 added cat_ids, precision and the version itself


def export_metadata(
    model: Detector,
    hw: tuple[int, int],
    raw: bool,
    nms: NmsSettings | None,
    cat_ids: Sequence[int] | None = None,
    precision: str = "fp32",
) -> dict[str, str]:
    """Class names, strides, input size, output layout, and ``nms``: the post-processing the model is meant to run
    with (the config's ``predict`` section: conf, iou, max_det, multi_label; NMS itself is not in the graph); the
    dataset ``cat_ids`` per label (when known), the weights' ``precision`` (fp32 | fp16 | int8) and the
    ``format_version``. Values are JSON text (ONNX metadata_props are strings); detector.runtime reads them."""
    names = list(model.class_names) or [str(i) for i in range(model.head.num_classes)]
    nms = nms if nms is not None else PredictConfig()
    return {
        "format_version": str(METADATA_VERSION),
        "precision": json.dumps(precision),
        **({"cat_ids": json.dumps([int(c) for c in cat_ids])} if cat_ids is not None else {}),
        "class_names": json.dumps(names),
        "strides": json.dumps(list(model.head.strides)),
        "img_size": json.dumps(list(hw)),
        "output_format": get_head_family(model.head.family, "head family").raw_outputs if raw else DECODED_FORMAT,
        "nms": json.dumps({"conf": nms.conf, "iou": nms.iou, "max_det": nms.max_det, "multi_label": nms.multi_label}),
    }


def export_onnx(
    model: Detector,
    path: str | Path,
    img_size: int | Sequence[int] = 640,
    opset: int = DEFAULT_OPSET,
    raw: bool = False,
    dynamic_batch: bool = True,
    half: bool = False,
    device: str | torch.device = "cpu",
    nms: NmsSettings | None = None,
    cat_ids: Sequence[int] | None = None,
) -> Path:
    """Export ``model`` (a ``Detector``) to ONNX at ``path``; class names, the ``nms`` settings (None: the
    ``predict`` defaults), ``cat_ids`` etc. go into the model's metadata (:func:`export_metadata`)."""
    import onnx

    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"--opset {opset} is not supported; use {MIN_OPSET}..{MAX_OPSET} (17 recommended)")
    h, w = _hw(img_size)
    model, device = _prepare(model, device, half)
    dummy = torch.zeros(1, 3, h, w, device=device, dtype=torch.float16 if half else torch.float32)
    outs = output_names(model, raw)
    dynamic_axes = {name: {0: "batch"} for name in ["images", *outs]} if dynamic_batch else None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer warnings
        torch.onnx.export(
            ExportWrapper(model, raw),
            (dummy,),
            str(path),
            dynamo=False,  # the dynamo exporter needs onnxscript; the TorchScript one handles this model fully
            opset_version=opset,
            input_names=["images"],
            output_names=outs,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    precision = "fp16" if half else "fp32"
    for key, value in export_metadata(model, (h, w), raw, nms, cat_ids, precision).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return path


def export_torchscript(
    model: Detector,
    path: str | Path,
    img_size: int | Sequence[int] = 640,
    raw: bool = False,
    half: bool = False,
    device: str | torch.device = "cpu",
    nms: NmsSettings | None = None,
) -> Path:
    """Trace ``model`` to TorchScript at ``path`` (input size fixed to ``img_size``, batch free); metadata in
    ``_extra_files["config.json"]``."""
    h, w = _hw(img_size)
    model, device = _prepare(model, device, half)
    dummy = torch.zeros(1, 3, h, w, device=device, dtype=torch.float16 if half else torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(ExportWrapper(model, raw), (dummy,), check_trace=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    traced.save(
        str(path),
        _extra_files={
            "config.json": json.dumps(export_metadata(model, (h, w), raw, nms, precision="fp16" if half else "fp32"))
        },
    )
    return path


def _compare(
    ref: Sequence[np.ndarray], got: Sequence[np.ndarray], atol: float | Sequence[np.ndarray], rtol: float
) -> tuple[float, bool]:
    """Max abs difference over all outputs and whether ``|got - ref| <= atol + rtol * |ref|`` holds everywhere.
    ``atol``: one number, or one array per output that broadcasts against it (see :func:`fp16_tolerances`)."""
    max_diff, ok = 0.0, len(ref) == len(got)
    atols: list[float | np.ndarray] = [atol] * len(ref) if isinstance(atol, (int, float)) else list(atol)
    for r, g, a in zip(ref, got, atols, strict=False):  # lengths compared above
        if r.shape != g.shape:
            return float("inf"), False
        diff = np.abs(r.astype(np.float64) - g.astype(np.float64))
        max_diff = max(max_diff, float(diff.max(initial=0.0)))
        ok = ok and bool(np.all(diff <= np.add(a, rtol * np.abs(r.astype(np.float64)))))
    return max_diff, ok


@contextmanager
def ieee_fp32() -> Iterator[None]:
    """Float32 convolutions and matmuls in full precision on CUDA (no TF32) while inside; the flags restored after.

    cuDNN uses TF32 for float32 convolutions by default (10-bit mantissa): a detector's box outputs then differ from
    onnxruntime's float32 by ~0.5 px, which a parity check must not blame on the exported file."""
    cudnn, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = cudnn, matmul


def _torch_outputs(model: Detector, x: torch.Tensor, raw: bool) -> list[np.ndarray]:
    """The reference outputs of a parity check: ``model`` on ``x`` in IEEE float32 (:func:`ieee_fp32`), as numpy."""
    with torch.no_grad(), ieee_fp32():
        out = ExportWrapper(model, raw)(x)
    out = list(out) if isinstance(out, tuple) else [out]
    return [o.float().cpu().numpy() for o in out]


def default_tolerance(half: bool) -> tuple[float, float]:
    """(atol, rtol) of the float32 parity checks: 1e-3 / 1e-3. With ``half`` (0, 0): an fp16 check adds
    :func:`fp16_tolerances` measured on the model itself, and no relative term (10 % of a 600 px box would hide a
    wrong anchor or stride)."""
    return (0.0, 0.0) if half else (1e-3, 1e-3)


FP16_NOISE_FACTOR = 3.0  # an fp16 export may differ from PyTorch fp16 by this many times PyTorch's own fp16 noise
FP16_MIN_ATOL = 1e-3  # floor of every fp16 tolerance (outputs whose fp16 noise is ~0)


def fp16_tolerances(ref16: Sequence[np.ndarray], ref32: Sequence[np.ndarray], raw: bool) -> list[np.ndarray]:
    """Absolute tolerances of an fp16 parity check, one array per output (broadcasts against it).

    The noise of half precision is measured on the model itself: ``ref16`` are the outputs of the fp16 PyTorch
    model and ``ref32`` those of the same fp16 weights run in float32, on the same inputs and device. Two correct
    fp16 runtimes differ by about that noise (other accumulation orders, the same rounding), so the tolerance is
    ``FP16_MIN_ATOL + FP16_NOISE_FACTOR * max |ref16 - ref32|``, taken over the box columns ``[..., :4]`` (pixels)
    and the score columns ``[..., 4:]`` separately for a decoded output ``[B, N, 4 + C]``, over the whole map for
    a raw output. A defect of the file (a wrong weight, anchor or stride) moves outputs far beyond it."""
    tols = []
    for r16, r32 in zip(ref16, ref32, strict=True):
        noise = np.abs(r16.astype(np.float64) - r32.astype(np.float64))
        if raw or r16.ndim != 3:
            tol = np.full((1,) * r16.ndim, noise.max(initial=0.0))
        else:
            tol = np.empty((1, 1, r16.shape[-1]))
            tol[..., :4] = noise[..., :4].max(initial=0.0)
            tol[..., 4:] = noise[..., 4:].max(initial=0.0)
        tols.append(FP16_MIN_ATOL + FP16_NOISE_FACTOR * tol)
    return tols


def check_onnx(
    path: str | Path,
    model: Detector,
    img_size: int | Sequence[int] = 640,
    raw: bool = False,
    batch_sizes: Sequence[int] = (1, 2),
    half: bool = False,
    device: str | torch.device = "cpu",
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> dict[str, float | bool]:
    """Run the ONNX file with onnxruntime and ``model`` in PyTorch on the same random inputs, on the same device:
    onnxruntime's CUDA provider when ``device`` is CUDA and the provider is installed, else its CPU provider with
    the PyTorch reference on the CPU too (an fp16 check across devices would measure two kinds of fp16 arithmetic,
    not the file). ``atol``/``rtol`` default to :func:`default_tolerance` (fp16: plus :func:`fp16_tolerances`).

    Returns ``{"max_abs_diff": float, "ok": bool}`` over all ``batch_sizes`` and outputs.
    """
    import onnxruntime as ort

    h, w = _hw(img_size)
    d_atol, d_rtol = default_tolerance(half)
    atol, rtol = atol if atol is not None else d_atol, rtol if rtol is not None else d_rtol
    cuda = torch.device(device).type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers()
    model, device = _prepare(model, device if cuda else "cpu", half)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    provider = "CUDAExecutionProvider" if cuda else "CPUExecutionProvider"
    session = ort.InferenceSession(str(path), opts, providers=[provider])

    def run(x: torch.Tensor) -> list[np.ndarray]:
        return [np.asarray(o, dtype=np.float32) for o in session.run(None, {"images": x.cpu().numpy()})]

    return _parity(model, run, (h, w), raw, batch_sizes, half, device, atol, rtol, seed)


def _parity(
    model: Detector,
    run: Callable[[torch.Tensor], list[np.ndarray]],
    hw: tuple[int, int],
    raw: bool,
    batch_sizes: Sequence[int],
    half: bool,
    device: torch.device,
    atol: float,
    rtol: float,
    seed: int,
) -> dict[str, float | bool]:
    """Compare ``run(x) -> list[np.ndarray]`` (an exported runtime) with ``model`` on the same random inputs
    ``[b, 3, H, W]`` for every ``b`` in ``batch_sizes``; returns ``{"max_abs_diff", "ok"}``. With ``half`` (an fp16
    ``model``), :func:`fp16_tolerances` measured against a float32 copy of the same fp16 weights are added to
    ``atol``."""
    gen = torch.Generator().manual_seed(seed)
    model32 = copy.deepcopy(model).float() if half else None
    max_diff, ok = 0.0, True
    for b in batch_sizes:
        x = torch.rand(b, 3, *hw, generator=gen).to(device)
        x = x.half() if half else x
        ref = _torch_outputs(model, x, raw)
        tol: float | list[np.ndarray] = atol
        if model32 is not None:
            tol = [atol + t for t in fp16_tolerances(ref, _torch_outputs(model32, x.float(), raw), raw)]
        diff, good = _compare(ref, run(x), tol, rtol)
        max_diff, ok = max(max_diff, diff), ok and good
    return {"max_abs_diff": max_diff, "ok": ok}


def check_torchscript(
    path: str | Path,
    model: Detector,
    img_size: int | Sequence[int] = 640,
    raw: bool = False,
    batch_sizes: Sequence[int] = (1, 2),
    half: bool = False,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> dict[str, float | bool]:
    """Like :func:`check_onnx` for a traced TorchScript file (loaded with ``torch.jit.load``)."""
    h, w = _hw(img_size)
    atol, rtol = default_tolerance(half)
    model, device = _prepare(model, device, half)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecation notice
        scripted = torch.jit.load(str(path), map_location=device)

    def run(x: torch.Tensor) -> list[np.ndarray]:
        with torch.no_grad():
            out = scripted(x)
        return [o.float().cpu().numpy() for o in (out if isinstance(out, (tuple, list)) else [out])]

    return _parity(model, run, (h, w), raw, batch_sizes, half, device, atol, rtol, seed)
