"""The fp16 export parity check: fp16 file against the fp16 PyTorch model on the same device, with a tolerance
measured from the model's own fp16 noise, tight enough that a broken export fails."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from detector.model.fuse import fuse_conv_bn
from detector.runtime.torch_export import _torch_outputs, check_onnx, export_onnx, fp16_tolerances
from tests.helpers import tiny_detector, tiny_model

pytest.importorskip("onnxruntime")


def _decoupled() -> torch.nn.Module:
    torch.manual_seed(0)
    return tiny_detector(num_classes=3, head="decoupled").eval()


@pytest.mark.slow
@pytest.mark.parametrize("build", [tiny_model, _decoupled], ids=["yolov4", "decoupled"])
@pytest.mark.parametrize("raw", [False, True])
def test_a_correct_fused_fp16_export_passes(tmp_path, build, raw):
    model = build()
    path = export_onnx(fuse_conv_bn(copy.deepcopy(model)), tmp_path / "m.onnx", 64, raw=raw, half=True)
    assert check_onnx(path, model, 64, raw=raw, batch_sizes=(1, 2), half=True)["ok"]


def test_a_box_defect_the_old_relative_tolerance_let_through_fails(tmp_path):
    """A file whose boxes are off by 4 % (e.g. a wrong stride or anchor scale in the graph) passed the old fp16
    check (0.1 + 10 % of the value); against the measured fp16 noise it fails."""
    model = _decoupled()
    broken = copy.deepcopy(model)
    broken.head.strides = [s * 1.04 for s in broken.head.strides]
    path = export_onnx(broken, tmp_path / "broken.onnx", 64, half=True)
    res = check_onnx(path, model, 64, batch_sizes=(1,), half=True)
    assert not res["ok"]
    (boxes,) = _torch_outputs(_decoupled(), torch.rand(1, 3, 64, 64), raw=False)
    assert 1.0 < res["max_abs_diff"] < 0.1 * float(np.abs(boxes[..., :4]).max())  # inside the old 10 % tolerance


def test_a_score_defect_fails(tmp_path):
    """Class logits shifted by 2 in the file (scores 7x too high, still small: the old 0.1 + 10 % let it through)."""
    model = _decoupled()
    broken = copy.deepcopy(model)
    with torch.no_grad():
        for branch in broken.head.cls_branches:
            branch[-1].bias += 2.0
    path = export_onnx(broken, tmp_path / "broken.onnx", 64, half=True)
    assert not check_onnx(path, _decoupled(), 64, batch_sizes=(1,), half=True)["ok"]


def test_fp16_tolerances_split_boxes_and_scores_and_scale_with_the_noise():
    ref32 = np.zeros((1, 5, 6), np.float32)
    ref16 = ref32.copy()
    ref16[..., :4] += 2.0  # 2 px of fp16 noise on the boxes
    ref16[..., 4:] += 0.01  # and 0.01 on the scores
    (tol,) = fp16_tolerances([ref16], [ref32], raw=False)
    assert tol.shape == (1, 1, 6)
    np.testing.assert_allclose(tol[0, 0, :4], 1e-3 + 3 * 2.0)
    np.testing.assert_allclose(tol[0, 0, 4:], 1e-3 + 3 * 0.01, rtol=1e-6)
    (raw_tol,) = fp16_tolerances([ref16], [ref32], raw=True)
    np.testing.assert_allclose(raw_tol, 1e-3 + 3 * 2.0)
