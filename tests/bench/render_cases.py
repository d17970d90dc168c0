"""Result dicts of every benchmark, built by hand to reach every branch of the renderers (console text and the
suite's Markdown): the inputs of tests/bench/test_render.py."""

from __future__ import annotations

import copy
from typing import Any

ENV = {"device": "cuda", "device_name": "NVIDIA H100", "date": "2026-11-23", "torch": "2.14.1", "cuda": "13.0",
       "cudnn": 91000, "cpu_count": 16, "threads": 16}  # fmt: skip
CPU_ENV = {**ENV, "device": "cpu", "device_name": "x86_64", "cuda": None, "cudnn": None, "threads": 2}


def _t(ms: float, batch: int = 1) -> dict[str, Any]:
    return {"ms": ms, "img_s": batch * 1e3 / ms, "runs_ms": [ms, ms * 1.1]}


def backbone(timm: bool = True, train: bool = True, compiled: bool = False) -> dict[str, Any]:
    ours = {"fwd_ms": 24.6, "fwd_img_s": 1300.0} | ({"train_ms": 80.0, "train_img_s": 400.0} if train else {})
    r: dict[str, Any] = {
        "env": ENV,
        "settings": {"batch": 32, "size": 640, "dtype": "bf16", "channels_last": True, "compile": compiled},
        "max_abs_diff": 3.1e-6 if timm else None,
        "ours": ours,
    }
    if timm:
        r["timm"] = {"fwd_ms": 27.2, "fwd_img_s": 1175.0} | ({"train_ms": 84.6, "train_img_s": 378.0} if train else {})
        r["ratio_fwd"] = 1.1
        if train:
            r["ratio_train"] = 1.05
    return r


def detector(dtype: str = "fp32", train: bool = True, exported: bool = False, graphs: bool = False) -> dict[str, Any]:
    settings = {"dtype": dtype, "channels_last": not exported, "compile": False, "fuse": not exported, "repeats": 5,
                "iters": 20, "warmup": 5, "weights": "best.onnx" if exported else None, "num_classes": 80,
                "nms": {"conf": 0.001}, "cuda_graphs": graphs, "gemm_1x1": graphs}  # fmt: skip
    model = (
        {"params": None, "format": "onnx", "precision": "fp32"}
        if exported
        else {"params": 46_123_456, "gflops": 107.53, "gflops_size": 640}
    )
    r: dict[str, Any] = {
        "env": ENV,
        "settings": settings,
        "model": model,
        "latency": [
            {
                "size": s,
                "batch": 1,
                "gflops": None if exported else 107.53 * (s / 640) ** 2,
                "e2e": _t(ms),
                "forward": _t(ms - 1.0),
            }
            for s, ms in ((320, 4.2), (640, 11.0 if dtype == "fp32" else 7.5))
        ],  # fmt: skip
        "throughput": {
            "size": 640,
            "batch": 32,
            "with_nms": _t(40.0, 32),
            "without_nms": _t(35.0, 32),
            "nms_share": 0.125,
            "dets_per_img": 0.4 if not exported else 12.5,
        },  # fmt: skip
    }
    if train:
        r["train"] = {
            "batch": 32, "size": 640, "synthetic": _t(128.0, 32), "peak_mem_gib": 21.5,
            "real_data": {**_t(152.0, 32), "workers": 15, "loader_ms": 50.0, "loader_img_s": 640.0},
            "real_vs_synthetic": 0.84, "loader_vs_synthetic": 2.56, "data_bound": dtype == "fp16",
        }  # fmt: skip
    return r


def loader() -> dict[str, Any]:
    runs = [{"workers": 1.0, "images_per_s": 40.0, "images_per_s_per_worker": 40.0, "seconds": 3.2},
            {"workers": 16.0, "images_per_s": 560.0, "images_per_s_per_worker": 35.0, "seconds": 0.23}]  # fmt: skip
    return {"env": CPU_ENV, "settings": {"workers": [1, 16], "batch": 32}, "runs": runs}


def evaluation() -> dict[str, Any]:
    return {
        "settings": {"images": 500, "num_classes": 80, "repeats": 3, "reference_repeats": 1},
        "num_gt": 3600, "num_detections": 50000,
        "seconds": {"pycocotools": 12.5, "faster": 1.25, "faster-cached": 0.5},
        "speedup_vs_pycocotools": {"faster": 10.0, "faster-cached": 25.0},
        "max_abs_stat_difference": {"pycocotools": 0.0, "faster": 0.0, "faster-cached": 2e-16},
        "identical_stats": {"pycocotools": True, "faster": True, "faster-cached": False},
        "stats": [0.4123, 0.6012, 0.4456] + [0.1] * 9,
    }  # fmt: skip


def profile() -> dict[str, Any]:
    classes = {"3x3": {"count": 40, "gflops": 70.0, "ms": 6.0, "share": 0.6, "tflops": 11.7},
               "1x1": {"count": 60, "gflops": 30.0, "ms": 4.0, "share": 0.4, "tflops": 7.5}}  # fmt: skip
    tuned = copy.deepcopy(classes)
    del tuned["1x1"]
    return {
        "batch": 32, "size": 640, "dtype": "bf16",
        "default": {"classes": classes, "total_ms": 10.0},
        "cudnn_benchmark": {"classes": tuned, "total_ms": 9.0},
        "top_kernels": [{"name": "sm90_xmma_fprop_implicit_gemm_bf16" * 3, "ms": 1.25, "calls": 12}],
    }  # fmt: skip


def ops() -> dict[str, Any]:
    return {
        "batch": 32, "size": 80, "dtype": "bf16",
        "convs": [{"name": "1x1 256->256", "bias": 0.12, "no_bias": 0.11, "gemm": 0.1, "gemm_max_abs_diff": 0.0039,
                   "nchw": 0.2},
                  {"name": "3x3 256->256", "bias": 0.5, "no_bias": 0.49, "nchw": 0.7}],
        "stem": {"stem_3": 0.3, "stem_4": 0.25, "stem_8": 0.28},
    }  # fmt: skip


def peers() -> dict[str, Any]:
    return {
        "ultralytics": "8.4.190",
        "ours": {"gflops": 107.5, "infer_img_s": 900.0, "train_img_s": 250.0},
        "peers": {"yolov8m.yaml": {"params": 25_900_000, "gflops": 78.9, "infer": {"img_s": 1900.0},
                                   "infer_tflops": 149.9, "train": {"img_s": 500.0}, "train_tflops": 39.45,
                                   "ours_per_flop_ratio": {"infer": 0.645, "train": 0.681}}},
    }  # fmt: skip


def suite(gpu: bool = True) -> dict[str, Any]:
    steps: dict[str, Any] = {
        "backbone": backbone(),
        "backbone_compile": backbone(compiled=True),
        "infer_fp32": detector("fp32", train=False),
        "infer_bf16": detector("bf16", train=False),
        "infer_fp16_graphs": detector("fp16", train=False, graphs=True),
        "train_bf16": detector("bf16"),
        "train_fp16": {"error": "RuntimeError: out of memory"},
        "loader": loader(),
        "profile": profile(),
        "ops": ops(),
        "peers": peers() if gpu else {"skipped": "ultralytics is not installed"},
    }
    if not gpu:
        for k in ("backbone_compile", "profile", "ops"):
            del steps[k]
    settings = {"config": "configs/yolo_cspx50.yaml", "batch": 32, "size": 640, "repeats": 5, "iters": 20, "warmup": 5}
    return {"env": ENV if gpu else CPU_ENV, "settings": settings, "data": "generated shapes", "steps": steps}


def console_cases() -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (renderer name, result)."""
    return {
        "backbone": ("format_backbone", backbone()),
        "backbone_no_timm": ("format_backbone", backbone(timm=False)),
        "backbone_no_train": ("format_backbone", backbone(train=False)),
        "detector_fp32": ("format_detector", detector("fp32")),
        "detector_fp16_data_bound": ("format_detector", detector("fp16")),
        "detector_exported": ("format_detector", detector(exported=True, train=False)),
        "loader": ("format_loader", loader()),
        "eval": ("format_eval", evaluation()),
    }


def markdown_cases() -> dict[str, dict[str, Any]]:
    empty = suite(gpu=False)
    empty["steps"] = {"backbone": {"error": "ImportError: timm"}}
    return {"suite_gpu": suite(), "suite_cpu": suite(gpu=False), "suite_failed": empty}
