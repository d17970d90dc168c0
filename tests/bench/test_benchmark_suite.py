"""``tools/benchmark.py suite``: the steps run on a tiny CPU setup, results are saved after every step, a failing
step is recorded without losing the others, and the report judges the targets and derives the epoch time."""

import json

import pytest

from detector.bench.render import render_markdown
from detector.bench.suite import SuiteSettings, resolve_settings, run_suite
from detector.bench.targets import COCO_TRAIN_IMAGES, epoch_estimate, target_rows
from detector.cli.benchmark import run_benchmark

TINY = ["configs/shapes_tiny.yaml", "data.img_size=64", "data.shapes=null", "train.workers=0"]
TINY_SUITE = ["--size", "64", "--batch", "2", "--latency-sizes", "64", "--backbone-size", "64"]
TINY_SUITE += ["--backbone-batch", "1", "--workers", "0", "--loader-workers", "0"]
TINY_SUITE += ["--warmup", "0", "--iters", "1", "--repeats", "1"]


@pytest.mark.slow  # every suite step, full-size backbone
def test_cpu_suite_runs_every_step_and_writes_the_report(shapes_overrides, tmp_path, capsys):
    pytest.importorskip("timm")
    out = tmp_path / "bench"
    r = run_benchmark(["suite", *TINY, *shapes_overrides, "--device", "cpu", "--out", str(out), *TINY_SUITE])
    printed = capsys.readouterr().out
    assert list(r["steps"]) == ["backbone", "infer_fp32", "train_fp32", "loader"]  # the CPU default steps
    assert all("error" not in step and step["seconds"] > 0 for step in r["steps"].values())
    saved = json.loads((out / "suite.json").read_text())
    assert saved["steps"].keys() == r["steps"].keys() and saved["env"]["device"] == "cpu"
    assert "config's train split" in saved["data"]
    assert r["steps"]["backbone"]["settings"]["size"] == 64 and r["steps"]["backbone"]["ratio_fwd"] > 0
    infer = r["steps"]["infer_fp32"]["settings"]
    assert infer["fuse"] and infer["channels_last"] and infer["dtype"] == "fp32"
    train = r["steps"]["train_fp32"]["train"]
    assert train["real_data"]["img_s"] > 0 and train["real_data"]["workers"] == 0
    md = (out / "suite.md").read_text()
    assert md in printed
    for section in ("## Targets", "## Backbone", "## Detector inference", "## Detector training", "## Training data"):
        assert section in md
    assert "| n/a |" in md and "reported, not judged" in md  # targets are for one H100
    assert "## COCO epoch time (estimate)" in md and "Failed steps" not in md


def test_failing_step_is_recorded_and_the_rest_still_run(shapes_overrides, tmp_path):
    settings = SuiteSettings(
        config=TINY[0],
        overrides=[*TINY[1:], *shapes_overrides],
        device="cpu",
        out=str(tmp_path),
        steps=["infer_fp16", "infer_fp32"],
        size=64,
        batch=2,
        latency_sizes=[64],
        warmup=0,
        iters=1,
        repeats=1,
    )
    logged = []
    r = run_suite(settings, log=logged.append)
    assert "fp16 is CUDA-only" in r["steps"]["infer_fp16"]["error"]
    assert "error" not in r["steps"]["infer_fp32"] and r["steps"]["infer_fp32"]["throughput"]["batch"] == 2
    assert any("infer_fp16: FAILED" in line for line in logged)
    assert "## Failed steps" in (tmp_path / "suite.md").read_text()
    with pytest.raises(ValueError, match="unknown suite step"):
        run_suite(SuiteSettings(config=TINY[0], device="cpu", out=str(tmp_path), steps=["infer_fp8"]))


def test_cli_reports_bad_settings_in_one_line(tmp_path, capsys):
    from detector.cli.benchmark import main

    argv = ["suite", TINY[0], "--device", "cpu", "--out", str(tmp_path), "--steps", "infer_fp8"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown suite step(s) ['infer_fp8']") and "Traceback" not in err
    assert (
        main(
            [
                "suite",
                "configs/yolo_cspx50.yaml",
                "--device",
                "cpu",
                "--data",
                "config",
                "--steps",
                "loader",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )  # COCO is not here: the missing split is named
    assert "data.train.ann" in capsys.readouterr().err and not (tmp_path / "suite.json").exists()
    argv = ["suite", TINY[0], "--device", "cpu", "--out", str(tmp_path), "--steps", "infer_fp16"]
    assert main(argv) == 1  # a failed step: its error recorded, exit status 1
    assert "1 suite step(s) failed: infer_fp16" in capsys.readouterr().err


def test_defaults_per_device():
    gpu, cpu = resolve_settings(SuiteSettings(), "cuda"), resolve_settings(SuiteSettings(), "cpu")
    assert (gpu.size, gpu.batch, gpu.backbone_size, gpu.backbone_batch) == (640, 32, 640, 32)
    assert "infer_fp16_cudagraphs" in gpu.steps and "backbone_compile" in gpu.steps and "train_bf16" in gpu.steps
    assert (cpu.size, cpu.batch, cpu.latency_sizes) == (320, 2, [320, 640])
    assert all("compile" not in s and "cudagraphs" not in s and "bf16" not in s for s in cpu.steps)
    assert cpu.loader_workers[0] == 1 and cpu.workers >= 1


def _fake_cuda_result() -> dict:
    bb_settings = {"batch": 32, "size": 640, "dtype": "bf16", "channels_last": True, "compile": False}
    infer = lambda dtype, e2e_ms, img_s, graphs=False: {  # noqa: E731
        "settings": {"dtype": dtype, "compile": False, "cuda_graphs": graphs},
        "latency": [{"size": 640, "e2e": {"ms": e2e_ms}, "forward": {"ms": e2e_ms - 1}}],
        "throughput": {"without_nms": {"img_s": img_s}, "with_nms": {"img_s": img_s * 0.9}, "batch": 32, "size": 640},
    }
    steps = {
        "backbone": {
            "settings": bb_settings,
            "ours": {"fwd_img_s": 1300.0, "train_img_s": 400.0},
            "timm": {"fwd_img_s": 1175.0, "train_img_s": 378.0},
            "ratio_fwd": 1.1,
            "ratio_train": 1.05,
        },
        "backbone_compile": {
            "settings": {**bb_settings, "compile": True},
            "ours": {"fwd_img_s": 1500.0, "train_img_s": 420.0},
            "timm": {"fwd_img_s": 1450.0, "train_img_s": 410.0},
            "ratio_fwd": 1.03,
            "ratio_train": 1.02,
        },
        "infer_fp32": infer("fp32", 11.0, 700.0),
        "infer_bf16": infer("bf16", 12.0, 900.0),
        "infer_fp16_cudagraphs": infer("fp16", 6.5, 1000.0),
        "infer_fp16_graphs": infer("fp16", 3.5, 950.0, graphs=True),
        "peers": {
            "ultralytics": "8.4.190",
            "ours": {"gflops": 107.5, "infer_img_s": 900.0, "train_img_s": 250.0},
            "peers": {
                "yolov8m.yaml": {
                    "params": 25_900_000,
                    "gflops": 78.9,
                    "infer": {"img_s": 1900.0},
                    "infer_tflops": 149.9,
                    "train": {"img_s": 500.0},
                    "train_tflops": 39.45,
                    "ours_per_flop_ratio": {"infer": 0.645, "train": 0.681},
                }
            },
        },
        "train_bf16": {
            "settings": {"dtype": "bf16", "compile": False},
            "train": {
                "batch": 32,
                "size": 640,
                "synthetic": {"img_s": 250.0},
                "real_data": {"img_s": 210.0, "workers": 15, "loader_img_s": 600.0},
                "real_vs_synthetic": 0.84,
            },
        },
        "train_fp16": {"error": "RuntimeError: out of memory"},
        "loader": {
            "runs": [
                {"workers": 1.0, "images_per_s": 40.0, "images_per_s_per_worker": 40.0},
                {"workers": 16.0, "images_per_s": 560.0, "images_per_s_per_worker": 35.0},
            ]
        },
    }
    env = {"device": "cuda", "device_name": "NVIDIA H100", "date": "2026-11-23", "torch": "2.14.1"}
    env.update(cuda="13.0", cudnn=91000, cpu_count=16)
    settings = {"config": "configs/yolo_cspx50.yaml", "batch": 32, "size": 640, "repeats": 5, "iters": 20}
    return {"env": env, "settings": {**settings, "warmup": 5}, "data": "generated shapes", "steps": steps}


def test_targets_are_judged_from_the_best_matching_step():
    rows = {r.what.strip(): r for r in target_rows(_fake_cuda_result())}
    assert rows["backbone inference, ours / timm (eager)"].met is True
    assert rows["backbone training step, ours / timm (eager)"].measured == 1.05
    compiled_fwd = rows["backbone inference, ours compiled / timm eager (goal)"]
    assert compiled_fwd.measured == pytest.approx(1500 / 1175) and compiled_fwd.met is True
    compiled_train = rows["backbone training step, ours compiled / timm eager (goal)"]
    assert compiled_train.measured == pytest.approx(420 / 378) and compiled_train.met is False
    thr = rows["detector inference, batch 32, bf16, NMS excluded"]
    assert (thr.measured, thr.step, thr.met) == (900.0, "infer_bf16", True)  # the fp16 step does not count
    lat = rows["detector latency, batch 1, 640, end to end with NMS, best mode"]
    assert (lat.measured, lat.step, lat.met) == (3.5, "infer_fp16_graphs", True)  # the fastest way counts
    half = rows["batch-1 640 latency, slowest eager half path / fp32"]  # graphs and compile are not eager
    assert (half.measured, half.step, half.met) == (pytest.approx(12.0 / 11.0), "infer_bf16", False)
    per_flop = rows["inference work per GPU-second per FLOP, ours / YOLOv8m"]
    assert (per_flop.measured, per_flop.met) == (0.645, False)
    assert rows["training work per GPU-second per FLOP, ours / YOLOv8m"].measured == 0.681
    train = rows["detector training step, batch 32, bf16, real loader"]
    assert (train.measured, train.met) == (210.0, True)
    assert rows["real loader / synthetic input"].met is False


def test_epoch_estimate_and_markdown():
    result = _fake_cuda_result()
    est = epoch_estimate(result)
    assert est["step"] == "train_bf16" and est["source"] == "real loader"
    assert est["minutes_1gpu"] == pytest.approx(COCO_TRAIN_IMAGES / 210 / 60)
    assert est["minutes_8gpu"] == pytest.approx(est["minutes_1gpu"] / 8)
    assert est["cores_per_gpu"] == pytest.approx(210 / 35)  # per-worker rate at the largest worker count
    md = render_markdown(result)
    assert "# Benchmark suite: NVIDIA H100 (cuda)" in md and "**no**" in md and "| yes |" in md
    assert "- `train_fp16`: RuntimeError: out of memory" in md
    assert "9.4 min per epoch on 1 GPU, 1.2 min on 8" in md
    result["steps"] = {}
    assert epoch_estimate(result) is None
    assert all(r.measured is None and r.met is None for r in target_rows(result))
    assert "not measured" in render_markdown(result)
