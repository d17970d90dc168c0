"""tools/eval.py --errors and its plumbing in detector/engine/jobs/evaluate.py: the TIDE-style table after the COCO
metrics and ``"errors"`` in metrics.json, in file mode (--gt/--pred) and model mode (config + weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detector.engine.evaluation.errors.breakdown import ERROR_TYPES, error_breakdown, format_breakdown
from detector.engine.evaluation.errors.tidecv import tidecv_breakdown
from detector.engine.jobs.evaluate import EvalOptions, run_evaluation
from tests.helpers import make_gt, make_predictions, shapes_val_config, write_tiny_checkpoint
from tests.tools.test_eval_tool import load_tool

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, dict, list]:
    gt = make_gt(3)
    preds = make_predictions(gt, 3)  # crowd regions, >100 detections on one image
    gt_file, pred_file = tmp_path / "gt.json", tmp_path / "preds.json"
    gt_file.write_text(json.dumps(gt))
    pred_file.write_text(json.dumps(preds))
    return gt_file, pred_file, gt, preds


def test_file_mode_errors_prints_the_table_and_writes_errors_json(files, tmp_path: Path, capsys) -> None:
    gt_file, pred_file, gt, preds = files
    out, extra = tmp_path / "out", tmp_path / "m.json"
    argv = ["--gt", str(gt_file), "--pred", str(pred_file), "--out", str(out), "--json", str(extra), "--errors"]
    assert load_tool().main(argv) == 0
    captured = capsys.readouterr()
    with pytest.warns(UserWarning, match="beyond the 100"):
        expected = error_breakdown(gt, preds)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["errors"] == json.loads(json.dumps(expected.to_dict()))
    assert list(metrics["errors"]["dap"]) == list(ERROR_TYPES) == list(metrics["errors"]["counts"])
    assert metrics["errors"]["ap50"] == pytest.approx(metrics["AP50"], abs=1e-12)  # the same AP50 as the engine
    assert json.loads(extra.read_text()) == metrics
    table = format_breakdown(expected)
    assert table in captured.out
    assert captured.out.index("maxDets=100 ] =") < captured.out.index(table)  # after the COCO metrics
    assert "detection(s) beyond the 100 highest-scoring per image and category" in captured.err


def test_errors_tidecv_uses_tidecvs_rules(files, tmp_path: Path, capsys) -> None:
    gt_file, pred_file, gt, preds = files
    out = tmp_path / "out"
    assert (
        load_tool().main(["--gt", str(gt_file), "--pred", str(pred_file), "--out", str(out), "--errors", "tidecv"]) == 0
    )
    expected = tidecv_breakdown(gt, preds)
    errors = json.loads((out / "metrics.json").read_text())["errors"]
    assert errors == json.loads(json.dumps(expected.to_dict())) and errors["rule"] == "tidecv"
    assert format_breakdown(expected) in capsys.readouterr().out


def test_errors_names_an_unknown_rule(files, tmp_path: Path, capsys) -> None:
    gt_file, pred_file, _, _ = files
    with pytest.raises(SystemExit) as info:
        load_tool().main(
            ["--gt", str(gt_file), "--pred", str(pred_file), "--out", str(tmp_path / "o"), "--errors", "coco"]
        )
    assert info.value.code == 2 and "--errors: invalid choice: 'coco'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"--errors must be one of \['paper', 'tidecv'\], got 'coco'"):
        EvalOptions(gt=str(gt_file), pred=str(pred_file), errors="coco").check()


def test_without_errors_there_is_no_breakdown(files, tmp_path: Path, capsys) -> None:
    gt_file, pred_file, _, _ = files
    assert load_tool().main(["--gt", str(gt_file), "--pred", str(pred_file), "--out", str(tmp_path / "o")]) == 0
    assert "errors" not in json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert "TIDE-style" not in capsys.readouterr().out


def test_errors_on_a_bad_predictions_file_is_a_one_line_error(files, tmp_path: Path, capsys) -> None:
    gt_file, _, _, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": 10, "category_id": 0, "bbox": [1, 2, 3, 4], "score": 0.5}]')
    assert load_tool().main(["--gt", str(gt_file), "--pred", str(bad), "--out", str(tmp_path / "o"), "--errors"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: unknown category id(s) [0]" in err


@pytest.mark.slow  # builds a dataset and runs a tiny model on it
def test_model_mode_errors_break_down_the_models_predictions(tmp_path: Path, detector_log) -> None:
    config, paths = shapes_val_config(tmp_path)
    weights = tmp_path / "w.pt"
    write_tiny_checkpoint(weights, num_classes=6)
    out = tmp_path / "eval"
    opts = EvalOptions(config=str(config), weights=str(weights), out=str(out), progress=False, errors=True)
    result = run_evaluation(opts)
    errors = json.loads((out / "metrics.json").read_text())["errors"]
    predictions = json.loads((out / "predictions.json").read_text())
    assert errors == json.loads(json.dumps(error_breakdown(paths["val_ann"], predictions).to_dict()))
    assert errors["ap50"] == pytest.approx(result.stats["AP50"], abs=1e-12)
    assert sum(errors["counts"][k] for k in ERROR_TYPES if k != "miss") > 0  # an untrained model errs
    assert "TIDE-style error breakdown: AP50" in detector_log.text
