"""Registry-wide contract: every backbone's outputs match its declared channels / strides."""

import pytest
import torch

from backbones import build_backbone, list_backbones

# Full-size CPU builds are fine at this input size; scaled CSP variants are covered separately below.
NAMES = [*list_backbones(), "timm:resnet18"]


def _full_size_cases() -> list:
    """Every backbone x out_indices; only the default (cspresnext50, C3-C5) is fast: full-size builds take ~0.3 s."""
    cases = []
    for out_indices in [(2, 3, 4), (0, 1, 2, 3, 4)]:
        for name in NAMES:
            slow = (name, out_indices) != ("cspresnext50", (2, 3, 4))
            cases.append(pytest.param(name, out_indices, marks=pytest.mark.slow if slow else ()))
    return cases


@pytest.mark.parametrize("name, out_indices", _full_size_cases())
def test_outputs_match_declared_metadata(name, out_indices):
    if name.startswith("timm:"):
        pytest.importorskip("timm")
    torch.manual_seed(0)
    model = build_backbone(name, out_indices=out_indices).eval()
    h, w = 64, 96  # non-square
    with torch.no_grad():
        feats = model(torch.rand(1, 3, h, w))
    assert isinstance(feats, list) and len(feats) == len(out_indices)
    assert model.strides == [2 ** (i + 1) for i in out_indices]
    assert [f.shape[1] for f in feats] == model.channels
    assert [(f.shape[2], f.shape[3]) for f in feats] == [(h // s, w // s) for s in model.strides]


def test_registry_names_and_default_cspresnext50():
    assert set(list_backbones()) >= {"cspresnext50", "cspdarknet53", "resnet50", "resnext50_32x4d"}
    model = build_backbone("cspresnext50")
    assert (model.channels, model.strides) == ([512, 1024, 2048], [8, 16, 32])


def test_unknown_name_suggests_nearest():
    with pytest.raises(ValueError, match=r"Did you mean 'cspresnext50'.*Choose one of"):
        build_backbone("cspresnext5O")


@pytest.mark.parametrize("name", ["resnet50", "timm:resnet18"])
def test_unscalable_backbones_reject_width_mult(name):
    if name.startswith("timm:"):
        pytest.importorskip("timm")
    with pytest.raises(ValueError, match="width_mult"):
        build_backbone(name, width_mult=0.5)


def test_bad_out_indices():
    with pytest.raises(ValueError, match=r"out_indices \[5\] not available"):
        build_backbone("cspresnext50", out_indices=(3, 5))
    with pytest.raises(ValueError, match="increasing"):
        build_backbone("cspresnext50", out_indices=(4, 3))


@pytest.mark.parametrize("name", ["cspresnext50", pytest.param("cspdarknet53", marks=pytest.mark.slow)])
def test_narrow_csp_variant(name):
    torch.manual_seed(0)
    model = build_backbone(name, width_mult=0.25, depth_mult=0.34).eval()
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    groups = [s.groups for s in model.cfg.stages]
    assert groups == ([8, 8, 8, 8] if name == "cspresnext50" else [1] * 5)  # group width kept: 32 * 0.25
    with torch.no_grad():
        feats = model(torch.rand(2, 3, 64, 128))
    assert [f.shape[1] for f in feats] == model.channels
    assert [f.shape[-1] for f in feats] == [128 // s for s in model.strides]
    full = build_backbone(name)
    assert model.channels == [c // 4 for c in full.channels]


def test_classification_mode_returns_logits():
    model = build_backbone("cspresnext50", width_mult=0.25, depth_mult=0.34, num_classes=7).eval()
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 64, 64))
        feats = model.forward_features(torch.rand(1, 3, 64, 64))
    assert logits.shape == (2, 7)
    assert [f.shape[1] for f in feats] == model.channels


def test_truncated_model_builds_only_needed_stages():
    model = build_backbone("cspresnext50", width_mult=0.25, depth_mult=0.34, out_indices=(1, 2))
    assert model.num_built_stages == 2
    assert not any(k.startswith(("stages.2.", "stages.3.", "head.")) for k in model.state_dict())
    tv = build_backbone("resnet50", out_indices=(1, 2))
    assert not any(k.startswith(("layer3.", "layer4.", "fc.")) for k in tv.state_dict())
