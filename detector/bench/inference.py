"""Detector inference benchmark: params, GFLOPs, batch-1 end-to-end latency (host uint8 -> device, /255, forward,
decode, NMS) and forward-only (forward + decode) latency per size, batched throughput with and without NMS.

Precision is the weights' dtype (BatchNorm folded first, then the model cast to fp16 / bf16; no autocast), the form
:class:`~detector.engine.prediction.predictor.Predictor` runs: autocast's per-operator casts cost more than the
convolutions at batch 1."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from detector.bench.timing import DTYPES, time_fn
from detector.model.postprocess import NmsSettings


def host_images(batch: int, size: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """Random letterboxed uint8 images ``[B, 3, S, S]`` in host memory (pinned when ``device`` is CUDA)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=g)
    return x.pin_memory() if device.type == "cuda" else x


def step_marker(compile_mode: str | None) -> Callable[[], None]:
    """What to call before each compiled call: with CUDA graphs (``reduce-overhead``) a new step must be marked so
    the graph may overwrite the previous call's outputs; otherwise nothing."""
    if compile_mode == "reduce-overhead":
        return torch.compiler.cudagraph_mark_step_begin
    return lambda: None


def make_decode(model, runner, s) -> Callable[[torch.Tensor], torch.Tensor]:
    """``decode(x) -> float32 [B, N, 4 + C]``: ``model.head.decode(runner(x))`` (``runner``: the model or its
    compiled version), or its CUDA-graph replay when ``s.cuda_graphs``."""
    if s.cuda_graphs:
        from detector.engine.prediction.cuda_graph import GraphedDecode

        return GraphedDecode(model)
    mark = step_marker(s.compile_mode)

    def decode(x: torch.Tensor) -> torch.Tensor:
        mark()
        return model.head.decode(runner(x))

    return decode


def make_infer(model, decode, device: torch.device, s, settings: NmsSettings) -> Callable[[torch.Tensor, bool], list]:
    """``infer(images_u8_host, nms)``: copy to device, /255 in the model's dtype, forward, decode (+ postprocess with
    ``settings``, the config's ``predict`` section, when ``nms``). ``decode`` from :func:`make_decode`; ``s`` a
    :class:`~detector.bench.detector.DetectorBenchSettings`.
    """
    from detector.model.postprocess import postprocess

    mf, dtype = s.memory_format, DTYPES[s.dtype]

    @torch.inference_mode()
    def infer(images_u8: torch.Tensor, nms: bool = True) -> list:
        x = images_u8.to(device, non_blocking=True).to(dtype).div_(255).contiguous(memory_format=mf)
        decoded = decode(x)
        if not nms:
            return [decoded]
        return postprocess(decoded, settings, input_hw=tuple(x.shape[-2:]))

    return infer


def timed(fn: Callable[[], object], device: torch.device, s, items: int, warmup: int | None = None) -> dict:
    """``{"ms", "img_s", "runs_ms"}`` of ``fn`` with the settings' warm-up / iterations / repeats."""
    t = time_fn(fn, device, s.warmup if warmup is None else warmup, s.iters, s.repeats)
    return {"ms": t.median_s * 1e3, "img_s": t.throughput(items), "runs_ms": [r * 1e3 for r in t.runs_s]}


def bench_inference(model, runner, device: torch.device, s, settings: NmsSettings) -> dict:
    """``{"model": {params, gflops, gflops_size}, "latency": [per size], "throughput": {...}}`` for an eval-mode
    ``model`` (``runner``: what to call, e.g. compiled) under the settings ``s``; NMS with ``settings`` (the config's
    ``predict`` section)."""
    from detector.model.summary import count_parameters, model_flops

    sizes = list(dict.fromkeys(s.sizes or [s.size]))
    gflops = {size: model_flops(model, size)["total"] / 1e9 for size in dict.fromkeys([*sizes, s.size])}
    decode = make_decode(model, runner, s)
    infer = make_infer(model, decode, device, s, settings)
    latency = []
    for size in sizes:
        x1 = host_images(1, size, device, s.seed)
        xd = (x1.to(device).to(DTYPES[s.dtype]) / 255).contiguous(memory_format=s.memory_format)

        @torch.inference_mode()
        def forward_only(xd=xd):
            decode(xd)

        e2e = timed(partial(infer, x1, True), device, s, 1)
        fwd = timed(forward_only, device, s, 1)
        latency.append({"size": size, "batch": 1, "gflops": gflops[size], "e2e": e2e, "forward": fwd})
    xb = host_images(s.batch, s.size, device, s.seed)
    with_nms = timed(lambda: infer(xb, True), device, s, s.batch)
    without_nms = timed(lambda: infer(xb, False), device, s, s.batch)
    dets = infer(xb, True)
    throughput = {
        "size": s.size,
        "batch": s.batch,
        "with_nms": with_nms,
        "without_nms": without_nms,
        "nms_share": max(0.0, 1.0 - without_nms["ms"] / with_nms["ms"]),
        "dets_per_img": sum(len(d["scores"]) for d in dets) / s.batch,
    }
    model_info = {"params": count_parameters(model), "gflops": gflops[s.size], "gflops_size": s.size}
    return {"model": model_info, "latency": latency, "throughput": throughput}
