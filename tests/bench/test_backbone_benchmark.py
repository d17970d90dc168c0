"""Timing helpers and the ``tools/benchmark.py backbone`` subcommand (tiny settings; figures are not asserted)."""

import json
import time

import pytest
import torch

from detector.bench import Timing, bench_model, time_fn


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
    assert r["ratio_fwd"] > 0 and "ratio_train" not in r
    saved = json.loads(out.read_text())
    assert saved["settings"]["size"] == 64 and saved["ours"]["fwd_img_s"] > 0 and "train_img_s" not in saved["ours"]
    with pytest.raises(SystemExit):
        main(["backbone", "--dtype", "fp8"])


def test_time_interleaved_rotates_order_and_pairs_runs():
    from detector.bench import paired_ratio, time_interleaved

    order = []

    def make(name, seconds):
        def fn():
            order.append(name)
            time.sleep(seconds)

        return fn

    t = time_interleaved({"a": make("a", 0.001), "b": make("b", 0.003)}, "cpu", warmup=1, iters=2, repeats=4)
    assert order[:2] == ["a", "b"]  # warm-up: each once
    timed = order[2:]
    assert len(timed) == 2 * 2 * 4
    firsts = [timed[4 * r] for r in range(4)]  # each repeat runs a twice and b twice; who goes first rotates
    assert firsts == ["a", "b", "a", "b"]
    assert len(t["a"].runs_s) == len(t["b"].runs_s) == 4 and t["a"].iters == 2
    assert t["a"].median_s < t["b"].median_s
    ratio = paired_ratio(t["a"], t["b"])  # a is ~3x faster than b
    assert 1.5 < ratio < 6
    exact = paired_ratio(Timing(1, [1.0, 2.0, 4.0], 1), Timing(1, [2.0, 2.0, 2.0], 1))
    assert exact == pytest.approx(1.0)  # median of 2.0, 1.0, 0.5
    with pytest.raises(ValueError, match="repeats >= 1"):
        time_interleaved({"a": make("a", 0)}, "cpu", repeats=0)
