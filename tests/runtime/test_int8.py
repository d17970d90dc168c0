"""INT8 export (NNCF) with a few calibration images: the AP check, its refusal path, and the option rules."""

import json

import pytest

from detector.cli.export import main as export_main
from detector.runtime import load_backend


def _text(capsys) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


pytestmark = pytest.mark.slow


def test_int8_export_reports_ap_and_runs(learned, tmp_path, capsys):
    out = tmp_path / "q_openvino"
    args = ["--weights", str(learned.weights), "--format", "openvino", "--int8", "--calib-images", "8"]
    assert export_main([*args, "--out", str(out), "--max-ap-drop", "1.0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "q.bin", "q.xml"]
    assert json.loads((out / "metadata.json").read_text())["precision"] == "int8"
    text = _text(capsys)
    assert "INT8 accuracy: val AP" in text and "8 calibration images" in text
    backend = load_backend(out)
    assert backend.info.precision == "int8" and backend.info.names == load_backend(learned.onnx).info.names
    assert not list(tmp_path.glob(".*"))  # no temporary folder left


def test_int8_over_budget_exits_1_and_writes_nothing(learned, tmp_path, capsys):
    out = tmp_path / "q_openvino"
    args = ["--weights", str(learned.weights), "--format", "openvino", "--int8", "--calib-images", "100"]
    assert export_main([*args, "--out", str(out), "--max-ap-drop", "-1"]) == 1
    assert not out.exists() and not list(tmp_path.iterdir())
    text = _text(capsys)
    assert "more than --max-ap-drop -1" in text
    assert "data.train holds 32 images; calibrating on all 32" in text  # fewer than asked: all, and said


def test_int8_refusals_before_work(learned, tmp_path, capsys):
    w = str(learned.weights)
    assert export_main(["--weights", w, "--format", "torchscript", "--int8", "--out", str(tmp_path / "a.ts")]) == 2
    assert "--int8 needs --format openvino" in _text(capsys)
    assert export_main(["--weights", w, "--format", "onnx", "--int8", "--out", str(tmp_path / "a.onnx")]) == 2
    assert "--format onnx --int8 is not offered" in _text(capsys)
    out = tmp_path / "m_openvino"
    bad = "data.train={ann: /nonexistent/train.json, images: /nonexistent/images}"
    assert export_main(["--weights", w, "--format", "openvino", "--int8", "--out", str(out), bad]) == 2
    text = _text(capsys)
    assert "data.train" in text and not out.exists()
    assert not list(tmp_path.iterdir())


def test_half_ir_has_fp16_weights_and_close_boxes(learned, tmp_path):
    import torch

    out = tmp_path / "h_openvino"
    args = ["--weights", str(learned.weights), "--format", "openvino", "--half", "--out", str(out), "--quiet"]
    assert export_main(args) == 0
    assert (out / "h.bin").stat().st_size < 0.6 * (learned.openvino / "best.bin").stat().st_size  # fp16 weights
    half = load_backend(out)
    assert half.info.precision == "fp16" and half.precision == "default"  # the CPU's own reduced precision
    x = torch.rand(2, 3, 64, 64)
    ref, got = load_backend(learned.openvino)(x), half(x)
    confident = ref[..., 4:].amax(-1) > 0.2
    assert confident.any()
    assert (got[confident][:, :4] - ref[confident][:, :4]).abs().max() < 2.0  # pixels: fp16 weights, bf16/fp32
    assert (got[..., 4:] - ref[..., 4:]).abs().max() < 0.05
