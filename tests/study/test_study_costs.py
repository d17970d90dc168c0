"""Costs: params and GFLOPs per backbone; the speed of every backbone's detector timed side by side in one
interleaved pass (tools/benchmark.py's timing), on the model form tools/detect.py runs."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from detector.bench.timing import Timing
from detector.config import load_config
from detector.model import build_model
from detector.model.summary import count_parameters, model_flops
from detector.study import costs, speed
from detector.study.spec import CostSettings
from tests.study.study_builders import write_tiny_study


def _cfg(tmp_path):
    write_tiny_study(tmp_path, tmp_path / "shapes")
    return load_config(tmp_path / "base.yaml")


def _models(tmp_path):
    """Two detectors of different widths (labels "wide", "narrow")."""
    cfg = _cfg(tmp_path)
    narrow = copy.deepcopy(cfg)
    narrow.model.backbone.width_mult = cfg.model.backbone.width_mult / 2
    return {
        "wide": speed.StudyModel(cfg, 6, tmp_path / "wide.yaml"),
        "narrow": speed.StudyModel(narrow, 6, tmp_path / "narrow.yaml"),
    }


def fake_interleaved(seen, runs_s=(0.003, 0.002, 0.004)):
    """Stands in for time_interleaved: calls every fn once (they must run), records the call, fixed runs."""

    def interleaved(fns, device, warmup, iters, repeats):
        seen.append((list(fns), torch.device(device).type, (warmup, iters, repeats)))
        for fn in fns.values():
            fn()
        return {k: Timing(sorted(runs_s)[1] * (i + 1), [r * (i + 1) for r in runs_s], iters) for i, k in enumerate(fns)}

    return interleaved


def test_params_and_gflops_are_counted_on_a_random_init_model(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.model.backbone.pretrained = "no/such/file.pth"  # would fail to load: the cost must not need it
    out = costs.measure_cost(cfg, 6)
    cfg.model.backbone.pretrained = False
    ref = build_model(cfg, num_classes=6).eval()
    assert out == {"params": count_parameters(ref), "gflops": model_flops(ref, 64)["total"] / 1e9, "size": 64,
                   "num_classes": 6}  # fmt: skip


def test_all_backbones_are_timed_in_one_interleaved_pass(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(speed, "time_interleaved", fake_interleaved(seen))
    out = speed.measure_speed(_models(tmp_path), CostSettings(warmup=1, iters=2, repeats=3), gpu=False)
    assert seen == [(["wide", "narrow"], "cpu", (1, 2, 3))]  # one pass, every backbone in it
    wide, narrow = out["models"]["wide"]["cpu"], out["models"]["narrow"]["cpu"]
    assert wide["latency_ms"] == pytest.approx(3.0) and narrow["latency_ms"] == pytest.approx(6.0)
    assert wide["runs_ms"] == pytest.approx([3.0, 2.0, 4.0]) and (wide["min_ms"], wide["max_ms"]) == (2.0, 4.0)
    assert wide["stdev_ms"] == pytest.approx(0.8165, abs=1e-4)
    assert narrow["command"] == (
        f"python tools/benchmark.py detector {tmp_path / 'narrow.yaml'} --device cpu --size 64 --batch 1 "
        "--num-classes 6 --dtype fp32"
    )
    assert out["models"]["wide"]["gpu"] == {"skipped": "no CUDA device here: the batch-32 GPU throughput was not "
                                            "measured"}  # fmt: skip
    assert len(out["loadavg"]) == 2 and all(x >= 0 for x in out["loadavg"])


def test_the_timed_call_is_the_detect_model_form_end_to_end(tmp_path, monkeypatch):
    built = []
    real = speed.build_bench_model

    def spy(cfg, nc, device, s, train):
        model, runner = real(cfg, nc, device, s, train)
        built.append((cfg, s, model))
        return model, runner

    monkeypatch.setattr(speed, "build_bench_model", spy)
    models = _models(tmp_path)
    models["wide"].cfg.model.backbone.pretrained = "no/such/file.pth"
    calls = {k: speed._call(m, torch.device("cpu"), speed._bench_settings(CostSettings(), "cpu", 64, 1, "fp32"))
             for k, m in models.items()}  # fmt: skip
    dets = calls["wide"]()  # uint8 image -> boxes after NMS
    assert isinstance(dets, list) and len(dets) == 1 and set(dets[0]) == {"boxes_xyxy", "scores", "labels"}
    assert models["wide"].cfg.model.backbone.pretrained == "no/such/file.pth"  # the caller's config is left alone
    for cfg, s, model in built:
        assert cfg.model.backbone.pretrained is False and s.fuse and s.channels_last and not s.compile
        assert (s.batch, s.size, s.dtype) == (1, 64, "fp32")
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # folded, as tools/detect.py
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_the_gpu_throughput_uses_the_study_batch_and_dtype(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(
        speed, "time_side_by_side", lambda models, c, device, batch, dtype: seen.append((device, batch, dtype)) or
        {k: Timing(0.02, [0.02, 0.025], 1) for k in models},
    )  # fmt: skip
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Fake GPU")
    out = speed.measure_speed(_models(tmp_path), CostSettings(gpu_batch=16, gpu_dtype="bf16", latency=False), gpu=True)
    assert seen == [("cuda", 16, "bf16")]
    gpu = out["models"]["narrow"]["gpu"]
    assert out["models"]["narrow"]["cpu"] is None and gpu["img_s"] == pytest.approx(800.0)
    assert gpu["device_name"] == "Fake GPU" and (gpu["batch"], gpu["dtype"]) == (16, "bf16")


def test_the_record_is_reused_for_the_same_models_and_settings(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(speed, "time_interleaved", fake_interleaved(seen))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    models = _models(tmp_path)
    first = speed.study_speed(tmp_path, models, CostSettings())
    assert speed.study_speed(tmp_path, models, CostSettings()) == first and len(seen) == 1
    assert (tmp_path / "speed.json").is_file()
    speed.study_speed(tmp_path, models, CostSettings(repeats=7))
    speed.study_speed(tmp_path, {"wide": models["wide"]}, CostSettings(repeats=7))  # another set of backbones
    assert [s[0] for s in seen] == [["wide", "narrow"], ["wide", "narrow"], ["wide"]]


def test_the_cost_record_is_reused_for_the_same_model(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    first = costs.backbone_cost(tmp_path / "bb", cfg, 6)
    monkeypatch.setattr(costs, "measure_cost", lambda *a: pytest.fail("measured again"))
    assert costs.backbone_cost(tmp_path / "bb", cfg, 6) == first
