"""``tools/benchmark.py detector|loader`` on a tiny config (64 px, batch 2, one timed call): result structure and
settings plumbing are asserted, the figures only for being positive and consistent (no timings are compared)."""

import json

import pytest
import torch

from detector.bench.detector import DetectorBenchSettings, bench_config
from detector.bench.training import synthetic_targets
from detector.cli.benchmark import run_benchmark

TINY = ["configs/shapes_tiny.yaml", "data.img_size=64", "data.shapes=null", "train.workers=0"]
FAST = ["--device", "cpu", "--size", "64", "--batch", "2", "--iters", "1", "--repeats", "1", "--warmup", "0"]


def test_detector_defaults_to_the_model_form_detect_runs(capsys):
    r = run_benchmark(["detector", *TINY, *FAST])  # no --fuse / --channels-last: what tools/detect.py runs
    assert r["settings"]["fuse"] is True and r["settings"]["channels_last"] is True
    assert "model form: BatchNorm folded into the convs, channels_last (what tools/detect.py runs" in (
        capsys.readouterr().out
    )
    r = run_benchmark(["detector", *TINY, *FAST, "--no-fuse", "--no-channels-last"])
    assert r["settings"]["fuse"] is False and r["settings"]["channels_last"] is False
    assert "BatchNorm separate, NCHW (contiguous) (NOT what tools/detect.py runs" in capsys.readouterr().out


def _timing_ok(d: dict) -> None:
    assert d["ms"] > 0 and d["img_s"] > 0 and len(d["runs_ms"]) == 1


def test_detector_inference_json(tmp_path, capsys):
    out = tmp_path / "det.json"
    r = run_benchmark(["detector", *TINY, *FAST, "--sizes", "64,96", "--fuse", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "torch" in printed and "latency, batch 1" in printed and "without NMS" in printed
    saved = json.loads(out.read_text())
    assert set(saved) == {"env", "settings", "model", "latency", "throughput"}  # no "train" without --train
    assert saved["settings"]["fuse"] is True and saved["settings"]["num_classes"] == 80
    assert saved["env"]["torch"] == torch.__version__ and saved["env"]["device"] == "cpu"
    assert saved["model"]["params"] > 0 and saved["model"]["gflops_size"] == 64
    assert [e["size"] for e in saved["latency"]] == [64, 96]
    g64, g96 = (e["gflops"] for e in saved["latency"])
    assert g96 / g64 == pytest.approx((96 / 64) ** 2, rel=0.05)  # conv FLOPs scale with the pixel count
    for e in saved["latency"]:
        assert e["batch"] == 1
        _timing_ok(e["e2e"])
        _timing_ok(e["forward"])
    t = saved["throughput"]
    assert t["batch"] == 2 and t["size"] == 64 and 0.0 <= t["nms_share"] < 1.0 and t["dets_per_img"] >= 0
    _timing_ok(t["with_nms"])
    _timing_ok(t["without_nms"])
    assert t["with_nms"]["img_s"] == pytest.approx(2 / (t["with_nms"]["ms"] / 1e3))
    assert r["model"] == saved["model"]


def test_detector_train_synthetic_and_real_data(shapes_overrides, capsys):
    # data.img_size is 64 in TINY: the benchmark's --size (96) must drive the real loader too
    r = run_benchmark(["detector", *TINY, *shapes_overrides, *FAST, "--size", "96", "--train", "--real-data"])
    printed = capsys.readouterr().out
    assert "synthetic tensors" in printed and "ratio real/synthetic" in printed
    assert r["settings"]["num_classes"] == 6  # taken from the shapes dataset
    tr = r["train"]
    _timing_ok(tr["synthetic"])
    _timing_ok(tr["real_data"])
    assert tr["real_data"]["workers"] == 0 and tr["real_data"]["loader_img_s"] > 0
    assert tr["size"] == tr["real_data"]["img_size"] == 96
    assert tr["real_vs_synthetic"] == pytest.approx(tr["real_data"]["img_s"] / tr["synthetic"]["img_s"])
    assert tr["data_bound"] == (tr["loader_vs_synthetic"] < 1.0)


def test_loader_subcommand(shapes_overrides, tmp_path, capsys):
    out = tmp_path / "loader.json"
    argv = ["loader", *TINY, *shapes_overrides, "--size", "64", "--batch", "2", "--workers", "0"]
    r = run_benchmark([*argv, "--batches", "2", "--warmup", "1", "--json", str(out)])
    assert "img/s/worker" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["settings"]["size"] == 64 and saved["settings"]["workers"] == [0]
    (run,) = saved["runs"]
    assert run["images_per_s"] > 0 and run["img_size"] == 64 and run["batch_size"] == 2
    assert r["runs"][0]["images_per_s"] == pytest.approx(run["images_per_s"])


def test_bad_settings_are_reported(capsys):
    with pytest.raises(ValueError, match="--train"):
        run_benchmark(["detector", *TINY, "--device", "cpu", "--real-data"])
    with pytest.raises(ValueError, match="fp16 is CUDA-only"):
        run_benchmark(["detector", *TINY, "--device", "cpu", "--dtype", "fp16"])
    with pytest.raises(SystemExit, match="2"):  # argparse (detector/cli/tool_args.py)
        run_benchmark(["detector", *TINY, "--device", "cpu", "--sizes", "320,100"])
    assert "argument --sizes: must be >= 32 and a multiple of 32, got 100" in capsys.readouterr().err
    with pytest.raises(ValueError, match="multiples of 32"):  # the library's own check
        DetectorBenchSettings(config=TINY[0], sizes=[320, 100]).validate(torch.device("cpu"))
    with pytest.raises(ValueError, match="--warmup >= 1"):
        run_benchmark(["detector", *TINY, "--device", "cpu", "--compile", "--warmup", "0"])
    with pytest.raises(SystemExit):
        run_benchmark(["detector", *TINY, "--sizes", "320,abc"])


def test_random_init_unless_pretrained_is_overridden():
    assert bench_config(DetectorBenchSettings(config="configs/yolo_cspx50.yaml")).model.backbone.pretrained is False
    s = DetectorBenchSettings(config="configs/yolo_cspx50.yaml", overrides=["model.backbone.pretrained=weights.pth"])
    assert bench_config(s).model.backbone.pretrained == "weights.pth"


def test_synthetic_targets_are_valid_boxes():
    t = synthetic_targets(batch=3, size=64, num_classes=5, per_image=4)
    assert t.shape == (12, 6)
    assert t[:, 0].tolist() == [0.0] * 4 + [1.0] * 4 + [2.0] * 4
    assert ((t[:, 1] >= 0) & (t[:, 1] < 5)).all() and (t[:, 1] == t[:, 1].round()).all()
    wh = t[:, 4:6] - t[:, 2:4]
    assert (wh >= 8).all() and (wh <= 32).all() and (t[:, 2:4] >= 0).all() and (t[:, 4:6] <= 64).all()


@pytest.mark.slow
def test_dtype_sweep_gives_one_run_per_dtype(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    r = run_benchmark(["detector", *TINY, *FAST, "--dtype", "fp32,bf16", "--json", str(out)])
    assert [run["settings"]["dtype"] for run in r["runs"]] == ["fp32", "bf16"]
    assert json.loads(out.read_text())["runs"][1]["settings"]["dtype"] == "bf16"
    assert capsys.readouterr().out.count("precision: ") == 2
    with pytest.raises(SystemExit):
        run_benchmark(["detector", *TINY, "--dtype", "fp32,fp8"])


def test_compile_modes_are_checked():
    with pytest.raises(ValueError, match="needs --device cuda"):
        run_benchmark(["detector", *TINY, "--device", "cpu", "--compile", "reduce-overhead"])
    with pytest.raises(SystemExit):
        run_benchmark(["detector", *TINY, "--device", "cpu", "--compile", "fastest"])
    assert DetectorBenchSettings(compile=True).compile_mode == "default"
    assert DetectorBenchSettings(compile=False).compile_mode is None


def test_shapes_data_replaces_a_missing_coco(tmp_path):
    from detector.bench import shapes_data_overrides

    overrides = shapes_data_overrides(64, num_train=4, root=str(tmp_path / "shapes"))
    cfg = bench_config(DetectorBenchSettings(config="configs/yolo_cspx50.yaml", overrides=overrides))
    assert cfg.model.num_classes == 80  # the COCO head keeps its cost
    from detector.data.loader import build_dataset

    ds = build_dataset(cfg, "train")
    assert len(ds) == 4 and ds.img_size == 640 and (tmp_path / "shapes_64" / "train.json").is_file()


@pytest.mark.slow
def test_loader_on_generated_shapes_data(tmp_path, monkeypatch):
    from pathlib import Path

    config = str(Path("configs/yolo_cspx50.yaml").resolve())  # COCO config; COCO is not here
    monkeypatch.chdir(tmp_path)  # the shapes set is generated under ./data
    argv = ["loader", config, "--shapes-data", "--size", "64", "--batch", "2", "--workers", "0"]
    r = run_benchmark([*argv, "--batches", "1", "--warmup", "0"])
    assert (tmp_path / "data" / "bench_shapes_64" / "train.json").is_file()
    assert r["settings"]["size"] == 64 and r["runs"][0]["images_per_s"] > 0 and r["runs"][0]["img_size"] == 64


def test_predict_settings_the_benchmark_does_not_use_are_named() -> None:
    from detector.bench.detector import DetectorBenchSettings, bench_config

    settings = DetectorBenchSettings(config=TINY[0], overrides=[*TINY[1:], "predict.img_size=320", "predict.conf=0.1"])
    with pytest.warns(UserWarning, match=r"predict.img_size=320 not used: the input size is --size"):
        cfg = bench_config(settings)
    assert cfg.predict.conf == 0.1  # the NMS settings do apply
