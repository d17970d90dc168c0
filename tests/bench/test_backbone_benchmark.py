"""Timing helpers and the ``tools/benchmark.py backbone`` subcommand.

The timing helpers run on a fake clock that advances only when the timed callables run, so medians, run lists,
ratios and the call order are asserted exactly; no wall-clock speed is ever compared.
"""

import json

import pytest
import torch

import detector.bench.timing as timing
from detector.bench import Timing, bench_model, paired_ratio, time_fn, time_interleaved


class FakeClock:
    """Stands in for the ``time`` module in :mod:`detector.bench.timing`: ``perf_counter`` returns ``now`` (s)."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def test_time_fn_skips_warmup_and_takes_the_median_of_per_call_means(clock):
    costs = iter([9.0, 9.0] + [0.004] * 3 + [0.001] * 3 + [0.003] * 3 + [0.002] * 3)  # 2 warm-up, 4 runs of 3

    def fn():
        clock.now += next(costs)

    t = time_fn(fn, "cpu", warmup=2, iters=3, repeats=4)
    assert next(costs, None) is None  # exactly 2 + 3 * 4 calls
    assert t.iters == 3 and t.runs_s == pytest.approx([0.004, 0.001, 0.003, 0.002])  # the slow warm-up is not timed
    assert t.median_s == pytest.approx(0.0025)
    assert t.throughput(8) == pytest.approx(3200.0)
    assert Timing(0.5, [0.5], 1).throughput(4) == 8.0 and Timing(0.0, [0.0], 1).throughput(4) == float("inf")
    for bad in ({"iters": 0}, {"repeats": 0}, {"warmup": -1}):
        with pytest.raises(ValueError, match="need iters >= 1, repeats >= 1, warmup >= 0"):
            time_fn(fn, "cpu", **bad)


def test_time_interleaved_rotates_order_and_pairs_runs(clock):
    order = []
    slowdown = [1.0, 2.0, 1.0, 8.0]  # the machine's speed per repeat: hits a and b of the same repeat alike

    def make(name, seconds):
        def fn():
            order.append(name)
            repeat = (len(order) - 3) // 4  # 2 warm-up calls, then 4 calls (2 x 2 iters) per repeat
            clock.now += seconds * (slowdown[repeat] if repeat >= 0 else 100.0)

        return fn

    t = time_interleaved({"a": make("a", 0.001), "b": make("b", 0.003)}, "cpu", warmup=1, iters=2, repeats=4)
    assert order[:2] == ["a", "b"]  # warm-up: each once
    timed = order[2:]
    assert len(timed) == 2 * 2 * 4
    assert [timed[4 * r : 4 * r + 4] for r in range(4)] == [["a", "a", "b", "b"], ["b", "b", "a", "a"]] * 2
    assert t["a"].iters == t["b"].iters == 2
    assert t["a"].runs_s == pytest.approx([0.001 * s for s in slowdown])
    assert t["b"].runs_s == pytest.approx([0.003 * s for s in slowdown])
    assert t["a"].median_s == pytest.approx(0.0015) and t["b"].median_s == pytest.approx(0.0045)
    assert paired_ratio(t["a"], t["b"]) == pytest.approx(3.0)  # a is 3x faster in every repeat
    exact = paired_ratio(Timing(1, [1.0, 2.0, 4.0], 1), Timing(1, [2.0, 2.0, 2.0], 1))
    assert exact == pytest.approx(1.0)  # median of 2.0, 1.0, 0.5
    with pytest.raises(ValueError, match="repeats >= 1"):
        time_interleaved({"a": make("a", 0)}, "cpu", repeats=0)


def test_bench_model_times_eval_forward_and_train_step_and_restores_eval(clock):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    modes = []

    def tick(module, args, output):  # a forward costs 20 ms in eval mode, 50 ms in train mode
        modes.append(module.training)
        clock.now += 0.05 if module.training else 0.02

    model.register_forward_hook(tick)
    r = bench_model(model, torch.rand(2, 3, 16, 16), warmup=1, iters=2, repeats=3)
    assert modes == [False] * (1 + 2 * 3) + [True] * (1 + 2 * 3)
    assert r == pytest.approx({"fwd_ms": 20.0, "fwd_img_s": 100.0, "train_ms": 50.0, "train_img_s": 40.0})
    assert not model.training and all(p.grad is None for p in model.parameters())
    modes.clear()
    assert set(bench_model(model, torch.rand(2, 3, 16, 16), warmup=0, iters=1, repeats=1, train=False)) == {
        "fwd_ms",
        "fwd_img_s",
    }
    assert modes == [False]


@pytest.mark.slow  # builds the full-size backbone twice (ours and timm's)
def test_cli_backbone_subcommand(tmp_path, capsys):
    pytest.importorskip("timm")
    from detector.cli.benchmark import run_benchmark

    out = tmp_path / "bench.json"
    argv = ["backbone", "--device", "cpu", "--batch", "1", "--size", "64"]
    r = run_benchmark([*argv, "--iters", "1", "--repeats", "1", "--warmup", "0", "--no-train", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "ratio ours/timm: forward" in printed and "torch" in printed
    assert r["max_abs_diff"] == pytest.approx(0.0, abs=1e-5)  # same weights copied into timm
    assert r["ratio_fwd"] > 0 and "ratio_train" not in r
    saved = json.loads(out.read_text())
    assert saved["settings"]["size"] == 64 and saved["ours"]["fwd_img_s"] > 0 and "train_img_s" not in saved["ours"]
    with pytest.raises(SystemExit):
        run_benchmark(["backbone", "--dtype", "fp8"])
