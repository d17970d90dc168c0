"""detector.engine.jobs.export: an export as a library call (what tools/export.py runs) and its option errors."""

from __future__ import annotations

import json

import pytest
import torch

from detector.engine.jobs.export import ExportError, ExportOptions, run_export
from tests.helpers import write_tiny_checkpoint


@pytest.mark.slow
def test_torchscript_export_next_to_the_weights_passes_its_parity_check(tmp_path, detector_log) -> None:
    weights = tmp_path / "w.pt"
    write_tiny_checkpoint(weights, num_classes=3)
    # no --img-size: the input side is the config's predict.img_size; its thresholds go into the file's metadata
    overrides = ["predict.img_size=64", "predict.conf=0.4", "predict.max_det=50"]
    summary = run_export(ExportOptions(weights=str(weights), format="torchscript", overrides=overrides))
    files = {"config.json": ""}
    torch.jit.load(str(summary.out), _extra_files=files)
    meta = json.loads(files["config.json"])  # each value is itself JSON, as in the ONNX metadata_props
    assert json.loads(meta["img_size"]) == [64, 64]
    assert json.loads(meta["nms"]) == {"conf": 0.4, "iou": 0.45, "max_det": 50, "multi_label": False}
    assert summary.out == tmp_path / "w.torchscript" and summary.out.is_file() and summary.size_mb > 0
    assert summary.outputs == ["output"] and summary.batch_sizes == (1, 2)
    assert summary.ok and summary.max_abs_diff is not None and summary.max_abs_diff < 0.05
    assert "parity check vs PyTorch (batch 1, 2): max abs diff" in detector_log.text
    assert "classes (3): ['cls0', 'cls1', 'cls2']" in detector_log.text


def test_bad_options_are_export_errors_naming_the_option(tmp_path) -> None:
    weights = tmp_path / "w.pt"
    write_tiny_checkpoint(weights, num_classes=3)
    with pytest.raises(ExportError, match=r"--img-size takes one or two values \(H W\), got \[64, 64, 64\]"):
        run_export(ExportOptions(weights=str(weights), img_size=[64, 64, 64]))
    with pytest.raises(ExportError, match="missing.pt"):
        run_export(ExportOptions(weights=str(tmp_path / "missing.pt"), img_size=[64]))
    with pytest.raises(ExportError, match="--opset 5"):
        run_export(ExportOptions(weights=str(weights), img_size=[64], opset=5, check=False))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="lies under .*file, which is a file, not a folder"):
        run_export(ExportOptions(weights=str(weights), img_size=[64], out=str(tmp_path / "file" / "m.onnx")))
