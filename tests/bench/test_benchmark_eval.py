"""``tools/benchmark.py eval`` on a small synthetic set: structure and the stats check (no timings compared)."""

import json

from detector.cli.benchmark import run_benchmark


def test_eval_benchmark_reports_every_engine_with_identical_stats(tmp_path, capsys):
    out = tmp_path / "eval.json"
    r = run_benchmark(["eval", "--images", "30", "--dets", "20", "--repeats", "1", "--json", str(out)])
    engines = ["pycocotools", "faster_coco_eval_alone", "coco_evaluate", "coco_evaluate_arrays"]
    assert list(r["seconds"]) == engines and all(s > 0 for s in r["seconds"].values())
    assert r["identical_stats"] == dict.fromkeys(engines, True)
    assert r["num_detections"] >= 30 * 20 and r["num_gt"] > 0 and 0 < r["stats"][0] < 1
    assert set(r["speedup_vs_pycocotools"]) == set(engines[1:])
    printed = capsys.readouterr().out
    assert "30 images" in printed and "coco_evaluate_arrays" in printed and "DIFFER" not in printed
    assert json.loads(out.read_text())["settings"]["images"] == 30
