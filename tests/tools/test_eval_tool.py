"""tools/eval.py: --gt/--pred mode through a subprocess, error exits, argument checks."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from detector.engine.evaluation.evaluator import STAT_KEYS, coco_evaluate
from tests.helpers import make_gt, make_predictions

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "eval.py"


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def load_tool():
    """tools/eval.py's code as a module (in-process calls are much faster than a subprocess that imports torch)."""
    return importlib.import_module("detector.cli.eval")


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, dict, list]:
    gt = make_gt(5)
    preds = make_predictions(gt, 5)
    gt_file, pred_file = tmp_path / "gt.json", tmp_path / "preds.json"
    gt_file.write_text(json.dumps(gt))
    pred_file.write_text(json.dumps(preds))
    return gt_file, pred_file, gt, preds


@pytest.mark.slow  # a subprocess
def test_gt_pred_mode_writes_metrics_and_plots(files, tmp_path: Path) -> None:
    gt_file, pred_file, gt, preds = files
    out, metrics_file = tmp_path / "out", tmp_path / "m" / "metrics.json"
    proc = run_tool("--gt", str(gt_file), "--pred", str(pred_file), "--json", str(metrics_file), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(metrics_file.read_text())
    expected = coco_evaluate(gt, preds)
    for key in STAT_KEYS:
        assert metrics[key] == pytest.approx(expected[key], abs=1e-9)
    assert [c["category_id"] for c in metrics["per_class"]] == [1, 3, 7, 12]
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for png in ("pr_curve.png", "per_class_ap.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = " in proc.stdout
    assert "person" in proc.stdout and "engine: faster-coco-eval" in proc.stdout


@pytest.mark.slow  # a subprocess
def test_bad_prediction_file_exits_nonzero_with_one_line(files, tmp_path: Path) -> None:
    gt_file, _, _, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": 10, "category_id": 0, "bbox": [1, 2, 3, 4], "score": 0.5}]')
    proc = run_tool("--gt", str(gt_file), "--pred", str(bad), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "unknown category id(s) [0]" in lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_files_are_one_line_errors(files, tmp_path: Path, capsys) -> None:
    gt_file, _, _, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": 10, "category_id": 0, "bbox": [1, 2, 3, 4], "score": 0.5}]')
    tool = load_tool()
    assert tool.main(["--gt", str(gt_file), "--pred", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "unknown category id(s) [0]" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert tool.main(["--gt", str(broken), "--pred", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.json: invalid JSON at line 1" in err


def test_argument_errors(capsys) -> None:
    tool = load_tool()
    for argv, message in (
        (["--gt", "a.json"], "needs both --gt"),
        ([], "give CONFIG and --weights"),
        (["c.yaml", "--weights", "w.pt", "--gt", "a.json", "--pred", "b.json"], "not both"),
    ):
        with pytest.raises(SystemExit) as e:
            tool.parse_args(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err


def test_empty_predictions_file_gives_zeros(files, tmp_path: Path, capsys) -> None:
    gt_file, _, _, _ = files
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert load_tool().main(["--gt", str(gt_file), "--pred", str(empty), "--out", str(tmp_path / "o")]) == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert all(metrics[k] == 0.0 for k in STAT_KEYS)
    assert "warning: no predictions" in capsys.readouterr().err


@pytest.mark.slow
def test_a_taken_out_folder_goes_to_exp2_unless_exist_ok(files, tmp_path: Path) -> None:
    gt_file, pred_file, _, _ = files
    tool, out = load_tool(), tmp_path / "exp"
    argv = ["--gt", str(gt_file), "--pred", str(pred_file), "--out", str(out)]
    assert tool.main(argv) == 0 and tool.main(argv) == 0
    assert (out / "metrics.json").is_file() and (tmp_path / "exp2" / "metrics.json").is_file()
    first = (out / "metrics.json").stat().st_mtime_ns
    assert tool.main([*argv, "--exist-ok"]) == 0
    assert (out / "metrics.json").stat().st_mtime_ns >= first and not (tmp_path / "exp3").exists()
