"""``Model.evaluate``, ``Model.export`` and ``detector.train``: the same library functions as the tools, so the same
numbers and files; nothing written unless asked."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import detector
from detector.config import load_config
from detector.engine.jobs.evaluate import EvalOptions, run_evaluation
from tests.helpers import shapes_val_config, tiny_config, write_tiny_checkpoint


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[detector.Model, Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    config, _ = shapes_val_config(root)
    weights = root / "best.pt"
    write_tiny_checkpoint(weights, num_classes=6)  # category ids 1..6, as the shapes set
    return detector.load(weights, device="cpu"), config, root


@pytest.mark.slow  # two evaluations, ~1.5 s
@pytest.mark.filterwarnings("ignore::UserWarning")  # class names / input size differ from the tiny checkpoint's
def test_evaluate_equals_the_tool_and_writes_nothing_unless_asked(setup, tmp_path: Path) -> None:
    model, config, root = setup
    before = sorted(p.name for p in root.iterdir())
    metrics = model.evaluate(config, "eval.conf=0.01")
    assert sorted(p.name for p in root.iterdir()) == before and metrics.out is None and metrics.errors is None
    tool = run_evaluation(
        EvalOptions(config=str(config), weights=str(model.path), overrides=["eval.conf=0.01"], out=str(tmp_path / "t"))
    )
    assert metrics.stats == pytest.approx({k: float(v) for k, v in tool.stats.items()})
    assert (metrics.ap, metrics.ap50, metrics.ap_small) == (tool["AP"], tool["AP50"], tool["APs"])
    assert metrics["AR100"] == tool["AR100"] and metrics.per_class == tool.per_class
    assert len(metrics.per_class) == 6 and 0.0 <= metrics.ap <= 1.0


@pytest.mark.slow  # two evaluations, ~1.5 s
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_evaluate_with_out_and_errors_writes_the_tools_files(setup, tmp_path: Path) -> None:
    model, config, _ = setup
    cfg = load_config(config)
    metrics = model.evaluate(cfg, "eval.conf=0.01", errors=True, out=tmp_path / "ev")
    assert metrics.out == tmp_path / "ev"
    assert {p.name for p in metrics.out.iterdir()} == {
        "metrics.json",
        "predictions.json",
        "pr_curve.png",
        "per_class_ap.png",
    }
    saved = json.loads((metrics.out / "metrics.json").read_text())
    assert saved["AP"] == pytest.approx(metrics.ap) and saved["errors"]["dap"] == metrics.errors.dap
    assert set(metrics.errors.dap) == {"cls", "loc", "both", "dupe", "bkg", "miss"}
    again = model.evaluate(cfg, "eval.conf=0.01", out=tmp_path / "ev")  # a folder holding files is kept
    assert again.out == tmp_path / "ev2"


def test_evaluate_rejects_bad_config_and_overrides(setup) -> None:
    model, config, _ = setup
    with pytest.raises(ValueError, match="did you mean 'eval.conf'"):
        model.evaluate(config, "eval.cnf=0.1")
    with pytest.raises(ValueError, match="config file not found"):
        model.evaluate("missing.yaml")


def test_export_options_are_checked_before_any_work(setup, tmp_path: Path) -> None:
    model, _, _ = setup
    with pytest.raises(ValueError, match="export option 'imgsz' is unknown; did you mean 'img_size'"):
        model.export("onnx", imgsz=64)
    with pytest.raises(ValueError, match="--format 'tflite': choose one of onnx, torchscript, openvino"):
        model.export("tflite", out=tmp_path / "m.tflite")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # an ONNX export with its parity check, ~2 s
def test_export_onnx_then_load_it_gives_the_same_detections(setup, tmp_path: Path) -> None:
    model, _, _ = setup
    out = model.export("onnx", img_size=96, out=tmp_path / "m.onnx")
    assert out == tmp_path / "m.onnx" and out.stat().st_size > 0
    with pytest.raises(ValueError, match="exists"):
        model.export("onnx", img_size=96, out=out)  # never over an earlier file without exist_ok
    onnx = detector.load(out)
    assert onnx.format == "onnx" and onnx.names == model.names and onnx.settings.img_size == 96
    img = (np.random.default_rng(0).random((96, 96, 3)) * 255).astype(np.uint8)
    a, b = model.predict(img, img_size=96, letterbox="square")[0], onnx.predict(img)[0]
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(a.boxes_xyxy, b.boxes_xyxy, atol=0.05)
    metrics = onnx.evaluate(setup[1], "eval.conf=0.01")  # on the CPU, at the file's input size
    assert len(metrics.per_class) == 6 and 0.0 <= metrics.ap <= 1.0
    with pytest.raises(ValueError, match="is an exported onnx model: export from the checkpoint"):
        onnx.export("onnx")
    with pytest.raises(ValueError, match="only predict.\\* settings apply"):
        detector.load(out, "eval.conf=0.1")


@pytest.mark.slow  # a 1-epoch training run, ~5 s
def test_train_returns_the_run_and_refuses_nothing_it_should_not(tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "run", tmp_path / "shapes", train={"epochs": 1})
    run = detector.train(config, "train.seed=1")
    assert run.folder == tmp_path / "run" and run.best.is_file() and run.last.is_file() and run.epochs == 1
    assert (run.folder / "config.yaml").is_file() and set(run.metrics) >= {"AP", "AP50"}
    assert load_config(run.folder / "config.yaml").train.seed == 1
    second = detector.train(load_config(config), "train.epochs=1")  # a Config object; a new folder, never the old
    assert second.folder == tmp_path / "run2"
    assert detector.load(run.best).names == detector.load(second.best).names
    with pytest.raises(ValueError, match="did you mean 'train.epochs'"):
        detector.train(config, "train.epoch=1")
    assert sorted(os.listdir(tmp_path)) == ["c.yaml", "run", "run2", "shapes"]
