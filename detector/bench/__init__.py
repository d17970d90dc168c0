"""Benchmarks that print figures (never timed tests): timing helpers, backbone (ours vs timm), detector inference
and training step, data loader, and the suite that runs all of them against the speed targets.

Layering: ``bench`` sits beside ``detector/engine`` (it times the engine's ``TrainStep`` and the predictor's
BatchNorm folding); only ``tools/benchmark.py`` imports it.
"""

from detector.bench.backbone import BackboneBenchSettings, bench_model, benchmark_backbone
from detector.bench.detector import DetectorBenchSettings, benchmark_detector, shapes_data_overrides
from detector.bench.loader import bench_loader
from detector.bench.timing import DTYPES, Timing, environment, paired_ratio, time_fn, time_interleaved

__all__ = [
    "DTYPES",
    "BackboneBenchSettings",
    "DetectorBenchSettings",
    "Timing",
    "bench_loader",
    "bench_model",
    "benchmark_backbone",
    "benchmark_detector",
    "environment",
    "paired_ratio",
    "shapes_data_overrides",
    "time_fn",
    "time_interleaved",
]
