"""The inference profile by operator class and the peers' per-FLOP comparison (detector/bench/profile.py, peers.py)."""

import pytest
import torch
from torch import nn

from detector.bench import peers
from detector.bench.peers import per_flop_ratios
from detector.bench.profile import conv_class, conv_flops, profile_convs
from detector.bench.suite import SuiteSettings, run_suite
from detector.model.summary import model_flops
from tests.helpers import tiny_model


def test_conv_classes_and_flops():
    assert conv_class(nn.Conv2d(8, 8, 3, groups=4)) == "grouped_3x3"
    assert conv_class(nn.Conv2d(8, 8, 3)) == "dense_3x3"
    assert conv_class(nn.Conv2d(8, 16, 1)) == "1x1"
    assert conv_class(nn.Conv2d(8, 16, 5)) == "other_conv"
    conv = nn.Conv2d(8, 16, 3, padding=1, groups=4)
    out = conv(torch.zeros(2, 8, 10, 10))
    assert conv_flops(conv, out) == 2 * (2 * 16 * 10 * 10) * (8 // 4) * 9


@pytest.mark.slow
def test_profile_counts_every_convolution_flop_once():
    model = tiny_model()
    x = torch.rand(2, 3, 64, 64)
    prof = profile_convs(lambda i: model.head.decode(model(i)), model, x, iters=2)
    classes = prof["classes"]
    assert sum(c["gflops"] for c in classes.values()) * 1e9 == pytest.approx(2 * model_flops(model, 64)["total"])
    assert sum(c["count"] for c in classes.values()) == sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert sum(c["share"] for c in classes.values()) == pytest.approx(1.0)
    assert not any(h for m in model.modules() for h in (m._forward_hooks, m._forward_pre_hooks))  # hooks removed


def test_per_flop_ratio_is_ours_over_the_peer():
    ours = {"gflops": 100.0, "infer_img_s": 1000.0, "train_img_s": 300.0}  # 100 and 30 TFLOP/s
    peer = {"infer_tflops": 150.0, "train_tflops": 40.0}
    assert per_flop_ratios(ours, peer) == pytest.approx({"infer": 100 / 150, "train": 30 / 40})
    assert per_flop_ratios({"gflops": 100.0, "infer_img_s": 1000.0}, peer) == pytest.approx({"infer": 100 / 150})


def test_suite_skips_the_peers_when_ultralytics_is_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(peers, "peer_available", lambda: None)
    r = run_suite(SuiteSettings(device="cpu", out=str(tmp_path), steps=["peers"]), log=lambda _: None)
    assert "ultralytics is not importable" in r["steps"]["peers"]["skipped"]
    assert "Not measured: ultralytics is not importable" in (tmp_path / "suite.md").read_text()


def test_ops_step_reports_every_convolution_and_the_gemm_matches_the_conv(tmp_path):
    r = run_suite(
        SuiteSettings(
            config="configs/shapes_tiny.yaml",
            device="cpu",
            out=str(tmp_path),
            steps=["ops"],
            size=32,
            batch=1,
            iters=1,
            repeats=1,
            warmup=0,
        ),
        log=lambda _: None,
    )["steps"]["ops"]
    assert [c["name"] for c in r["convs"]][:3] == ["1x1 256->256 @S/4", "1x1 512->512 @S/8", "1x1 1024->512 @S/16"]
    assert all(c["gemm_max_abs_diff"] < 1e-4 for c in r["convs"] if "gemm" in c)  # fp32 on the CPU
    assert set(r["stem"]) == {"in_channels_3", "in_channels_4", "in_channels_8"}
    assert "| 1x1 256->256 @S/4 |" in (tmp_path / "suite.md").read_text()
