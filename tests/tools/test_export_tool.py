"""ONNX / TorchScript export: onnxruntime parity (decoded and raw, batch 1 and 2), metadata, CLI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from detector.model.fuse import fuse_conv_bn
from detector.runtime.torch_export import check_onnx, check_torchscript, export_onnx, export_torchscript
from tests.helpers import TINY_BACKBONE_NECK, tiny_model, write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", [False, pytest.param(True, marks=pytest.mark.slow)])  # one ONNX export fast
def test_onnx_matches_pytorch_dynamic_batch(tmp_path: Path, raw: bool):
    model = tiny_model(num_classes=3)
    path = export_onnx(model, tmp_path / "m.onnx", img_size=(64, 96), opset=17, raw=raw)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    assert names == (["raw_s8", "raw_s16", "raw_s32"] if raw else ["output"])
    torch.manual_seed(0)
    for b in (1, 2):
        x = torch.rand(b, 3, 64, 96)
        got = sess.run(None, {"images": x.numpy()})
        with torch.no_grad():
            ref = model(x)
            ref = [r.numpy() for r in ref] if raw else [model.head.decode(ref).numpy()]
        n = 3 * (8 * 12 + 4 * 6 + 2 * 3)
        if raw:
            assert [g.shape for g in got] == [(b, 3, 8, 12, 8), (b, 3, 4, 6, 8), (b, 3, 2, 3, 8)]
        else:
            assert got[0].shape == (b, n, 7)
            assert got[0][..., 4:].min() >= 0 and got[0][..., 4:].max() <= 1  # probabilities, not logits
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_allclose(g, r, atol=1e-3, rtol=1e-3)
    res = check_onnx(path, model, (64, 96), raw=raw, batch_sizes=(1, 2))
    assert res["ok"] and res["max_abs_diff"] < (1e-3 if raw else 0.05)  # decoded boxes are pixels, up to ~500


@pytest.mark.slow
def test_onnx_metadata_fused_export_matches_unfused_and_mismatch_is_caught(tmp_path: Path):
    model = tiny_model(num_classes=2)
    model.class_names = ["cat", "dog"]
    reference = tiny_model(num_classes=2)  # same seed: identical weights, left unfused
    path = export_onnx(fuse_conv_bn(model), tmp_path / "f.onnx", img_size=64, dynamic_batch=False)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["class_names"]) == ["cat", "dog"] and json.loads(meta["strides"]) == [8, 16, 32]
    assert check_onnx(path, reference, 64, batch_sizes=(1,))["ok"]
    res = check_onnx(path, tiny_model(num_classes=2, seed=1), 64, batch_sizes=(1,))  # other weights: must fail
    assert not res["ok"] and res["max_abs_diff"] > 1e-2


def test_export_rejects_bad_size_and_opset(tmp_path: Path):
    model = tiny_model(num_classes=2)
    with pytest.raises(ValueError, match="multiples of 32"):
        export_onnx(model, tmp_path / "m.onnx", img_size=50)
    with pytest.raises(ValueError, match="opset 9"):
        export_onnx(model, tmp_path / "m.onnx", img_size=64, opset=9)


@pytest.mark.slow
def test_torchscript_trace_matches(tmp_path: Path):
    model = tiny_model(num_classes=2)
    path = export_torchscript(model, tmp_path / "m.torchscript", img_size=64)
    res = check_torchscript(path, model, 64, batch_sizes=(1, 2))
    assert res["ok"] and res["max_abs_diff"] < 1e-4


def _run_export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "export.py"), *args], capture_output=True, text=True, timeout=180
    )


@pytest.mark.slow  # a subprocess
def test_export_cli_onnx_with_parity_check(tmp_path: Path):
    ckpt = tmp_path / "best.pt"
    write_tiny_checkpoint(ckpt)
    proc = _run_export("--weights", str(ckpt), "--img-size", "64", "--out", str(tmp_path / "x.onnx"))
    assert proc.returncode == 0, proc.stderr
    assert "max abs diff" in proc.stdout and "OK" in proc.stdout and "no NMS" in proc.stdout
    sess = ort.InferenceSession(str(tmp_path / "x.onnx"), providers=["CPUExecutionProvider"])
    assert sess.run(None, {"images": np.zeros((2, 3, 64, 64), np.float32)})[0].shape == (2, 3 * (64 + 16 + 4), 7)


def test_export_cli_errors(tmp_path: Path, capsys):
    from detector.cli import export as tool

    assert tool.main(["--weights", str(tmp_path / "missing.pt"), "--img-size", "64"]) == 2
    assert "missing.pt" in capsys.readouterr().err
    ckpt = tmp_path / "best.pt"
    write_tiny_checkpoint(ckpt)
    with pytest.raises(SystemExit, match="2"):  # argparse, before the checkpoint is read (see test_bad_inputs.py)
        tool.main(["--weights", str(ckpt), "--img-size", "64", "--opset", "5", "--no-check"])
    assert "argument --opset: must be in [11, 20], got 5" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        tool.main(["--weights", str(ckpt), "--img-size", "64", "48"])
    assert "argument --img-size: must be >= 32 and a multiple of 32, got 48" in capsys.readouterr().err


@pytest.mark.parametrize("raw", [False, pytest.param(True, marks=pytest.mark.slow)])  # one ONNX export fast
def test_onnx_parity_with_the_decoupled_head(tmp_path: Path, raw: bool):
    import copy

    from detector import build_model, load_config

    overrides = ["model.head.type=decoupled", "model.head.reg_max=8", "model.num_classes=3"]
    cfg = load_config(ROOT / "configs" / "defaults.yaml", [*TINY_BACKBONE_NECK, *overrides])
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    path = export_onnx(fuse_conv_bn(copy.deepcopy(model)), tmp_path / "d.onnx", img_size=(64, 96), raw=raw)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.rand(2, 3, 64, 96)
    got = sess.run(None, {"images": x.numpy()})
    if raw:
        assert [g.shape for g in got] == [(2, 4 * 8 + 3, 8, 12), (2, 35, 4, 6), (2, 35, 2, 3)]
    else:
        assert got[0].shape == (2, 8 * 12 + 4 * 6 + 2 * 3, 4 + 3)
        with torch.no_grad():
            np.testing.assert_allclose(got[0], model.head.decode(model(x)).numpy(), atol=2e-3, rtol=1e-3)
    res = check_onnx(path, model, (64, 96), raw=raw, batch_sizes=(1, 2))
    assert res["ok"], res


@pytest.mark.slow
def test_export_out_folders_are_created_or_named_in_one_line(tmp_path: Path, capsys):
    from detector.cli import export as tool

    ckpt = tmp_path / "best.pt"
    write_tiny_checkpoint(ckpt)
    out = tmp_path / "no" / "such" / "dir" / "x.onnx"
    assert tool.main(["--weights", str(ckpt), "--img-size", "64", "--out", str(out), "--no-check"]) == 0
    assert out.is_file()  # missing folders are created
    (tmp_path / "file.txt").write_text("a file, not a folder")
    blocked = tmp_path / "file.txt" / "sub" / "x.onnx"
    assert tool.main(["--weights", str(ckpt), "--img-size", "64", "--out", str(blocked), "--no-check"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"lies under {blocked.parent.parent}, which is a file, not a folder" in err


def test_parity_reference_runs_without_tf32_and_restores_the_flags(monkeypatch):
    """The PyTorch side of a parity check runs in IEEE float32: cuDNN's default TF32 convolutions moved a CUDA
    model's boxes by 0.57 px against onnxruntime (seen on an H200), failing a correct export.

    The TF32 flags are set and restored by plain assignment: ``torch.backends.cuda.matmul`` serves ``allow_tf32``
    through ``__getattr__``/``__setattr__``, which pytest's monkeypatch (>= 9.2) cannot restore."""
    import detector.runtime.torch_export as export_mod

    seen = []
    real = export_mod.ExportWrapper

    class Spy(real):
        def forward(self, x):
            seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
            return super().forward(x)

    monkeypatch.setattr(export_mod, "ExportWrapper", Spy)
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        export_mod._torch_outputs(tiny_model(num_classes=2).eval(), torch.rand(1, 3, 64, 64), raw=False)
        assert seen == [(False, False)]
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
