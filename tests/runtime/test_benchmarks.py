"""tools/benchmark.py on exported files: ``detector --weights`` and the ``formats`` table (behaviour, not speed)."""

import json

import pytest

from detector.bench.formats import formats_markdown
from detector.cli.benchmark import main as bench_main

FAST = ["--warmup", "1", "--iters", "1", "--repeats", "2"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["onnx", "openvino"])
def test_benchmark_detector_takes_an_exported_file(learned, tmp_path, kind, capsys):
    out = tmp_path / "r.json"
    argv = ["detector", str(learned.config), "--weights", str(getattr(learned, kind)), "--device", "cpu"]
    assert bench_main([*argv, "--size", "64", "--batch", "2", *FAST, "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["model"]["format"] == kind and r["latency"][0]["size"] == 64 and r["latency"][0]["e2e"]["ms"] > 0
    assert r["throughput"]["batch"] == 2 and r["settings"]["num_classes"] == 6
    assert f"({kind}, fp32)" in capsys.readouterr().out
    assert bench_main([*argv, "--train"]) == 2  # an exported file has no training step


@pytest.mark.slow
def test_benchmark_formats_table(learned, tmp_path):
    out, md = tmp_path / "f.json", tmp_path / "f.md"
    argv = ["formats", str(learned.config), "--weights", str(learned.weights), "--work", str(tmp_path / "w")]
    argv += ["--formats", "onnx,openvino", "--threads", "1", *FAST, "--json", str(out), "--md", str(md)]
    assert bench_main(argv) == 0
    r = json.loads(out.read_text())
    rows = {row["format"]: row for row in r["rows"]}
    assert list(rows) == ["pytorch", "onnx", "openvino"]  # the reference is always timed
    assert rows["pytorch"]["speedup"] == pytest.approx(1.0)
    for name in ("onnx", "openvino"):  # fp32 files: the checkpoint's AP at the same square input
        assert round(rows[name]["AP"], 3) == round(rows["pytorch"]["AP"], 3) >= 0.3
        assert rows[name]["size_mb"] > 0 and rows[name]["ms_min"] <= rows[name]["ms"] <= rows[name]["ms_max"]
        assert len(rows[name]["runs_ms"]) == 2
    assert md.read_text() == formats_markdown(r) and "| openvino |" in md.read_text()
    assert bench_main([*argv[:-4], "--formats", "tensorrt"]) == 2


@pytest.mark.parametrize("iters", [1, 10])
def test_formats_latency_columns_are_milliseconds_per_call(iters):
    """Timing.runs_s is seconds per call already (time_interleaved divides by iters): the columns do not divide
    again (a 10x error once, with the default 10 calls per run)."""
    from detector.bench.formats import timing_columns
    from detector.bench.timing import Timing

    ref, fast = Timing(0.02, [0.02, 0.021, 0.019], iters), Timing(0.005, [0.005, 0.006, 0.004], iters)
    cols = timing_columns(fast, ref)
    assert cols["ms"] == pytest.approx(5.0) and (cols["ms_min"], cols["ms_max"]) == pytest.approx((4.0, 6.0))
    assert cols["runs_ms"] == pytest.approx([5.0, 6.0, 4.0]) and cols["speedup"] == pytest.approx(4.0)
