"""Numerical parity of our CSP backbones with timm's, loading timm state_dicts through ``pretrained=<file>``."""

import pytest
import torch

from backbones import build_backbone

timm = pytest.importorskip("timm")
from safetensors.torch import save_file  # noqa: E402


def _randomised_timm(name: str) -> torch.nn.Module:
    """timm model with random weights *and* random BN affine/running stats (so every tensor matters)."""
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(123)
    return model.eval()


# the full-size cspdarknet53 pair is slow (~2 s to build); cspresnext50, the project's backbone, stays fast
@pytest.fixture(scope="module", params=["cspresnext50", pytest.param("cspdarknet53", marks=pytest.mark.slow)])
def pair(request, tmp_path_factory):
    """(timm model, our feature model from .pth, our classifier from .safetensors)."""
    name = request.param
    ref = _randomised_timm(name)
    tmp = tmp_path_factory.mktemp(name)
    sd = ref.state_dict()
    torch.save(sd, tmp / "w.pth")
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp / "w.safetensors"))
    feats = build_backbone(name, pretrained=tmp / "w.pth", out_indices=(0, 1, 2, 3, 4)).eval()
    cls = build_backbone(name, pretrained=str(tmp / "w.safetensors"), num_classes=1000).eval()
    return name, ref, feats, cls


def _timm_maps(ref: torch.nn.Module, name: str, x: torch.Tensor) -> list[torch.Tensor]:
    # timm numbering for darknets starts at the stride-1 stem; ours is index i = stride 2**(i+1)
    idx = [1, 2, 3, 4, 5] if name == "cspdarknet53" else [0, 1, 2, 3, 4]
    return ref.forward_intermediates(x, indices=idx, intermediates_only=True)


SLOW = pytest.mark.slow


@pytest.mark.slow
@pytest.mark.parametrize("hw", [pytest.param((224, 224), marks=SLOW), (193, 257), pytest.param((640, 640), marks=SLOW)])
def test_features_and_logits_match_timm(pair, hw):
    name, ref, feats, cls = pair
    if name == "cspdarknet53" and hw == (640, 640):
        pytest.skip("640x640 covered by cspresnext50; darknet is slow on CPU")
    torch.manual_seed(1)
    x = torch.rand(1, 3, *hw)
    with torch.no_grad():
        ours, theirs = feats(x), _timm_maps(ref, name, x)
        assert len(ours) == len(theirs) == 5
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert a.shape == b.shape, f"map {i}"
            assert b.abs().mean() > 1e-2, "reference activations vanished: the comparison would be meaningless"
            assert (a - b).abs().max().item() <= 1e-4, f"map {i} differs"
        logits, ref_logits = cls(x), ref(x)
    assert logits.shape == (1, 1000)
    assert ref_logits.std() > 1e-3
    assert (logits - ref_logits).abs().max().item() <= 1e-4


def test_declared_metadata_matches_timm(pair):
    name, ref, feats, _ = pair
    assert feats.strides == [2, 4, 8, 16, 32]
    timm_chs = [f["num_chs"] for f in ref.feature_info][-5:]
    assert feats.channels == timm_chs


def test_cspresnext50_param_count():
    model = build_backbone("cspresnext50", num_classes=1000)
    assert sum(p.numel() for p in model.parameters()) == 20_569_896  # 20.57 M, as timm
    default = build_backbone("cspresnext50")
    assert default.channels == [512, 1024, 2048] and default.strides == [8, 16, 32]
