"""The benchmark renderers (console text of tools/benchmark.py, bench/console.py, and the suite's suite.md,
bench/render.py) print exactly what they printed before bench/text.py and bench/report.py were merged:
render_golden.json holds the output of the two old modules (commit 'Golden outputs of the benchmark renderers') on the
result dicts of render_cases.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detector.bench import console, render
from tests.bench.render_cases import console_cases, markdown_cases

GOLDEN = json.loads((Path(__file__).parent / "render_golden.json").read_text())


@pytest.mark.parametrize("name", sorted(console_cases()))
def test_console_text_is_unchanged(name):
    fn, result = console_cases()[name]
    assert getattr(console, fn)(result) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(markdown_cases()))
def test_suite_markdown_is_unchanged(name):
    assert render.render_markdown(markdown_cases()[name]) == GOLDEN[name]


def test_the_cases_reach_the_branches():
    """The golden texts hold what each branch prints (so a case that stopped reaching one would show)."""
    assert "timm not installed: no reference figures" in GOLDEN["backbone_no_timm"]
    assert (
        "NOT what tools/detect.py runs" in GOLDEN["detector_exported"]
        and "data loading is the bottleneck" in (GOLDEN["detector_fp16_data_bound"])
    )
    assert "random weights leave NMS almost no boxes" in GOLDEN["detector_fp32"]
    assert "DIFFER" in GOLDEN["eval"] and "max |diff| 2.0e-16" in GOLDEN["eval"]
    gpu, cpu = GOLDEN["suite_gpu"], GOLDEN["suite_cpu"]
    for title in ("## Where the inference time goes", "## Operator micro-benchmarks", "## Peers", "## Failed steps"):
        assert title in gpu
    assert "min per epoch on 1 GPU" in gpu and "hours per epoch on this device" in cpu
    assert "Not measured: ultralytics is not installed" in cpu and "reported, not judged" in cpu
    assert "## Failed steps" in GOLDEN["suite_failed"] and "## Detector" not in GOLDEN["suite_failed"]
