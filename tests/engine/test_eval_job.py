"""detector.engine.jobs.evaluate: checkpoint evaluation as a library call (what tools/eval.py runs), options checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detector.engine.evaluation.evaluator import STAT_KEYS, coco_evaluate
from detector.engine.jobs.evaluate import EvalOptions, EvaluationInputError, run_evaluation
from tests.helpers import shapes_val_config, write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def val_set(tmp_path_factory) -> dict[str, Path]:
    """A 3-image synthetic val split (6 categories, ids 1..6, 64 px) and a config that reads it."""
    root = tmp_path_factory.mktemp("evaljob")
    config, paths = shapes_val_config(root)
    return {"config": config, "ann": Path(paths["val_ann"]), "root": root}


def test_checkpoint_evaluation_writes_predictions_metrics_and_plots(val_set, tmp_path, detector_log) -> None:
    weights = tmp_path / "w.pt"
    write_tiny_checkpoint(weights, num_classes=6)
    out = tmp_path / "eval"
    opts = EvalOptions(
        config=str(val_set["config"]), weights=str(weights), out=str(out), json=str(tmp_path / "m.json"), progress=False
    )
    result = run_evaluation(opts)
    assert result.num_images == 3 and result.num_predictions > 0
    predictions = json.loads((out / "predictions.json").read_text())
    assert len(predictions) == result.num_predictions and {p["category_id"] for p in predictions} <= set(range(1, 7))
    assert coco_evaluate(val_set["ann"], predictions).stats == result.stats  # the written file gives the numbers
    metrics = json.loads((out / "metrics.json").read_text())
    assert {k: metrics[k] for k in STAT_KEYS} == result.stats and json.loads(
        (tmp_path / "m.json").read_text()
    ) == metrics
    for png in ("pr_curve.png", "per_class_ap.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = detector_log.text
    assert f"weights {weights} (epoch None), 6 classes, 3 val images" in text
    settings = "eval.conf=0.001 eval.iou=0.65 max_det=100 multi_label=False img_size=64 letterbox=square"
    assert f"settings: {settings} batch_size=2" in text
    assert f"results saved to {out} and {tmp_path / 'm.json'}" in text


def test_checkpoint_of_other_categories_is_refused(val_set, tmp_path) -> None:
    weights = tmp_path / "w3.pt"
    write_tiny_checkpoint(weights, num_classes=3)  # category ids 1..3, the val split has 1..6
    opts = EvalOptions(config=str(val_set["config"]), weights=str(weights), out=str(tmp_path / "e"), progress=False)
    with pytest.raises(EvaluationInputError, match=r"trained on category ids \[1, 2, 3\].*has \[1, 2, 3, 4, 5, 6\]"):
        run_evaluation(opts)
    assert not (tmp_path / "e" / "metrics.json").exists()


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (EvalOptions(gt="a.json"), "needs both --gt"),
        (EvalOptions(), "give CONFIG and --weights"),
        (EvalOptions(config="c.yaml", weights="w.pt", gt="a.json", pred="b.json"), "not both"),
        (EvalOptions(config="c.yaml"), "give CONFIG and --weights"),
    ],
)
def test_incomplete_options_name_what_is_missing(opts, message, tmp_path) -> None:
    opts.out = str(tmp_path / "never")
    with pytest.raises(ValueError, match=message):
        run_evaluation(opts)
    assert not (tmp_path / "never").exists()


@pytest.mark.slow
def test_a_second_evaluation_never_overwrites_the_first(val_set, tmp_path, detector_log) -> None:
    """The run-folder rule of train and detect: ``out`` holding files -> ``out2``; ``exist_ok`` writes into ``out``."""
    gt = json.loads(val_set["ann"].read_text())
    perfect = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in gt["annotations"]
    ]
    half = perfect[::2]
    (tmp_path / "perfect.json").write_text(json.dumps(perfect))
    (tmp_path / "half.json").write_text(json.dumps(half))
    out = tmp_path / "eval"

    def evaluate(pred: str, exist_ok: bool = False) -> float:
        opts = EvalOptions(gt=str(val_set["ann"]), pred=str(tmp_path / pred), out=str(out), exist_ok=exist_ok)
        return run_evaluation(opts).stats["AR100"]

    assert evaluate("perfect.json") == pytest.approx(1.0)
    assert evaluate("half.json") < 0.9
    assert json.loads((out / "metrics.json").read_text())["AR100"] == pytest.approx(1.0)  # the first is kept
    assert json.loads((tmp_path / "eval2" / "metrics.json").read_text())["AR100"] < 0.9
    assert f"results saved to {tmp_path / 'eval2'}" in detector_log.text
    evaluate("half.json", exist_ok=True)
    assert json.loads((out / "metrics.json").read_text())["AR100"] < 0.9 and not (tmp_path / "eval3").exists()
