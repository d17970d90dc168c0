"""Peer detectors timed by the same harness as ours, when their package is importable (never a dependency).

A peer is ultralytics' ``DetectionModel`` built from its YAML (``yolov8m.yaml``, ``yolov8l.yaml``; random init, 80
classes). Inference: eval mode, BatchNorm folded (``model.fuse()``), weights cast to the dtype, channels_last, the
model's own decoded output (no NMS): what our ``throughput.without_nms`` times. Training: train mode, fp32 weights
under autocast, forward + the peer's own loss on synthetic boxes + backward + gradient clipping (10) + SGD step;
like our training-step figure, no EMA and no data loading. FLOPs use our counter (:mod:`detector.model.summary`) on one
image, so "effective TFLOP/s" = forward GFLOPs x images/s / 1000 is computed alike for every model.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from detector.bench.inference import timed
from detector.bench.timing import DTYPES
from detector.bench.training import synthetic_targets
from detector.model.summary import count_flops, count_parameters

PEER_MODELS = ("yolov8m.yaml", "yolov8l.yaml")


@dataclass
class PeerBenchSettings:
    """Same meaning as :class:`~detector.bench.detector.DetectorBenchSettings`' fields of the same names."""

    models: tuple[str, ...] = PEER_MODELS
    device: str = "cuda"
    size: int = 640
    batch: int = 32
    dtype: str = "bf16"
    num_classes: int = 80
    train: bool = True
    warmup: int = 5
    iters: int = 20
    repeats: int = 5
    seed: int = 0
    memory_format: torch.memory_format = torch.channels_last


def peer_available() -> str | None:
    """The ultralytics version when it can be imported, else None (the suite then skips the peers)."""
    if importlib.util.find_spec("ultralytics") is None:
        return None
    return str(importlib.import_module("ultralytics").__version__)


def _build(yaml_name: str, num_classes: int) -> Any:  # an ultralytics DetectionModel (untyped package)
    from ultralytics.cfg import get_cfg  # type: ignore[import-not-found,unused-ignore]
    from ultralytics.nn.tasks import DetectionModel  # type: ignore[import-not-found,unused-ignore]

    model = DetectionModel(yaml_name, nc=num_classes, verbose=False)
    model.args = get_cfg()  # the loss reads its gains (box, cls, dfl) from the default training settings
    return model


def _peer_batch(batch: int, size: int, num_classes: int, device: torch.device, seed: int) -> dict:
    """Our synthetic targets in the peer's batch form: normalised (cx, cy, w, h) boxes, ``cls [n, 1]``."""
    t = synthetic_targets(batch, size, num_classes, seed=seed).to(device)
    xyxy = t[:, 2:] / size
    cxcywh = torch.cat(((xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]), 1)
    return {"batch_idx": t[:, 0], "cls": t[:, 1:2], "bboxes": cxcywh}


def bench_peer(yaml_name: str, s: PeerBenchSettings) -> dict:
    """``{"model", "params", "gflops", "infer": {ms, img_s, runs_ms}, "infer_tflops"[, "train", "train_tflops"]}``."""
    device = torch.device(s.device)
    torch.manual_seed(s.seed)
    model = _build(yaml_name, s.num_classes).to(device)
    out: dict = {"model": yaml_name, "params": count_parameters(model)}
    x = torch.rand(s.batch, 3, s.size, s.size, device=device).contiguous(memory_format=s.memory_format)
    if s.train:
        model.train().to(memory_format=s.memory_format)
        opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.937, nesterov=True)
        batch = {"img": x, **_peer_batch(s.batch, s.size, s.num_classes, device, s.seed)}
        autocast = torch.autocast(device.type, dtype=DTYPES[s.dtype], enabled=s.dtype != "fp32")

        def train_step() -> None:
            with autocast:
                loss, _ = model.loss(batch)
            loss.sum().backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        out["train"] = timed(train_step, device, s, s.batch)
        del opt
    model.eval().fuse(verbose=False)
    model.to(DTYPES[s.dtype]).to(memory_format=s.memory_format)
    xi = x.to(DTYPES[s.dtype])
    with torch.inference_mode():
        flops, _ = count_flops(model, xi[:1])
        out["gflops"] = flops / 1e9
        out["infer"] = timed(lambda: model(xi), device, s, s.batch)
    out["infer_tflops"] = out["gflops"] * out["infer"]["img_s"] / 1e3
    if "train" in out:
        out["train_tflops"] = out["gflops"] * out["train"]["img_s"] / 1e3
    return out


def per_flop_ratios(ours: dict, peer: dict) -> dict:
    """Ours / peer effective TFLOP/s (1.0 = the same work per GPU-second; > 1 = ours does more) for the keys both
    have: ``ours`` ``{"gflops", "infer_img_s"[, "train_img_s"]}``, ``peer`` a :func:`bench_peer` result."""
    ratios = {}
    for kind in ("infer", "train"):
        if f"{kind}_img_s" in ours and f"{kind}_tflops" in peer:
            ratios[kind] = ours["gflops"] * ours[f"{kind}_img_s"] / 1e3 / peer[f"{kind}_tflops"]
    return ratios
