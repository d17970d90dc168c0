"""``tools/benchmark.py detector --weights best.onnx | best_openvino``: the inference benchmark of an exported file.

The same measurements as a checkpoint's (:mod:`detector.bench.inference`): batch-1 end-to-end latency (host uint8,
/255, the runtime, NMS with the file's settings) and forward-only latency (the runtime alone), batched throughput
with and without NMS; on the CPU, at the file's fixed input size, in the file's precision.
"""

from __future__ import annotations

import logging
from functools import partial

import torch

from detector.bench.inference import host_images, timed
from detector.model.postprocess import NmsSettings, postprocess
from detector.runtime.base import Backend

log = logging.getLogger(__name__)


def exported_refusals(s) -> list[str]:  # noqa: ANN001 - DetectorBenchSettings (avoids an import cycle)
    """What an exported file cannot do of the settings ``s`` (each a short phrase; empty: fine)."""
    out = []
    if s.train:
        out.append("--train (an exported file has no training step)")
    if s.dtype != "fp32":
        out.append(f"--dtype {s.dtype} (the file's precision is fixed at export)")
    if s.compile or s.cuda_graphs or s.gemm_1x1:
        out.append("--compile / --cuda-graphs / --gemm-1x1 (PyTorch options)")
    return out


def bench_exported(backend: Backend, s, settings: NmsSettings) -> dict:  # noqa: ANN001
    """``{"model", "latency", "throughput"}`` like :func:`detector.bench.inference.bench_inference` for ``backend``
    (params and GFLOPs None: the file does not say). Sizes other than the file's are replaced by it (one warning)."""
    hw = backend.info.input_hw
    assert hw is not None and hw[0] == hw[1], "exported files are square (tools/export.py --img-size N)"
    side = hw[0]
    asked = sorted({*(s.sizes or []), s.size})
    if asked != [side]:
        log.warning("%s has a fixed %dx%d input: timing at %d (asked: %s)", backend.path, side, side, side, asked)
    cpu = torch.device("cpu")

    @torch.inference_mode()
    def infer(images_u8: torch.Tensor, nms: bool = True) -> list:
        x = images_u8.float().div_(255)
        decoded = backend(x)
        return postprocess(decoded, settings, input_hw=(side, side)) if nms else [decoded]

    x1 = host_images(1, side, cpu, s.seed)
    xf = x1.float() / 255
    e2e = timed(partial(infer, x1, True), cpu, s, 1)
    fwd = timed(lambda: backend(xf), cpu, s, 1)
    latency = [{"size": side, "batch": 1, "gflops": None, "e2e": e2e, "forward": fwd}]
    xb = host_images(s.batch, side, cpu, s.seed)
    with_nms = timed(lambda: infer(xb, True), cpu, s, s.batch)
    without_nms = timed(lambda: infer(xb, False), cpu, s, s.batch)
    dets = infer(xb, True)
    throughput = {
        "size": side,
        "batch": s.batch,
        "with_nms": with_nms,
        "without_nms": without_nms,
        "nms_share": max(0.0, 1.0 - without_nms["ms"] / with_nms["ms"]),
        "dets_per_img": sum(len(d["scores"]) for d in dets) / s.batch,
    }
    model = {"params": None, "gflops": None, "gflops_size": side, "format": backend.format,
             "precision": backend.info.precision}  # fmt: skip
    return {"model": model, "latency": latency, "throughput": throughput}
