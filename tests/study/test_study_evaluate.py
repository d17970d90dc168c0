"""A study run is evaluated exactly as tools/eval.py evaluates its best.pt: the same numbers to the last digit."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest

from detector.engine.evaluation.evaluator import STAT_KEYS
from detector.study.folder import RunInfo, RunState
from detector.study.run_eval import EVAL_RECORD, evaluate_run
from tests.study.study_builders import write_detecting_checkpoint, write_tiny_study

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # two evaluations of a small model, one through the tool


def load_eval_tool():
    return importlib.import_module("detector.cli.eval")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> RunInfo:
    """A run folder as a study leaves it: the run's config.yaml and a best.pt whose model finds a few shapes (AP
    small but not zero, so every digit is compared)."""
    root = tmp_path_factory.mktemp("run")
    write_tiny_study(root, root / "shapes")
    folder = root / "study" / "cspx" / "seed0"
    (folder / "weights").mkdir(parents=True)
    shutil.copy(root / "base.yaml", folder / "config.yaml")
    write_detecting_checkpoint(folder / "weights" / "best.pt")
    return RunInfo("cspx", 0, folder, RunState.DONE)


def test_every_number_equals_tools_eval(run, tmp_path, detector_log):
    record = evaluate_run(run)
    out = tmp_path / "eval"
    argv = [str(run.folder / "config.yaml"), "--weights", str(run.best), "--out", str(out), "--no-progress"]
    assert load_eval_tool().main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert record["stats"] == {k: metrics[k] for k in STAT_KEYS}  # exact float equality
    assert metrics["AP50"] > 0 and metrics["AP"] > 0  # the comparison is not a comparison of zeros
    assert record["per_class"] == metrics["per_class"] and record["num_predictions"] == metrics["num_predictions"]
    assert json.loads(Path(record["predictions"]).read_text()) == json.loads((out / "predictions.json").read_text())
    assert record["command"] == f"python tools/eval.py {run.folder / 'config.yaml'} --weights {run.best}"
    assert len(record["pr"]["iou50"]) == len(record["pr"]["recall"]) == 101
    errors = record["errors"]
    assert errors["ap50"] == pytest.approx(metrics["AP50"], abs=1e-6)  # TIDE's base AP50 is COCO's
    assert set(errors["dap"]) == set(errors["counts"]) == {"cls", "loc", "both", "dupe", "bkg", "miss"}


def test_the_record_is_reused_until_best_pt_changes(run, monkeypatch):
    first = evaluate_run(run)
    stamp = (run.folder / EVAL_RECORD).stat().st_mtime_ns
    monkeypatch.setattr("detector.study.run_eval.run_evaluation", lambda opts: pytest.fail("evaluated again"))
    assert evaluate_run(run) == first and (run.folder / EVAL_RECORD).stat().st_mtime_ns == stamp
    monkeypatch.undo()
    write_detecting_checkpoint(run.best, seed=4)  # other weights: evaluated again
    assert evaluate_run(run)["key"] != first["key"]
