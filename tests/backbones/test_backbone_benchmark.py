"""Timing helpers and the ``tools/benchmark.py backbone`` subcommand (tiny settings; figures are not asserted)."""

import json
import time

import pytest
import torch

from detector.benchmark import Timing, bench_model, time_fn


def test_time_fn_median_and_counts():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.002)

    t = time_fn(fn, "cpu", warmup=2, iters=3, repeats=4)
    assert len(calls) == 2 + 3 * 4
    assert len(t.runs_s) == 4 and t.iters == 3
    assert 0.002 <= t.median_s < 0.05
    assert t.throughput(8) == pytest.approx(8 / t.median_s)
    assert Timing(0.5, [0.5], 1).throughput(4) == 8.0
    with pytest.raises(ValueError, match="iters >= 1"):
        time_fn(fn, "cpu", iters=0)


def test_bench_model_leaves_no_grads_and_restores_eval():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    r = bench_model(model, torch.rand(2, 3, 16, 16), warmup=0, iters=1, repeats=1)
    assert set(r) == {"fwd_ms", "fwd_img_s", "train_ms", "train_img_s"}
    assert r["fwd_img_s"] > 0 and r["train_img_s"] > 0
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_cli_backbone_subcommand(tmp_path, capsys):
    pytest.importorskip("timm")
    from tools.benchmark import main

    out = tmp_path / "bench.json"
    argv = ["backbone", "--device", "cpu", "--batch", "1", "--size", "64"]
    r = main([*argv, "--iters", "1", "--repeats", "1", "--warmup", "0", "--no-train", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "ratio ours/timm: forward" in printed and "torch" in printed
    assert r["max_abs_diff"] == pytest.approx(0.0, abs=1e-5)  # same weights copied into timm
    saved = json.loads(out.read_text())
    assert saved["settings"]["size"] == 64 and saved["ours"]["fwd_img_s"] > 0 and "train_img_s" not in saved["ours"]
    with pytest.raises(SystemExit):
        main(["backbone", "--dtype", "fp8"])
