"""Costs are measured by tools/benchmark.py detector's code, on the model form tools/detect.py runs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from detector.config import load_config
from detector.model import build_model
from detector.study import costs
from detector.study.spec import CostSettings
from detector.summary import count_parameters, model_flops
from tests.study.study_builders import write_tiny_study


def _cfg(tmp_path):
    write_tiny_study(tmp_path, tmp_path / "shapes")
    return load_config(tmp_path / "base.yaml")


def fake_bench(seen):
    def bench(model, runner, device, s, nms):
        seen.append((model, device, s))
        return {
            "latency": [{"e2e": {"ms": 3.5, "runs_ms": [3.4, 3.5, 3.9]}}],
            "throughput": {"with_nms": {"img_s": 1234.0, "runs_ms": [25.0, 26.0]}},
        }

    return bench


def test_params_gflops_and_the_latency_settings_of_the_benchmark(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    seen = []
    monkeypatch.setattr(costs, "bench_inference", fake_bench(seen))
    out = costs.measure_cost(cfg, 6, CostSettings(warmup=1, iters=2, repeats=3), tmp_path / "c.yaml", gpu=False)
    ref = build_model(cfg, num_classes=6).eval()
    assert out["params"] == count_parameters(ref) and out["gflops"] == model_flops(ref, 64)["total"] / 1e9
    assert out["cpu"]["latency_ms"] == 3.5 and out["cpu"]["runs_ms"] == [3.4, 3.5, 3.9]
    assert out["cpu"]["command"] == (
        f"python tools/benchmark.py detector {tmp_path / 'c.yaml'} --device cpu --size 64 --batch 1 --num-classes 6 "
        "--dtype fp32"
    )
    assert out["gpu"] == {"skipped": "no CUDA device here: the batch-32 GPU throughput was not measured"}
    ((model, device, s),) = seen
    assert device.type == "cpu" and (s.batch, s.sizes, s.size, s.dtype) == (1, [64], 64, "fp32")
    assert (s.warmup, s.iters, s.repeats) == (1, 2, 3) and s.fuse and s.channels_last and not s.compile
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # folded, as tools/detect.py runs it
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_the_gpu_throughput_uses_the_study_batch_and_dtype(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    seen = []
    monkeypatch.setattr(
        costs, "_bench", lambda cfg, nc, s: seen.append(s) or fake_bench([])(None, None, None, s, cfg.predict)
    )
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    out = costs.measure_cost(cfg, 6, CostSettings(gpu_batch=16, gpu_dtype="bf16", latency=False), tmp_path, gpu=True)
    assert out["cpu"] is None and out["gpu"]["img_s"] == 1234.0 and out["gpu"]["device_name"] == "Fake GPU"
    (s,) = seen
    assert (s.device, s.batch, s.dtype, s.size) == ("cuda", 16, "bf16", 64)


def test_pretrained_backbones_are_timed_with_random_weights(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    cfg.model.backbone.pretrained = "no/such/file.pth"  # would fail to load: the cost must not need it
    monkeypatch.setattr(costs, "bench_inference", fake_bench([]))
    assert costs.measure_cost(cfg, 6, CostSettings(), tmp_path, gpu=False)["params"] > 0
    assert cfg.model.backbone.pretrained == "no/such/file.pth"  # the caller's config is left alone


@pytest.mark.slow
def test_the_record_is_reused_for_the_same_settings(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    seen = []
    monkeypatch.setattr(costs, "bench_inference", fake_bench(seen))
    first = costs.backbone_cost(tmp_path / "bb", cfg, 6, CostSettings(), tmp_path / "c.yaml")
    assert costs.backbone_cost(tmp_path / "bb", cfg, 6, CostSettings(), tmp_path / "c.yaml") == first
    assert len(seen) == 1
    costs.backbone_cost(tmp_path / "bb", cfg, 6, CostSettings(repeats=7), tmp_path / "c.yaml")
    assert len(seen) == 2
