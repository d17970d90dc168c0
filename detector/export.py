"""Model export: ONNX (legacy TorchScript-based exporter, dynamic batch) and TorchScript (trace), with parity checks.

Exported graph input: ``images`` float ``[B, 3, H, W]`` RGB in ``[0, 1]`` (H, W fixed at export time; B dynamic
with ``dynamic_batch``). Outputs:

- decoded (default): ``output`` ``[B, N, 4 + C]`` = (cx, cy, w, h in input pixels, class scores in [0, 1]; the
  YOLOv4 head's scores are objectness x class probability), N = the number of predictions of all levels. NMS is NOT
  in the graph: threshold the scores, run class-aware NMS (e.g. ``detector.postprocess.postprocess``) and undo the
  letterbox yourself.
- raw (``raw=True``): one output per level ``raw_s{stride}``, the head's raw logits: YOLOv4 head
  ``[B, A, H_l, W_l, 5 + C]`` (tx, ty, tw, th, obj, cls...; ``detector.heads.yolov4.decode_boxes``), decoupled head
  ``[B, 4 * reg_max + C, H_l, W_l]`` (side-distance bins, class logits; ``detector.heads.decoupled``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from detector.model import Detector

MIN_OPSET, MAX_OPSET = 11, 20  # the TorchScript-based exporter supports up to opset 20
RAW_FORMATS = {
    "yolov4": "raw [B, A, H, W, 5+C] logits per level (tx, ty, tw, th, obj, classes)",
    "decoupled": "raw [B, 4*reg_max+C, H, W] logits per level (side-distance bins, classes)",
}
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


def _metadata(model: Detector, hw: tuple[int, int], raw: bool) -> dict[str, str]:
    names = list(model.class_names) or [str(i) for i in range(model.head.num_classes)]
    return {
        "class_names": json.dumps(names),
        "strides": json.dumps(list(model.head.strides)),
        "img_size": json.dumps(list(hw)),
        "output_format": RAW_FORMATS[model.head.family] if raw else DECODED_FORMAT,
    }


def export_onnx(
    model: Detector,
    path: str | Path,
    img_size: int | Sequence[int] = 640,
    opset: int = 17,
    raw: bool = False,
    dynamic_batch: bool = True,
    half: bool = False,
    device: str | torch.device = "cpu",
) -> Path:
    """Export ``model`` (a ``Detector``) to ONNX at ``path``; class names etc. go into the model's metadata."""
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
    for key, value in _metadata(model, (h, w), raw).items():
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
    traced.save(str(path), _extra_files={"config.json": json.dumps(_metadata(model, (h, w), raw))})
    return path


def _compare(ref: Sequence[np.ndarray], got: Sequence[np.ndarray], atol: float, rtol: float) -> tuple[float, bool]:
    """Max abs difference over all outputs and whether ``|got - ref| <= atol + rtol * |ref|`` holds everywhere."""
    max_diff, ok = 0.0, len(ref) == len(got)
    for r, g in zip(ref, got, strict=False):  # lengths compared above
        if r.shape != g.shape:
            return float("inf"), False
        diff = np.abs(r.astype(np.float64) - g.astype(np.float64))
        max_diff = max(max_diff, float(diff.max(initial=0.0)))
        ok = ok and bool(np.all(diff <= atol + rtol * np.abs(r.astype(np.float64))))
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
    """(atol, rtol) of the parity checks: fp32 1e-3/1e-3; fp16 0.1/0.1 (a coarse check: fp16 logits differ by ~0.03
    between runtimes, and box sizes scale with ``(2 sigmoid(t))^2 * anchor``, so pixels differ by a few percent)."""
    return (0.1, 0.1) if half else (1e-3, 1e-3)


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
    """Run the ONNX file with onnxruntime (CPU) and ``model`` in PyTorch on the same random inputs.

    Returns ``{"max_abs_diff": float, "ok": bool}`` over all ``batch_sizes`` and outputs.
    """
    import onnxruntime as ort

    h, w = _hw(img_size)
    d_atol, d_rtol = default_tolerance(half)
    atol, rtol = atol if atol is not None else d_atol, rtol if rtol is not None else d_rtol
    model, device = _prepare(model, device, half)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

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
    ``[b, 3, H, W]`` for every ``b`` in ``batch_sizes``; returns ``{"max_abs_diff", "ok"}``."""
    gen = torch.Generator().manual_seed(seed)
    max_diff, ok = 0.0, True
    for b in batch_sizes:
        x = torch.rand(b, 3, *hw, generator=gen).to(device)
        x = x.half() if half else x
        ref = _torch_outputs(model, x, raw)
        diff, good = _compare(ref, run(x), atol, rtol)
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
